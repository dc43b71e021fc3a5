using System.Net;
using System.Net.Sockets;
using System.Text;
using FastProxy.Http1;
using FastProxy.Outbound;
using FastProxy.Policies.ClientIdentity;
using FastProxy.Policies.Pipeline;
using FastProxy.Tests.Configuration;
using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Gateway;

/// <summary>
/// A forward_auth policy built from config text the way the proxy builds it (<see cref="PolicySet"/>, the host's
/// <see cref="OutboundHttp"/>), run on a parsed request head against a real auth server on loopback.
/// </summary>
internal sealed class ForwardAuthHarness
{
    private readonly PolicySet _set;

    /// <param name="policyKeys">The keys of [policies.auth] after `type`; "{url}" stands for the auth server's URL.</param>
    public ForwardAuthHarness(string url, string policyKeys = "", string extra = "", OutboundHttp? http = null, string name = "auth")
    {
        Name = name;
        var config = ConfigText.Load($$"""
            {{ConfigText.Minimal}}

            [policies.{{name}}]
            type = "forward_auth"
            url = "{{url}}"
            {{policyKeys}}

            {{extra}}
            """);
        _set = new PolicySet(config, http ?? OutboundHttp.Shared);
        Chain = _set.ChainFor([], [name])!;
    }

    public string Name { get; }

    public PolicyChain Chain { get; }

    public static string UrlOf(RawUpstream auth, string path = "/verify") => $"http://127.0.0.1:{auth.Port}{path}";

    /// <summary>A loopback port nothing listens on (bound, then closed): a connect there is refused.</summary>
    public static int ClosedPort() => ProxyProcess.FreePort();

    /// <summary>Runs the chain on <paramref name="head"/> (an HTTP/1.1 request head, CRLF line ends, without the final empty line).</summary>
    public async Task<(PolicyAnswer? Answer, PolicyContext Context)> RunAsync(string head, bool secure = false, Action<PolicyContext>? before = null)
    {
        var bytes = Encoding.Latin1.GetBytes(head + "\r\n\r\n");
        var request = new RequestHead();
        Assert.Equal(ParseStatus.Complete, RequestParser.Parse(bytes, request, HeadLimits.Default));
        var context = new PolicyContext();
        context.Begin(request, bytes, IpValue.From(IPAddress.Parse("203.0.113.7")), "203.0.113.7"u8, route: null, secure);
        before?.Invoke(context);
        var answer = await Chain.RunAsync(context);
        return (answer, context);
    }

    /// <summary>Field lines the context adds to the upstream request (or the client's response), as text.</summary>
    public static string Text(ReadOnlySpan<byte> lines) => Encoding.Latin1.GetString(lines);

    /// <summary>The answer's status line fields and body, as text.</summary>
    public static string Headers(PolicyAnswer answer) => Encoding.Latin1.GetString(answer.HeaderLines);

    public static string Body(PolicyAnswer answer) => Encoding.UTF8.GetString(answer.Body);

    /// <summary>The names (lower-case) of the client's fields the context drops.</summary>
    public static List<string> Removed(PolicyContext context)
    {
        var names = new List<string>();
        foreach (int i in context.RemovedHeaders) names.Add(Encoding.Latin1.GetString(context.HeaderName(i)).ToLowerInvariant() + ": " + Encoding.Latin1.GetString(context.HeaderValue(i)));
        return names;
    }

    public static byte[] Answer(int status, string headers = "", string body = "") =>
        Encoding.Latin1.GetBytes($"HTTP/1.1 {status} X\r\nContent-Length: {Encoding.UTF8.GetByteCount(body)}\r\n{headers}\r\n{body}");

    /// <summary>This policy's answers for <paramref name="reason"/> so far (counters outlive a config, like Prometheus counters).</summary>
    public long Count(string reason) =>
        RejectionCounter.All().Single(c => c.Policy == Name && c.Type == "forward_auth" && c.Reason == reason).Count;
}
