using System.Net;
using System.Security.Cryptography;
using System.Text;
using FastProxy.Configuration.Reading;
using FastProxy.Configuration.Values;

namespace FastProxy.Configuration.Validation;

/// <summary>[admin]: the admin listener; absent section, no admin listener; no `bind`, loopback port 9901.</summary>
internal static class AdminValidator
{
    public static readonly string[] Keys = ["bind", "token"];

    /// <summary>Where an [admin] section without `bind` listens: loopback only.</summary>
    public const string DefaultBind = "127.0.0.1:9901";

    /// <summary>A shorter token could be guessed: 16 characters of a random alphabet is already ~95 bits.</summary>
    public const int MinTokenLength = 16;

    public static AdminConfig? Read(TableReader? table)
    {
        if (table is null) return null;
        var bind = table.Has("bind") ? table.String("bind") : DefaultBind;
        var endPoint = bind is null ? null : EndPoints.Resolve(table.Context, table.PathOf("bind"), bind, allowPortZero: true, out _);
        var (tokenHash, tokenSource) = ReadToken(table);
        if (endPoint is not null && !IsLoopback(endPoint.Address))
        {
            // /upstreams and /config show the topology and /readyz can be used to probe draining: meant for operators,
            // not the world. Without a token, the POST endpoints refuse everyone on such a listener.
            table.Context.Warning(table.PathOf("bind"), tokenHash is not null
                ? $"{bind} is not a loopback address: the admin endpoints are reachable from the network"
                : $"{bind} is not a loopback address: the admin endpoints are reachable from the network, and with no [admin] token its POST endpoints (drain, enable) refuse every request (403); set token = \"env:NAME\" to use them");
        }
        return new AdminConfig
        {
            Bind = bind ?? "",
            EndPoint = endPoint ?? new IPEndPoint(IPAddress.None, 0),
            TokenHash = tokenHash,
            TokenSource = tokenSource,
        };
    }

    /// <summary>Loopback, including an IPv4 loopback address mapped into IPv6 (::ffff:127.0.0.1).</summary>
    public static bool IsLoopback(IPAddress address)
        => IPAddress.IsLoopback(address) || (address.IsIPv4MappedToIPv6 && IPAddress.IsLoopback(address.MapToIPv4()));

    /// <summary>token: "env:NAME" (read at load, so a reload reads it again) or the token itself; only its SHA-256 is kept.</summary>
    private static (byte[]? Hash, string? Source) ReadToken(TableReader table)
    {
        if (!table.Has("token")) return (null, null);
        var written = table.String("token");
        if (written is null) return (null, null);
        string? source = null;
        string token = written;
        if (written.StartsWith("env:", StringComparison.Ordinal))
        {
            var variable = written[4..];
            var value = variable.Length == 0 ? null : Environment.GetEnvironmentVariable(variable);
            if (string.IsNullOrEmpty(value))
            {
                table.Error("token", $"environment variable \"{variable}\" is not set or empty");
                return (null, null);
            }
            source = written;
            token = value;
        }
        if (token.Length < MinTokenLength)
        {
            // Never echo the value: it is a credential.
            table.Error("token", $"the admin token must be at least {MinTokenLength} characters (e.g. openssl rand -hex 32)");
            return (null, null);
        }
        foreach (var c in token)
        {
            if (c <= ' ' || c >= 0x7f)
            {
                table.Error("token", "the admin token must be printable ASCII without spaces (it is sent as `Authorization: Bearer TOKEN`)");
                return (null, null);
            }
        }
        return (SHA256.HashData(Encoding.ASCII.GetBytes(token)), source);
    }
}
