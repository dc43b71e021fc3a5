using System.Net.Http;
using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Gateway;

/// <summary>
/// Transforms in the native AOT binary (artifacts/fastproxy), as users run it: a SIGHUP that adds a rewrite, a version
/// and a mock to routes and changes a mock's body (requests before it see the old behaviour, after it the new, none
/// fails in between, over HTTP/1.1 and h2c), a SIGHUP with a broken policy refused while the old configuration keeps
/// serving; and a route with nothing but a redirect policy (no upstream), over HTTP/1.1 and h2c.
/// </summary>
public sealed class TransformNativeBinaryTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fastproxy-transform-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string Config(int port, int a, int b, string stubBody, bool added, string rewritePattern = "^/rw/(.*)$") => $$"""
        [[listeners]]
        name = "web"
        bind = "127.0.0.1:{{port}}"

        [[routes]]
        name = "stub"
        policies = ["stub"]
        [routes.match]
        path = "/stub"

        [[routes]]
        name = "rw"
        upstream = "a"
        {{(added ? "policies = [\"rw\"]" : "")}}
        [routes.match]
        path_prefix = "/rw/"

        [[routes]]
        name = "ver"
        upstream = "a"
        {{(added ? "policies = [\"ver\"]" : "")}}
        [routes.match]
        path_prefix = "/ver/"

        [[routes]]
        name = "mocked"
        upstream = "a"
        {{(added ? "policies = [\"canned\"]" : "")}}
        [routes.match]
        path_prefix = "/mocked/"

        [[routes]]
        name = "moved"
        policies = ["moved"]
        [routes.match]
        path_prefix = "/old/"

        [upstreams.a]
        servers = ["127.0.0.1:{{a}}"]

        [upstreams.b]
        servers = ["127.0.0.1:{{b}}"]

        [policies.stub]
        type = "mock"
        body = "{{stubBody}}"

        [policies.rw]
        type = "rewrite"
        pattern = "{{rewritePattern}}"
        replacement = "/new/$1"

        [policies.ver]
        type = "version"
        from = "header:x-api-version"
        versions = { v1 = "a", v2 = "b" }
        default = "v1"

        [policies.canned]
        type = "mock"
        status = 203
        body = "canned"

        [policies.moved]
        type = "redirect"
        scheme = "https"
        host = "new.example"
        status = 301
        """;

    private static HttpClient Client(bool h2) => new(new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(10) })
    {
        DefaultRequestVersion = h2 ? System.Net.HttpVersion.Version20 : System.Net.HttpVersion.Version11,
        DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        Timeout = TimeSpan.FromSeconds(20),
    };

    /// <summary>
    /// GETs /stub on one keep-alive connection (HTTP/1.1 or h2c) until <paramref name="stop"/> or 2,000 requests; every
    /// answer's status and body, in order.
    /// </summary>
    private static async Task<List<string>> PollStubAsync(string url, bool h2, System.Collections.Concurrent.ConcurrentQueue<string> seen, CancellationToken stop)
    {
        using var client = Client(h2);
        for (int i = 0; i < 2000 && !stop.IsCancellationRequested; i++)
        {
            using var response = await client.GetAsync(url, CancellationToken.None);
            seen.Enqueue($"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync(CancellationToken.None)}");
        }
        return [.. seen];
    }

    [Fact]
    public async Task Sighup_adds_rewrite_version_and_mock_and_changes_a_mock_body_without_a_failed_request_and_refuses_a_broken_one()
    {
        await using var a = new RawUpstream(r => RawUpstream.Ok("a saw " + r.RequestLine.Split(' ')[1]));
        await using var b = new RawUpstream(r => RawUpstream.Ok("b saw " + r.RequestLine.Split(' ')[1]));
        int port = ProxyProcess.FreePort();
        await using var proxy = ProxyProcess.StartWithConfig(Config(port, a.Port, b.Port, "one", added: false), out var configPath);
        await proxy.WaitForPortAsync(port);
        string Url(string path) => $"http://127.0.0.1:{port}{path}";

        // Before: no policy on the three routes, the first mock body.
        foreach (bool h2 in new[] { false, true })
        {
            Assert.Equal((200, "one"), Pair(await CurlAnswer.GetAsync(h2, Url("/stub"))));
            Assert.Equal((200, "a saw /rw/x"), Pair(await CurlAnswer.GetAsync(h2, Url("/rw/x"))));
            Assert.Equal((200, "a saw /ver/x"), Pair(await CurlAnswer.GetAsync(h2, Url("/ver/x"), "X-Api-Version: v2")));
            Assert.Equal((200, "a saw /mocked/x"), Pair(await CurlAnswer.GetAsync(h2, Url("/mocked/x"))));
        }

        // The reload, while two clients (HTTP/1.1 and h2c, keep-alive) ask for /stub without a pause.
        using var stop = new CancellationTokenSource();
        var seenH1 = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var seenH2 = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var pollH1 = PollStubAsync(Url("/stub"), h2: false, seenH1, stop.Token);
        var pollH2 = PollStubAsync(Url("/stub"), h2: true, seenH2, stop.Token);
        // Both clients have had answers from the old configuration before the reload.
        await WaitForAsync(() => Task.FromResult(Math.Min(seenH1.Count, seenH2.Count)), n => n >= 3);
        File.WriteAllText(configPath, Config(port, a.Port, b.Port, "two", added: true));
        await proxy.SignalAsync("HUP");
        var after = await WaitForAsync(() => CurlAnswer.GetAsync(h2: false, Url("/stub")), r => r.Body == "two");
        await Task.Delay(200);
        stop.Cancel();
        foreach (var seen in new[] { await pollH1, await pollH2 })
        {
            // Every answer is the old or the new one, and once the new one came the old never comes back.
            Assert.All(seen, s => Assert.True(s is "200 one" or "200 two", s));
            int firstNew = seen.IndexOf("200 two");
            Assert.True(firstNew > 0, $"{seen.Count} answers: {string.Join(", ", seen.Distinct())}");
            Assert.DoesNotContain("200 one", seen.Skip(firstNew));
        }

        // After: each added policy works, over both protocols.
        int aBefore = a.Requests.Count;
        foreach (bool h2 in new[] { false, true })
        {
            Assert.Equal((200, "two"), Pair(await CurlAnswer.GetAsync(h2, Url("/stub"))));
            Assert.Equal((200, "a saw /new/x"), Pair(await CurlAnswer.GetAsync(h2, Url("/rw/x"))));
            Assert.Equal((200, "b saw /ver/x"), Pair(await CurlAnswer.GetAsync(h2, Url("/ver/x"), "X-Api-Version: v2")));
            Assert.Equal((200, "a saw /ver/x"), Pair(await CurlAnswer.GetAsync(h2, Url("/ver/x"))));
            Assert.Equal((203, "canned"), Pair(await CurlAnswer.GetAsync(h2, Url("/mocked/x"))));
        }
        // The rewrite and the default version reached a (twice each); the mock never did.
        Assert.Equal(aBefore + 4, a.Requests.Count);
        Assert.DoesNotContain(a.Requests.Skip(aBefore), r => r.RequestLine.Contains("/mocked/", StringComparison.Ordinal));

        // A broken policy (an unclosed group) and a new mock body: refused as a whole, the old configuration keeps serving.
        File.WriteAllText(configPath, Config(port, a.Port, b.Port, "three", added: true, rewritePattern: "^/rw/(.*"));
        await proxy.SignalAsync("HUP");
        await WaitForAsync(() => Task.FromResult(proxy.StdErr), e => e.Contains("reload refused", StringComparison.Ordinal));
        Assert.Contains("policies.rw.pattern", proxy.StdErr);
        foreach (bool h2 in new[] { false, true })
        {
            Assert.Equal((200, "two"), Pair(await CurlAnswer.GetAsync(h2, Url("/stub"))));
            Assert.Equal((200, "a saw /new/y"), Pair(await CurlAnswer.GetAsync(h2, Url("/rw/y"))));
        }
        Assert.False(proxy.HasExited);
        Assert.Equal("two", after.Body);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_route_with_only_a_redirect_answers_without_an_upstream(bool h2)
    {
        await using var a = new RawUpstream();
        int port = ProxyProcess.FreePort();
        await using var proxy = ProxyProcess.StartWithConfig(Config(port, a.Port, a.Port, "one", added: false), out _);
        await proxy.WaitForPortAsync(port);

        var answer = await CurlAnswer.GetAsync(h2, $"http://127.0.0.1:{port}/old/page?q=1");
        var head = await CurlAnswer.GetAsync(h2, $"http://127.0.0.1:{port}/old/");

        Assert.Equal(301, answer.Status);
        Assert.Equal("https://new.example/old/page?q=1", answer.Header("location"));
        Assert.Equal("0", answer.Header("content-length"));
        Assert.Equal("", answer.Body);
        Assert.Equal((301, "https://new.example/old/"), (head.Status, head.Header("location")));
        Assert.Empty(a.Requests);
    }

    private static (int, string) Pair(CurlResponse answer) => (answer.Status, answer.Body);

    /// <summary>Calls <paramref name="get"/> until <paramref name="done"/> (at most 200 times, 50 ms apart); the last value.</summary>
    private static async Task<T> WaitForAsync<T>(Func<Task<T>> get, Func<T, bool> done)
    {
        T value = await get();
        for (int i = 0; i < 200 && !done(value); i++)
        {
            await Task.Delay(50);
            value = await get();
        }
        Assert.True(done(value), $"still {value}");
        return value;
    }
}
