using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Gateway;

/// <summary>
/// version and mock in the native AOT binary (artifacts/fastproxy), as users run it: a version picks its origin and
/// strips its segment, an unknown one gets the problem+json 400 (System.Text.Json's writer, compiled ahead of time), a
/// mock answers on a route without upstream; and what `fastproxy check` prints for a version naming an upstream that
/// does not exist and for a route with neither upstream, respond nor an answering policy.
/// </summary>
public sealed class VersionMockNativeBinaryTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fastproxy-version-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string Config(int port, int a, int b) => $$"""
        [[listeners]]
        name = "web"
        bind = "127.0.0.1:{{port}}"

        [[routes]]
        name = "stub"
        policies = ["stub"]
        [routes.match]
        path_prefix = "/stub/"

        [[routes]]
        name = "api"
        policies = ["api-version"]

        [upstreams.a]
        servers = ["127.0.0.1:{{a}}"]

        [upstreams.b]
        servers = ["127.0.0.1:{{b}}"]

        [policies.api-version]
        type = "version"
        versions = { v1 = "a", v2 = "b" }
        deprecated = { v1 = "2027-06-30" }

        [policies.stub]
        type = "mock"
        status = 202
        body = '{"stub": true}'
        """;

    [Fact]
    public async Task The_binary_routes_versions_and_answers_mocks()
    {
        await using var a = new RawUpstream(r => RawUpstream.Ok("a saw " + r.RequestLine.Split(' ')[1]));
        await using var b = new RawUpstream(r => RawUpstream.Ok("b saw " + r.RequestLine.Split(' ')[1]));
        int port = ProxyProcess.FreePort();
        await using var proxy = ProxyProcess.StartWithConfig(Config(port, a.Port, b.Port), out _);
        await proxy.WaitForPortAsync(port);
        string Url(string path) => $"http://127.0.0.1:{port}{path}";

        var one = await CurlAnswer.GetAsync(h2: false, Url("/v1/users"));
        var two = await CurlAnswer.GetAsync(h2: true, Url("/v2/users?page=2"));
        var unknown = await CurlAnswer.GetAsync(h2: true, Url("/v5/users"));
        var stub = await CurlAnswer.GetAsync(h2: false, Url("/stub/x"));

        Assert.Equal((200, "a saw /users"), (one.Status, one.Body));
        Assert.Equal("@1814313600", one.Header("Deprecation"));
        Assert.Equal("Wed, 30 Jun 2027 00:00:00 GMT", one.Header("Sunset"));
        Assert.Equal((200, "b saw /users?page=2"), (two.Status, two.Body));
        Assert.Equal(400, unknown.Status);
        Assert.Contains("\"version\":\"v5\"", unknown.Body);
        Assert.Equal((202, "{\"stub\": true}"), (stub.Status, stub.Body));
        Assert.Equal("application/json", stub.Header("Content-Type"));
    }

    [Fact]
    public async Task Check_names_a_missing_version_upstream_and_a_route_with_nothing_to_answer()
    {
        var config = Path.Combine(_dir, "proxy.toml");
        File.WriteAllText(config, Config(8080, 9001, 9002)
            .Replace("v2 = \"b\"", "v2 = \"c\"", StringComparison.Ordinal)
            .Replace("policies = [\"stub\"]", "", StringComparison.Ordinal));

        var result = await Processes.RunAsync(ProxyProcess.BinaryPath, ["check", "-c", config]);

        Assert.Equal(2, result.ExitCode);
        var output = result.StdOut + result.StdErr;
        Assert.Contains("proxy.toml:23:29: policies.api-version.versions.v2: no upstream named \"c\" (known: a, b)", output);
        Assert.Contains("proxy.toml:5:1: routes[0]: needs upstream = \"NAME\" or respond", output);
    }
}
