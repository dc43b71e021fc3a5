using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using FastProxy.Balancing;
using FastProxy.Configuration;

namespace FastProxy.Upstreams;

/// <summary>
/// What the forwarder does for an upstream's balancer beyond a plain pick: consistent_hash's key (hash_key), p2c's
/// response times, and sticky cookies. Null on an upstream that needs none of them, so the common path pays one null
/// check. Built once per configuration generation.
/// </summary>
internal sealed class UpstreamBalancing
{
    /// <summary>The opaque server id in a sticky cookie: 16 lowercase hex digits.</summary>
    public const int StickyIdLength = 16;

    private UpstreamBalancing(UpstreamConfig config, UpstreamServer[] servers)
    {
        HashKey = config.Balance == BalanceKind.ConsistentHash ? config.HashKey.Kind : null;
        HashKeyName = config.HashKey.Name is { } name ? Encoding.ASCII.GetBytes(name) : [];
        RecordsResponseTimes = LoadBalancers.UsesResponseTimes(Upstream.BalanceName(config.Balance));
        if (config.Sticky is { } sticky)
        {
            StickyCookie = Encoding.ASCII.GetBytes(sticky.Cookie);
            StickyIds = new ulong[servers.Length];
            SetCookieValues = new byte[servers.Length][];
            var attributes = new StringBuilder("; Path=").Append(sticky.Path);
            if (sticky.Ttl is { } ttl) attributes.Append("; Max-Age=").Append(((long)ttl.TotalSeconds).ToString(CultureInfo.InvariantCulture));
            if (sticky.HttpOnly) attributes.Append("; HttpOnly");
            if (sticky.Secure) attributes.Append("; Secure");
            for (int i = 0; i < servers.Length; i++)
            {
                StickyIds[i] = StickyId(config.Name, servers[i].Address);
                SetCookieValues[i] = Encoding.ASCII.GetBytes(sticky.Cookie + "=" + StickyIds[i].ToString("x16", CultureInfo.InvariantCulture) + attributes);
            }
        }
    }

    /// <summary>Null when <paramref name="config"/> needs nothing beyond a plain pick.</summary>
    public static UpstreamBalancing? For(UpstreamConfig config, UpstreamServer[] servers)
        => config.Balance is BalanceKind.ConsistentHash or BalanceKind.PowerOfTwoChoices || config.Sticky is not null
            ? new UpstreamBalancing(config, servers)
            : null;

    /// <summary>consistent_hash's key kind; null for other algorithms.</summary>
    public HashKeyKind? HashKey { get; }

    /// <summary>The header (lower case) or cookie name of hash_key.</summary>
    public byte[] HashKeyName { get; }

    /// <summary>The balancer reads response times (p2c): the forwarder measures them.</summary>
    public bool RecordsResponseTimes { get; }

    /// <summary>The sticky cookie's name; null without sticky.</summary>
    public byte[]? StickyCookie { get; }

    /// <summary>Each server's opaque id, by position.</summary>
    public ulong[] StickyIds { get; } = [];

    /// <summary>Each server's Set-Cookie value (name=id and attributes), by position.</summary>
    public byte[][] SetCookieValues { get; } = [];

    /// <summary>
    /// A server's id in the cookie: the first 8 bytes of SHA-256 over the upstream's name and the address, so the cookie
    /// does not show the address (and an id from one upstream means nothing in another), while every proxy instance
    /// with the same configuration, and every reload that keeps the address, agrees on it.
    /// </summary>
    public static ulong StickyId(string upstream, string address)
    {
        Span<byte> digest = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes("fastproxy-sticky\n" + upstream + "\n" + address), digest);
        return BinaryPrimitives.ReadUInt64BigEndian(digest);
    }

    /// <summary>The position of the server a cookie value names; -1 when it names none (malformed, or a server gone).</summary>
    public int FindSticky(ReadOnlySpan<byte> value)
    {
        if (value.Length != StickyIdLength) return -1;
        ulong id = 0;
        foreach (byte b in value)
        {
            int digit = b is >= (byte)'0' and <= (byte)'9' ? b - '0' : b is >= (byte)'a' and <= (byte)'f' ? b - 'a' + 10 : -1;
            if (digit < 0) return -1;
            id = id << 4 | (uint)digit;
        }
        var ids = StickyIds;
        for (int i = 0; i < ids.Length; i++)
        {
            if (ids[i] == id) return i;
        }
        return -1;
    }
}
