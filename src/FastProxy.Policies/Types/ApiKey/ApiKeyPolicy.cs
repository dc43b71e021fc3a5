using System.Security.Cryptography;
using System.Text;
using FastProxy.Configuration;
using FastProxy.Policies.Consumers;
using FastProxy.Policies.Pipeline;

namespace FastProxy.Policies.Types.ApiKey;

/// <summary>
/// type = "api_key": the key from a header (first) or a query parameter, hashed with SHA-256 and looked up among the
/// consumers' key digests. The directory never holds a key, only digests, and the lookup is by digest: its timing can
/// tell an attacker about a digest, never about a key. Missing or unknown key: 401 with an ApiKey challenge.
/// The query parameter is always taken out of the forwarded target (it would end up in upstream access logs); the
/// header is taken out unless hide = false. Keys verified lately are found again without SHA-256
/// (<see cref="VerifiedKeyCache"/>). Synchronous, no allocation for a key already seen.
/// </summary>
internal sealed class ApiKeyPolicy : IPolicy
{
    /// <summary>Longest query key decoded; a longer one is no key anybody was given (a header key has no such limit: it is hashed in place).</summary>
    private const int MaxQueryKeyBytes = 512;

    private readonly byte[]? _header;
    private readonly byte[]? _query;
    private readonly bool _hide;
    private readonly ConsumerDirectory _consumers;
    private readonly PolicyAnswer _missing;
    private readonly PolicyAnswer _invalid;
    private readonly VerifiedKeyCache _verified = new();

    public ApiKeyPolicy(string name, ApiKeyOptions options, ConsumerDirectory consumers)
    {
        Name = name;
        _header = options.Header is null ? null : Encoding.ASCII.GetBytes(options.Header);
        _query = options.Query is null ? null : Encoding.ASCII.GetBytes(options.Query);
        _hide = options.Hide;
        _consumers = consumers;
        var challenge = new KeyValuePair<string, string>("WWW-Authenticate", Challenge(options));
        _missing = new PolicyAnswer(401, RejectionCounter.For(name, "api_key", "missing"), [challenge], "401 Unauthorized: API key required\n");
        _invalid = new PolicyAnswer(401, RejectionCounter.For(name, "api_key", "invalid"), [challenge], "401 Unauthorized: invalid API key\n");
    }

    public string Name { get; }

    /// <summary>ApiKey realm="api", header="x-api-key", query="api_key": the scheme and where the key goes (RFC 9110 §11.6.1 auth-param syntax).</summary>
    internal static string Challenge(ApiKeyOptions options)
    {
        var text = new StringBuilder("ApiKey realm=\"").Append(options.Realm).Append('"');
        if (options.Header is not null) text.Append(", header=\"").Append(options.Header).Append('"');
        if (options.Query is not null) text.Append(", query=\"").Append(options.Query).Append('"');
        return text.ToString();
    }

    public ValueTask<PolicyAnswer?> OnRequestAsync(PolicyContext context) => new(Check(context));

    private PolicyAnswer? Check(PolicyContext context)
    {
        Consumer? consumer = null;
        var found = Presented.None;
        if (_header is not null)
        {
            int index = context.FindHeader(_header);
            if (index >= 0)
            {
                // Two key fields: which one would the upstream believe? Refused rather than guessed.
                if (context.FindHeader(_header, index + 1) >= 0) return _invalid;
                var value = context.HeaderValue(index);
                if (!value.IsEmpty)
                {
                    found = Presented.Valid;
                    consumer = Verify(value);
                }
            }
        }
        if (found == Presented.None && _query is not null) found = VerifyQueryKey(context, _query, out consumer);
        if (found == Presented.None) return _missing;
        if (consumer is null) return _invalid;

        context.Consumer = consumer;
        if (_hide && _header is not null) context.RemoveHeaders(_header);
        if (_query is not null) context.RemoveQueryParameter(_query);
        return null;
    }

    /// <summary>The consumer a presented key belongs to: from the keys verified lately, else by its SHA-256 digest.</summary>
    private Consumer? Verify(ReadOnlySpan<byte> key)
    {
        var consumer = _verified.Find(key);
        if (consumer is not null) return consumer;
        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(key, digest);
        consumer = _consumers.ByKeyDigest(digest);
        if (consumer is not null) _verified.Remember(key, consumer);
        return consumer;
    }

    private enum Presented : byte { None, Valid, Malformed }

    private Presented VerifyQueryKey(PolicyContext context, ReadOnlySpan<byte> name, out Consumer? consumer)
    {
        consumer = null;
        if (!context.TryGetQuery(name, out var raw, out _) || raw.IsEmpty) return Presented.None;
        if (raw.Length > MaxQueryKeyBytes * 3) return Presented.Malformed;
        Span<byte> key = stackalloc byte[MaxQueryKeyBytes];
        int length = PercentDecode(raw, key);
        if (length <= 0) return Presented.Malformed;
        consumer = Verify(key[..length]);
        return Presented.Valid;
    }

    /// <summary>
    /// %XX escapes decoded (RFC 3986 §2.1); '+' is kept as '+' (a key holds no spaces, and a base64 key whose '+' was
    /// not escaped still matches). -1 when an escape is malformed or the key does not fit.
    /// </summary>
    internal static int PercentDecode(ReadOnlySpan<byte> encoded, Span<byte> destination)
    {
        int w = 0;
        for (int i = 0; i < encoded.Length; i++)
        {
            if (w == destination.Length) return -1;
            byte b = encoded[i];
            if (b == (byte)'%')
            {
                if (i + 2 >= encoded.Length) return -1;
                int high = HexValue(encoded[i + 1]), low = HexValue(encoded[i + 2]);
                if ((high | low) < 0) return -1;
                b = (byte)((high << 4) | low);
                i += 2;
            }
            destination[w++] = b;
        }
        return w;
    }

    private static int HexValue(byte c) => c switch
    {
        >= (byte)'0' and <= (byte)'9' => c - '0',
        >= (byte)'a' and <= (byte)'f' => c - 'a' + 10,
        >= (byte)'A' and <= (byte)'F' => c - 'A' + 10,
        _ => -1,
    };
}
