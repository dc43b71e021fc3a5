using System.Collections.Concurrent;
using System.Net;
using System.Net.Http;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using FastProxy.Configuration;
using FastProxy.Http1;
using FastProxy.Policies.ClientIdentity;
using FastProxy.Policies.Pipeline;
using FastProxy.Policies.Types.Jwt;
using FastProxy.Tests.Configuration;
using Microsoft.Extensions.Logging;
using Org.BouncyCastle.Math.EC.Rfc8032;

namespace FastProxy.Tests.Gateway;

/// <summary>A signing key made in the test, with what a token issuer publishes (JWK, PEM) and signs with.</summary>
internal sealed class TestKey
{
    private readonly RSA? _rsa;
    private readonly ECDsa? _ecdsa;
    private readonly byte[]? _edPrivate;
    private readonly byte[]? _edPublic;
    private readonly byte[]? _secret;

    private TestKey(string kid, string alg, RSA? rsa = null, ECDsa? ecdsa = null, byte[]? edPrivate = null, byte[]? secret = null)
    {
        Kid = kid;
        Alg = alg;
        _rsa = rsa;
        _ecdsa = ecdsa;
        _secret = secret;
        if (edPrivate is not null)
        {
            _edPrivate = edPrivate;
            _edPublic = new byte[Ed25519.PublicKeySize];
            Ed25519.GeneratePublicKey(edPrivate, 0, _edPublic, 0);
        }
    }

    public string Kid { get; }
    public string Alg { get; }

    public static TestKey Rsa(string kid, string alg = "RS256", int bits = 2048) => new(kid, alg, rsa: RSA.Create(bits));

    public static TestKey Ec(string kid, string alg = "ES256") => new(kid, alg, ecdsa: ECDsa.Create(alg switch
    {
        "ES384" => ECCurve.NamedCurves.nistP384,
        "ES512" => ECCurve.NamedCurves.nistP521,
        _ => ECCurve.NamedCurves.nistP256,
    }));

    public static TestKey Ed(string kid) => new(kid, "EdDSA", edPrivate: RandomNumberGenerator.GetBytes(Ed25519.SecretKeySize));

    public static TestKey Hmac(string kid, byte[] secret, string alg = "HS256") => new(kid, alg, secret: secret);

    /// <summary>A compact JWS of <paramref name="payload"/> (JSON). <paramref name="kid"/>: null for this key's, "" for none.</summary>
    public string Sign(string payload, string? alg = null, string? kid = null, string? header = null)
    {
        alg ??= Alg;
        kid ??= Kid;
        header ??= kid.Length == 0 ? $$"""{"alg":"{{alg}}","typ":"JWT"}""" : $$"""{"alg":"{{alg}}","typ":"JWT","kid":"{{kid}}"}""";
        var input = B64(Encoding.UTF8.GetBytes(header)) + "." + B64(Encoding.UTF8.GetBytes(payload));
        return input + "." + B64(SignBytes(alg, Encoding.ASCII.GetBytes(input)));
    }

    public byte[] SignBytes(string alg, byte[] input) => alg switch
    {
        "RS256" => _rsa!.SignData(input, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1),
        "RS384" => _rsa!.SignData(input, HashAlgorithmName.SHA384, RSASignaturePadding.Pkcs1),
        "RS512" => _rsa!.SignData(input, HashAlgorithmName.SHA512, RSASignaturePadding.Pkcs1),
        "PS256" => _rsa!.SignData(input, HashAlgorithmName.SHA256, RSASignaturePadding.Pss),
        "PS384" => _rsa!.SignData(input, HashAlgorithmName.SHA384, RSASignaturePadding.Pss),
        "PS512" => _rsa!.SignData(input, HashAlgorithmName.SHA512, RSASignaturePadding.Pss),
        "ES256" => _ecdsa!.SignData(input, HashAlgorithmName.SHA256),
        "ES384" => _ecdsa!.SignData(input, HashAlgorithmName.SHA384),
        "ES512" => _ecdsa!.SignData(input, HashAlgorithmName.SHA512),
        "EdDSA" => EdSign(input),
        "HS256" => HMACSHA256.HashData(_secret!, input),
        "HS384" => HMACSHA384.HashData(_secret!, input),
        "HS512" => HMACSHA512.HashData(_secret!, input),
        _ => throw new ArgumentException(alg),
    };

