using System.Net;
using System.Text;
using FastProxy.Configuration;
using FastProxy.Http1;
using FastProxy.Policies.ClientIdentity;
using FastProxy.Policies.Pipeline;
using FastProxy.Tests.Configuration;
using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Gateway;

/// <summary>
/// What the authentication tests share: policies built from real config text (validated as `fastproxy check` would),
/// request contexts made from real request heads (parsed by the proxy's own parser), htpasswd lines made by the
/// htpasswd tool (apache2-utils) when it is installed, else fixed lines it made once.
/// </summary>
internal static class AuthnTestKit
{
    /// <summary>The key "alice-key" and its SHA-256, as a consumer lists it (printf %s alice-key | sha256sum).</summary>
    public const string AliceKey = "alice-key";
    public static readonly string AliceDigest = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(AliceKey)));
    public const string BobKey = "bob-key";
    public static readonly string BobDigest = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(BobKey)));

    public static PolicySet Build(string toml, string? baseDirectory = null, TimeProvider? time = null) =>
        new(ConfigText.Load(toml, baseDirectory), AuthnNoOutboundHttp.Instance, time);

    public static T Policy<T>(PolicySet set, string name) where T : class, IPolicy =>
        Assert.IsType<T>(set.Policies.Single(p => p.Name == name));

    /// <summary>A context for a request head written out in full (CRLFs added; the empty line too).</summary>
    public static PolicyContext Request(string requestLine, params string[] fields)
    {
        var text = new StringBuilder(requestLine).Append("\r\n");
        foreach (var field in fields) text.Append(field).Append("\r\n");
        text.Append("\r\n");
        return Request(Encoding.Latin1.GetBytes(text.ToString()));
    }

    public static PolicyContext Request(byte[] head, PolicyContext? reuse = null)
    {
        var request = new RequestHead();
        Assert.Equal(ParseStatus.Complete, RequestParser.Parse(head, request, HeadLimits.Default));
        var context = reuse ?? new PolicyContext();
        context.Begin(request, head, IpValue.From(IPAddress.Loopback), "127.0.0.1"u8, "api", secure: false);
        return context;
    }

    /// <summary>The answer of a policy that must complete at once (every path but a bcrypt check does).</summary>
    public static PolicyAnswer? Now(IPolicy policy, PolicyContext context)
    {
        var pending = policy.OnRequestAsync(context);
        Assert.True(pending.IsCompletedSuccessfully, "expected a synchronous answer");
        return pending.Result;
    }

    public static string Text(ReadOnlySpan<byte> bytes) => Encoding.Latin1.GetString(bytes);

    /// <summary>The field lines of an answer, as the forwarder writes them.</summary>
    public static string Lines(PolicyAnswer answer) => Encoding.Latin1.GetString(answer.HeaderLines);

    /// <summary>The header names the upstream would still receive, in order.</summary>
    public static List<string> ForwardedHeaderNames(PolicyContext context)
    {
        var names = new List<string>();
        var removed = context.RemovedHeaders.ToArray();
        for (int i = 0; i < context.HeaderCount; i++)
        {
            if (!removed.Contains(i)) names.Add(Text(context.HeaderName(i)).ToLowerInvariant());
        }
        return names;
    }

    public static string ForwardedQuery(PolicyContext context)
    {
        var buffer = new byte[context.Query.Length];
        return Text(buffer.AsSpan(0, context.CopyEditedQuery(buffer)));
    }

    public static string Basic(string user, string password) =>
        "Authorization: Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(user + ":" + password));

    /// <summary>Known htpasswd lines, made once with htpasswd 2.4 (-B -C 4 and -s): used when the tool is not installed.</summary>
    private static readonly Dictionary<(string, string, bool), string> s_fixed = new()
    {
        [("alice", "correct horse", true)] = "alice:$2y$04$kHALD9.ruMZwFL0d0HZUCubGORphUtdBSWqmyyNVk7OhaHBqZPMVu",
        [("carol", "pässwörd", true)] = "carol:$2y$04$B8EoWFsAWKvWPllpfcFmbumhg/KthQ.CU2wxZh3GlOS2iy4r5MQre",
        // The same hash: bcrypt does not hash the user name.
        [("alice", "pässwörd", true)] = "alice:$2y$04$B8EoWFsAWKvWPllpfcFmbumhg/KthQ.CU2wxZh3GlOS2iy4r5MQre",
        [("bob", "battery staple", false)] = "bob:{SHA}4/8EauNSRAt2M2wN8hy6sNnX6do=",
    };

    public static bool HasHtpasswdTool => File.Exists("/usr/bin/htpasswd") && Environment.GetEnvironmentVariable("FASTPROXY_TEST_NO_HTPASSWD") is null;

    /// <summary>An htpasswd line (bcrypt at the cheapest cost, or {SHA}); from the real tool when it is there.</summary>
    public static async Task<string> HtpasswdLineAsync(string user, string password, bool bcrypt)
    {
        if (!HasHtpasswdTool) return s_fixed[(user, password, bcrypt)];
        var result = await Processes.RunAsync("htpasswd", bcrypt ? ["-nbB", "-C", "4", user, password] : ["-nbs", user, password]);
        Assert.Equal(0, result.ExitCode);
        return result.StdOut.Trim();
    }

    public static string TempDirectory()
    {
        var dir = Path.Combine(Path.GetTempPath(), "fastproxy-authn-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(dir);
        return dir;
    }
}

/// <summary>The authentication policies make no outbound calls.</summary>
internal sealed class AuthnNoOutboundHttp : IOutboundHttp
{
    public static readonly AuthnNoOutboundHttp Instance = new();

    public Task<OutboundResponse> SendAsync(OutboundRequest request, CancellationToken cancellationToken) =>
        throw new InvalidOperationException("no outbound call expected");
}

/// <summary>A clock the test moves (timestamps only, which is what the bcrypt cache reads).</summary>
internal sealed class AuthnClock : TimeProvider
{
    private long _ticks = 1_000_000;

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override long GetTimestamp() => Interlocked.Read(ref _ticks);

    public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
}

/// <summary>Claims as a verified token would give them: strings, numbers as written, lists.</summary>
internal sealed class AuthnClaims(Dictionary<string, string[]> claims) : IClaims
{
    public bool TryGetText(ReadOnlySpan<byte> name, out ReadOnlySpan<byte> value)
    {
        value = default;
        if (!claims.TryGetValue(Encoding.UTF8.GetString(name), out var values) || values.Length != 1) return false;
        value = Encoding.UTF8.GetBytes(values[0]);
        return true;
    }

    public bool Contains(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value) =>
        claims.TryGetValue(Encoding.UTF8.GetString(name), out var values) && values.Contains(Encoding.UTF8.GetString(value));
}
