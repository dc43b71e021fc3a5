using System.Net;
using System.Text;
using FastProxy.Http1;
using FastProxy.Policies.ClientIdentity;
using FastProxy.Policies.Pipeline;
using FastProxy.Tests.Configuration;
using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Gateway;

/// <summary>
/// Policies of ip_filter and cors tests, loaded from config text as the proxy loads them (validator, then PolicySet),
/// and requests made into the one view policies see (a PolicyContext over a parsed head).
/// </summary>
internal static class IpCorsTestKit
{
    public static IPolicy Load(string policies, string name)
    {
        var config = ConfigText.Load(ConfigText.Minimal + "\n\n" + policies);
        return new PolicySet(config, NoOutboundHttp.Instance).Policies.Single(p => p.Name == name);
    }

    /// <summary>A context for <paramref name="request"/> (request line and fields, without the final empty line) from <paramref name="client"/>.</summary>
    public static PolicyContext Context(string request, string client = "203.0.113.5", PolicyContext? reuse = null)
    {
        var bytes = Encoding.ASCII.GetBytes(request.ReplaceLineEndings("\r\n").TrimEnd() + "\r\n\r\n");
        var head = new RequestHead();
        Assert.Equal(ParseStatus.Complete, RequestParser.Parse(bytes, head, HeadLimits.Default));
        var context = reuse ?? new PolicyContext();
        var ip = IpValue.From(IPAddress.Parse(client));
        context.Begin(head, bytes, ip, Encoding.ASCII.GetBytes(ip.ToAddress().ToString()), route: "r", secure: false);
        return context;
    }

    public static PolicyAnswer? Run(IPolicy policy, PolicyContext context) => Sync(policy.OnRequestAsync(context));

    public static PolicyAnswer? Run(PolicyChain chain, PolicyContext context) => Sync(chain.RunAsync(context));

    /// <summary>The result of a policy that completed at once (ip_filter and cors never wait).</summary>
    public static PolicyAnswer? Sync(ValueTask<PolicyAnswer?> pending)
    {
        Assert.True(pending.IsCompletedSuccessfully, "these policies never wait");
        return pending.Result;
    }

    /// <summary>Field lines as "Name: value" strings.</summary>
    public static string[] Lines(ReadOnlySpan<byte> lines) =>
        Encoding.ASCII.GetString(lines).Split("\r\n", StringSplitOptions.RemoveEmptyEntries);

    /// <summary>curl over HTTP/1.1 or HTTP/2 with prior knowledge, as a user would run it; <paramref name="from"/> picks the source address.</summary>
    public static Task<CurlResponse> CurlAsync(bool h2, string url, string? from = null, params string[] args)
        => Curl.GetAsync(h2, url, [.. (from is null ? Array.Empty<string>() : ["--interface", from]), .. args]);

    private sealed class NoOutboundHttp : IOutboundHttp
    {
        public static readonly NoOutboundHttp Instance = new();

        public Task<OutboundResponse> SendAsync(OutboundRequest request, CancellationToken cancellationToken) =>
            throw new InvalidOperationException("ip_filter and cors make no outbound calls");
    }
}