    private byte[] EdSign(byte[] input)
    {
        var signature = new byte[Ed25519.SignatureSize];
        Ed25519.Sign(_edPrivate!, 0, input, 0, input.Length, signature, 0);
        return signature;
    }

    /// <summary>The public JWK, as a JWKS lists it.</summary>
    public string Jwk(bool withAlg = true)
    {
        var members = new Dictionary<string, string> { ["kid"] = Kid, ["use"] = "sig" };
        if (withAlg) members["alg"] = Alg;
        if (_rsa is not null)
        {
            var p = _rsa.ExportParameters(false);
            members["kty"] = "RSA";
            members["n"] = B64(p.Modulus!);
            members["e"] = B64(p.Exponent!);
        }
        else if (_ecdsa is not null)
        {
            var p = _ecdsa.ExportParameters(false);
            members["kty"] = "EC";
            members["crv"] = p.Q.X!.Length switch { 32 => "P-256", 48 => "P-384", _ => "P-521" };
            members["x"] = B64(p.Q.X!);
            members["y"] = B64(p.Q.Y!);
        }
        else if (_edPublic is not null)
        {
            members["kty"] = "OKP";
            members["crv"] = "Ed25519";
            members["x"] = B64(_edPublic);
        }
        else
        {
            members["kty"] = "oct";
            members["k"] = B64(_secret!);
        }
        return "{" + string.Join(",", members.Select(m => $"\"{m.Key}\":\"{m.Value}\"")) + "}";
    }

    public static string Jwks(params TestKey[] keys) => "{\"keys\":[" + string.Join(",", keys.Select(k => k.Jwk())) + "]}";

    /// <summary>SubjectPublicKeyInfo PEM ("PUBLIC KEY").</summary>
    public string PublicPem()
    {
        if (_rsa is not null) return _rsa.ExportSubjectPublicKeyInfoPem();
        if (_ecdsa is not null) return _ecdsa.ExportSubjectPublicKeyInfoPem();
        // Ed25519 SPKI: SEQUENCE { SEQUENCE { OID 1.3.101.112 }, BIT STRING key } (RFC 8410 §4).
        byte[] prefix = [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00];
        return PemEncoding.WriteString("PUBLIC KEY", [.. prefix, .. _edPublic!]);
    }

    public byte[] PublicDer() => _rsa?.ExportSubjectPublicKeyInfo() ?? _ecdsa!.ExportSubjectPublicKeyInfo();

    public string PrivatePem() => _rsa?.ExportPkcs8PrivateKeyPem() ?? _ecdsa!.ExportPkcs8PrivateKeyPem();

    public static string B64(ReadOnlySpan<byte> bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public static string Payload(object? sub = null, long? exp = null, string? extra = null) =>
        "{" + string.Join(",", new[]
        {
            sub is null ? null : $"\"sub\":\"{JsonEncodedText.Encode(sub.ToString()!)}\"",
            $"\"exp\":{exp ?? DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeSeconds()}",
            extra,
        }.Where(p => p is not null)) + "}";
}

/// <summary>A clock the test moves: wall time for exp/nbf, and the monotonic timestamps the JWKS schedule uses.</summary>
internal sealed class ManualTime(DateTimeOffset start) : TimeProvider
{
    private long _ticks = start.UtcTicks;

    public override DateTimeOffset GetUtcNow() => new(Interlocked.Read(ref _ticks), TimeSpan.Zero);

