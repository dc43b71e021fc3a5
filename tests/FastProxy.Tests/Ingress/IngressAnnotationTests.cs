using System.Net;
using System.Net.Http;
using System.Net.Http.Headers;
using FastProxy.Configuration;
using FastProxy.Hosting;
using FastProxy.Ingress;

namespace FastProxy.Tests.Ingress;

/// <summary>fastproxy.io/ annotations: each attaches a checked policy; an invalid one skips its Ingress alone.</summary>
public sealed class IngressAnnotationTests
{
    private static async Task<(PodOrigins Pods, ProxyHost Host, TranslationResult Result)> ServeAsync()
    {
        var pods = await PodOrigins.StartAsync("svc-foo");
        var state = IngressHarness.Load("annotations.yaml");
        IngressHarness.PointAt(state, pods);
        var dir = IngressHarness.NewStateDirectory();
        var result = new IngressTranslator(new IngressOptions { StateDirectory = dir }, new SecretFiles(dir)).Translate(state, IngressHarness.BaseConfig());
        return (pods, ProxyHost.Start(result.Config), result);
    }

    [Fact]
    public async Task Invalid_annotations_skip_their_Ingress_only_and_say_why()
    {
        var (pods, host, result) = await ServeAsync();
        await using var _ = pods;
        await using var __ = host;
        Assert.Equal(["default/guarded", "default/rewritten"], result.ServedIngresses);
        var badRate = Assert.Single(result.Problems, p => p.IngressKey == "default/bad-rate");
        Assert.True(badRate.Skipped);
        Assert.Contains("fastproxy.io/rate-limit", badRate.Message);
        var badPolicy = Assert.Single(result.Problems, p => p.IngressKey == "default/bad-policy");
        Assert.Contains("no [policies.nosuch]", badPolicy.Message);
        Assert.Contains("\"h3\" is not a backend protocol", badPolicy.Message);
        Assert.Contains("unknown annotation fastproxy.io/typo", badPolicy.Message);
        // Nothing of the injection attempt became configuration: no route answers for bad.example.com.
        Assert.DoesNotContain(result.Config.Routes, r => r.Respond is not null || r.Match.Host == "bad.example.com");
        using var client = IngressHarness.Client(host.EndPoints["web"]);
        using var response = await client.GetAsync("http://bad.example.com/");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Theory]
    [InlineData("1.1")]
    [InlineData("2.0")]
    public async Task Basic_auth_rate_limit_cors_and_a_named_policy_apply(string version)
    {
        var (pods, host, _) = await ServeAsync();
        await using var _1 = pods;
        await using var _2 = host;
        using var client = IngressHarness.Client(host.EndPoints["web"], version: Version.Parse(version));
        long before = pods.Requests;
        using (var refused = await client.GetAsync("http://guarded.example.com/x"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
            Assert.Equal(before, pods.Requests);
        }
        var credentials = new AuthenticationHeaderValue("Basic", Convert.ToBase64String("alice:secret"u8));
        using (var request = new HttpRequestMessage(HttpMethod.Get, "http://guarded.example.com/x"))
        {
            request.Headers.Authorization = credentials;
            request.Headers.Add("Origin", "https://app.example.com");
            using var ok = await client.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
            Assert.Equal("yes", Assert.Single(ok.Headers.GetValues("x-tagged")));
            Assert.Equal("https://app.example.com", Assert.Single(ok.Headers.GetValues("Access-Control-Allow-Origin")));
        }
        // rate-limit "3/m": the 401 above was refused before the limit counted (auth runs first) or not; either way
        // at most 3 more go through and then 429 comes, within 5 requests.
        var statuses = new List<HttpStatusCode>();
        for (int i = 0; i < 5; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "http://guarded.example.com/y");
            request.Headers.Authorization = credentials;
            using var response = await client.SendAsync(request);
            statuses.Add(response.StatusCode);
        }
        Assert.Contains(HttpStatusCode.TooManyRequests, statuses);
        Assert.True(statuses.Count(s => s == HttpStatusCode.OK) <= 2, string.Join(",", statuses));
    }

    [Theory]
    [InlineData("/app", "/api")]
    [InlineData("/app/", "/api/")]
    [InlineData("/app/v1/users?id=3", "/api/v1/users?id=3")]
    public async Task Rewrite_target_replaces_the_matched_prefix(string path, string upstreamPath)
    {
        var (pods, host, _) = await ServeAsync();
        await using var _1 = pods;
        await using var _2 = host;
        using var client = IngressHarness.Client(host.EndPoints["web"]);
        Assert.Equal($"svc-foo {upstreamPath}", await client.GetStringAsync("http://rewrite.example.com" + path));
    }

    [Fact]
    public void Backend_protocol_sets_the_upstream_protocol()
    {
        var state = IngressHarness.Load("annotations.yaml");
        state.Ingresses["default/rewritten"].Metadata.Annotations!["fastproxy.io/backend-protocol"] = "h2c";
        state.Ingresses["default/guarded"].Metadata.Annotations!["fastproxy.io/backend-protocol"] = "HTTPS";
        var dir = IngressHarness.NewStateDirectory();
        var result = new IngressTranslator(new IngressOptions { StateDirectory = dir }, new SecretFiles(dir)).Translate(state, IngressHarness.BaseConfig());
        var h2c = result.Config.FindUpstream("default/svc-foo:80/h2c")!;
        Assert.Equal(UpstreamProtocol.H2c, h2c.Protocol);
        var https = result.Config.FindUpstream("default/svc-foo:80/https")!;
        Assert.True(https.Tls);
        Assert.Equal(UpstreamProtocol.Http1, https.Protocol);
    }
}
