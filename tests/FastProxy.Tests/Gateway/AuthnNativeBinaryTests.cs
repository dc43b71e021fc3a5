using FastProxy.Tests.Infrastructure;
using static FastProxy.Tests.Gateway.AuthnTestKit;

namespace FastProxy.Tests.Gateway;

/// <summary>
/// The authentication kinds in the native AOT binary (artifacts/fastproxy): bcrypt (BCrypt.Net-Next, trimmed and
/// compiled ahead of time) and SHA-256 as users run them, a SIGHUP reload of a changed htpasswd file, and what
/// `fastproxy check` prints for an unusable htpasswd line and for authorize listed too early.
/// </summary>
public sealed class AuthnNativeBinaryTests : IDisposable
{
    private readonly string _dir = TempDirectory();

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Config(int port, int origin) => $$"""
        [[listeners]]
        name = "web"
        bind = "127.0.0.1:{{port}}"

        [[routes]]
        upstream = "app"
        policies = ["keys", "admins"]
        [routes.match]
        path_prefix = "/api"

        [[routes]]
        upstream = "app"
        policies = ["login"]

        [upstreams.app]
        servers = [{ address = "127.0.0.1:{{origin}}" }]

        [consumers.alice]
        api_keys = ["sha256:{{AliceDigest}}"]
        groups = ["admin"]

        [consumers.bob]
        api_keys = ["sha256:{{BobDigest}}"]

        [policies.keys]
        type = "api_key"
        query = "api_key"

        [policies.admins]
        type = "authorize"
        groups = ["admin"]

        [policies.login]
        type = "basic_auth"
        htpasswd = "{{Path.Combine(_dir, "users")}}"
        """;

    [Fact]
    public async Task The_binary_checks_keys_bcrypt_passwords_and_groups_and_rereads_htpasswd_on_sighup()
    {
        File.WriteAllText(Path.Combine(_dir, "users"), await HtpasswdLineAsync("alice", "correct horse", bcrypt: true) + "\n");
        await using var origin = new RawUpstream(r => RawUpstream.Ok($"hello {r.Header("x-consumer")}"));
        int port = ProxyProcess.FreePort();
        await using var proxy = ProxyProcess.StartWithConfig(Config(port, origin.Port), out _);
        await proxy.WaitForPortAsync(port);
        string Url(string path, string user = "") => $"http://{user}127.0.0.1:{port}{path}";

        var alice = await CurlAnswer.GetAsync(h2: false, Url($"/api/orders?api_key={AliceKey}"));
        var bob = await CurlAnswer.GetAsync(h2: true, Url("/api/orders"), "X-Api-Key: " + BobKey);
        var login = await CurlAnswer.GetAsync(h2: true, Url("/home", "alice:correct%20horse@"));
        var wrong = await CurlAnswer.GetAsync(h2: false, Url("/home", "alice:correct%20horsE@"));

        Assert.Equal((200, "hello alice"), (alice.Status, alice.Body));
        Assert.Equal(403, bob.Status);
        Assert.Equal((200, "hello alice"), (login.Status, login.Body));
        Assert.Equal(401, wrong.Status);
        Assert.Equal("Basic realm=\"restricted\", charset=\"UTF-8\"", wrong.Header("www-authenticate"));
        Assert.Equal("GET /api/orders HTTP/1.1", origin.Requests[0].RequestLine);
        Assert.Equal(2, origin.Requests.Count);

        // A new password in the file, then SIGHUP: the old one is refused (the remembered success went with the old config).
        File.WriteAllText(Path.Combine(_dir, "users"), await HtpasswdLineAsync("alice", "pässwörd", bcrypt: true) + "\n");
        await proxy.SignalAsync("HUP");
        CurlResponse old = login;
        for (int i = 0; i < 100; i++)
        {
            old = await CurlAnswer.GetAsync(h2: false, Url("/home", "alice:correct%20horse@"));
            if (old.Status == 401) break;
            await Task.Delay(50);
        }
        var changed = await CurlAnswer.GetAsync(h2: false, Url("/home", $"alice:{Uri.EscapeDataString("pässwörd")}@"));

        Assert.Equal(401, old.Status);
        Assert.Equal(200, changed.Status);
    }

    [Fact]
    public async Task Check_names_the_htpasswd_line_and_warns_about_authorize_listed_first()
    {
        var good = await HtpasswdLineAsync("alice", "correct horse", bcrypt: true);
        File.WriteAllText(Path.Combine(_dir, "users"), $"{good}\nbob:$apr1$Vf0p7Q9P$c9vOfgTN2zJOJzEVfW8a1/\n");
        var config = Path.Combine(_dir, "proxy.toml");
        File.WriteAllText(config, Config(8080, 9090).Replace("[\"keys\", \"admins\"]", "[\"admins\", \"keys\"]", StringComparison.Ordinal));

        var refused = await Processes.RunAsync(ProxyProcess.BinaryPath, ["check", "-c", config]);
        File.WriteAllText(Path.Combine(_dir, "users"), good + "\n");
        var warned = await Processes.RunAsync(ProxyProcess.BinaryPath, ["check", "-c", config]);

        Assert.Equal(2, refused.ExitCode);
        var output = refused.StdOut + refused.StdErr;
        Assert.Contains($"{Path.Combine(_dir, "users")}:2:1: policies.login.htpasswd: unsupported password hash", output);
        Assert.DoesNotContain("Vf0p7Q9P", output);
        // Warnings are printed once the file has no errors.
        Assert.Equal(0, warned.ExitCode);
        Assert.Contains("routes[0].policies[0]: on route \"routes[0]\", authorize \"admins\" runs before any authentication", warned.StdOut + warned.StdErr);
    }
}