    public override long GetTimestamp() => Interlocked.Read(ref _ticks);

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
}

/// <summary>Keeps what was logged, to assert that a failed refresh says so.</summary>
internal sealed class ListLogger : ILogger
{
    public ConcurrentQueue<(LogLevel Level, string Message)> Entries { get; } = new();

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        Entries.Enqueue((logLevel, formatter(state, exception)));
}

/// <summary>IOutboundHttp over HttpClient, for tests (the host's own implementation lives in the proxy).</summary>
internal sealed class HttpClientOutbound : IOutboundHttp
{
    private static readonly HttpClient s_client = new(new SocketsHttpHandler { UseProxy = false, PooledConnectionLifetime = TimeSpan.FromSeconds(30) });

    public async Task<OutboundResponse> SendAsync(OutboundRequest request, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(request.Timeout);
        using var message = new HttpRequestMessage(new System.Net.Http.HttpMethod(request.Method), request.Url);
        foreach (var (name, value) in request.Headers) message.Headers.TryAddWithoutValidation(name, value);
        using var response = await s_client.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        var body = await response.Content.ReadAsByteArrayAsync(timeout.Token);
        if (body.Length > request.MaxResponseBytes) throw new InvalidOperationException("answer too large");
        var headers = response.Headers.Concat(response.Content.Headers)
            .SelectMany(h => h.Value.Select(v => new KeyValuePair<string, string>(h.Key, v))).ToList();
        return new OutboundResponse { Status = (int)response.StatusCode, Headers = headers, Body = body };
    }
}

/// <summary>Builds jwt policies from config text and runs requests through them, as the chain would.</summary>
internal static class JwtHarness
{
    public static readonly HeadLimits Limits = new(8 * 1024, 512 * 1024, 100);

    public static JwtPolicy Build(string policyToml, string? directory = null, TimeProvider? time = null, IOutboundHttp? http = null,
        ILogger? logger = null, string consumers = "")
    {
        var config = ConfigText.Load(ConfigText.Minimal + "\n" + consumers + "\n" + policyToml, directory, time?.GetUtcNow());
        var set = new PolicySet(config, http ?? new HttpClientOutbound(), time, logger);
        return (JwtPolicy)set.Policies.Single();
    }

    public static PolicyContext Request(string fields, string target = "/api")
    {
        var bytes = Encoding.ASCII.GetBytes($"GET {target} HTTP/1.1\r\nHost: api.test\r\n{fields}\r\n");
        var head = new RequestHead();
        Assert.Equal(ParseStatus.Complete, RequestParser.Parse(bytes, head, Limits));
        var context = new PolicyContext();
        context.Begin(head, bytes, IpValue.From(IPAddress.Loopback), "127.0.0.1"u8, "api", secure: false);
        return context;
    }

    public static PolicyContext Bearer(string token) => Request($"Authorization: Bearer {token}\r\n");

    /// <summary>Runs the policy; waits (bounded) when it has to fetch keys.</summary>
    public static PolicyAnswer? Run(JwtPolicy policy, PolicyContext context)
    {
        var pending = policy.OnRequestAsync(context);
        return pending.IsCompleted ? pending.Result : pending.AsTask().WaitAsync(TimeSpan.FromSeconds(20)).GetAwaiter().GetResult();
    }

    public static async Task<PolicyAnswer?> RunAsync(JwtPolicy policy, PolicyContext context) =>
        await policy.OnRequestAsync(context).AsTask().WaitAsync(TimeSpan.FromSeconds(20));

    public static string Challenge(PolicyAnswer answer)
    {
        var lines = Encoding.ASCII.GetString(answer.HeaderLines).Split("\r\n");
        var line = Assert.Single(lines, l => l.StartsWith("WWW-Authenticate: ", StringComparison.Ordinal));
        return line["WWW-Authenticate: ".Length..];
    }

    public static string Invalid(string description, string realm = "auth") =>
        $"Bearer realm=\"{realm}\", error=\"invalid_token\", error_description=\"{description}\"";

    public static string RequestLines(PolicyContext context) => Encoding.ASCII.GetString(context.RequestLines);
}
