using FastProxy.Tests.Infrastructure;
using static FastProxy.Tests.Gateway.AuthnTestKit;

namespace FastProxy.Tests.Gateway;

/// <summary>
/// api_key end to end: curl over HTTP/1.1 and h2c against a real proxy in front of a counting origin. What the origin
/// receives (x-consumer, x-consumer-groups, no key), what a refused client gets (401 and its challenge) and that nothing
/// of a refused request reaches the origin; a reload that adds a key.
/// </summary>
public sealed class ApiKeyLoopbackTests
{
    private static string Config(int origin, string policy = "", string consumers = "") => $$"""
        [[listeners]]
        name = "web"
        bind = "127.0.0.1:0"

        [[routes]]
        name = "app"
        upstream = "app"
        policies = ["keys"]

        [upstreams.app]
        servers = [ { address = "127.0.0.1:{{origin}}" } ]

        [consumers.alice]
        api_keys = ["sha256:{{AliceDigest}}"]
        groups = ["gold", "admin"]

        [consumers.bob]
        api_keys = ["sha256:{{BobDigest}}"]
        {{consumers}}

        [policies.keys]
        type = "api_key"
        query = "api_key"
        {{policy}}
        """;

    private static RawUpstream Origin() => new(r => RawUpstream.Ok("from-origin"));

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_known_key_reaches_the_origin_as_its_consumer_without_the_key(bool h2)
    {
        await using var origin = Origin();
        await using var proxy = TestProxy.Start(Config(origin.Port));

        // The client also tries to name itself: x-consumer* from a client never passes.
        var answer = await CurlAnswer.GetAsync(h2, $"{proxy.Url("/orders?page=2")}", "X-Api-Key: " + AliceKey, "X-Consumer: root", "X-Consumer-Groups: root");

        Assert.Equal(200, answer.Status);
        Assert.Equal("from-origin", answer.Body);
        var seen = Assert.Single(origin.Requests);
        Assert.Equal("GET /orders?page=2 HTTP/1.1", seen.RequestLine);
        Assert.Equal("alice", seen.Header("x-consumer"));
        Assert.Equal("gold,admin", seen.Header("x-consumer-groups"));
        Assert.Null(seen.Header("x-api-key"));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_query_key_is_taken_out_of_the_target_the_origin_receives(bool h2)
    {
        await using var origin = Origin();
        await using var proxy = TestProxy.Start(Config(origin.Port));

        var answer = await CurlAnswer.GetAsync(h2, $"{proxy.Url($"/orders?page=2&api_key={BobKey}&sort=asc")}");

        Assert.Equal(200, answer.Status);
        var seen = Assert.Single(origin.Requests);
        Assert.Equal("GET /orders?page=2&sort=asc HTTP/1.1", seen.RequestLine);
        Assert.Equal("bob", seen.Header("x-consumer"));
        // bob has no groups: no x-consumer-groups at all.
        Assert.Null(seen.Header("x-consumer-groups"));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Hide_false_forwards_the_key_header(bool h2)
    {
        await using var origin = Origin();
        await using var proxy = TestProxy.Start(Config(origin.Port, "hide = false"));

        var answer = await CurlAnswer.GetAsync(h2, $"{proxy.Url("/")}", "X-Api-Key: " + AliceKey);

        Assert.Equal(200, answer.Status);
        Assert.Equal(AliceKey, Assert.Single(origin.Requests).Header("x-api-key"));
    }

    [Theory]
    [InlineData(false, null)]
    [InlineData(true, null)]
    [InlineData(false, "X-Api-Key: not-a-key")]
    [InlineData(true, "X-Api-Key: not-a-key")]
    public async Task A_missing_or_unknown_key_is_refused_with_401_and_nothing_reaches_the_origin(bool h2, string? header)
    {
        await using var origin = Origin();
        await using var proxy = TestProxy.Start(Config(origin.Port));

        var answer = header is null
            ? await CurlAnswer.GetAsync(h2, $"{proxy.Url("/orders")}")
            : await CurlAnswer.GetAsync(h2, $"{proxy.Url("/orders")}", header);

        Assert.Equal(401, answer.Status);
        Assert.Equal("ApiKey realm=\"api\", header=\"x-api-key\", query=\"api_key\"", answer.Header("www-authenticate"));
        Assert.Equal(header is null ? "401 Unauthorized: API key required\n" : "401 Unauthorized: invalid API key\n", answer.Body);
        Assert.Empty(origin.Requests);
        Assert.Equal(0, origin.Connections);
    }

    [Fact]
    public async Task A_refused_request_keeps_the_connection_and_the_next_one_on_it_passes()
    {
        await using var origin = Origin();
        await using var proxy = TestProxy.Start(Config(origin.Port));

        // curl reuses one connection for both URLs (-: resets the options between them).
        var result = await Processes.CurlAsync("--http1.1", "-o", "/dev/null", "-w", "%{http_code} %{num_connects}\n", proxy.Url("/a").ToString(),
            "-:", "-o", "/dev/null", "-w", "%{http_code} %{num_connects}\n", "-H", "X-Api-Key: " + AliceKey, proxy.Url("/b").ToString());

        Assert.Equal("401 1\n200 0\n", result.StdOut);
        Assert.Equal("GET /b HTTP/1.1", Assert.Single(origin.Requests).RequestLine);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_reload_that_adds_a_key_lets_it_in(bool h2)
    {
        Environment.SetEnvironmentVariable("FASTPROXY_TEST_DAVE_KEY_" + (h2 ? "H2" : "H1"), "dave-key");
        try
        {
            await using var origin = Origin();
            await using var proxy = TestProxy.Start(Config(origin.Port));
            var before = await CurlAnswer.GetAsync(h2, $"{proxy.Url("/")}", "X-Api-Key: dave-key");

            proxy.Reload(Config(origin.Port, consumers: $"[consumers.dave]\napi_keys = [\"env:FASTPROXY_TEST_DAVE_KEY_{(h2 ? "H2" : "H1")}\"]"));
            var after = await CurlAnswer.GetAsync(h2, $"{proxy.Url("/")}", "X-Api-Key: dave-key");

            Assert.Equal(401, before.Status);
            Assert.Equal(200, after.Status);
            Assert.Equal("dave", Assert.Single(origin.Requests).Header("x-consumer"));
        }
        finally
        {
            Environment.SetEnvironmentVariable("FASTPROXY_TEST_DAVE_KEY_" + (h2 ? "H2" : "H1"), null);
        }
    }
}
