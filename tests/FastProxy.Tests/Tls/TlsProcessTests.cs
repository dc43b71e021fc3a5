using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Tls;

/// <summary>
/// TLS in the native AOT binary (artifacts/fastproxy): SslStream, OpenSSL and the certificate code must survive
/// trimming. Also the config errors of bad certificate files, from `fastproxy check` and at start.
/// </summary>
[Collection(NonParallel.Name)]
public sealed class TlsProcessTests : IDisposable
{
    private readonly TlsFiles _files = new();

    public void Dispose() => _files.Dispose();

    [Fact]
    public async Task The_AOT_binary_terminates_TLS_resumes_sessions_and_speaks_TLS_to_upstreams()
    {
        var ca = _files.Ca("ca");
        var site = _files.Server("site", ["site.example.com"], rsa: true);
        var origin = _files.Server("origin", ["origin.internal"]);
        await using var tlsOrigin = new TlsOrigin(origin.Cert, origin.Key);
        int port = ProxyProcess.FreePort();
        await using var proxy = ProxyProcess.StartWithConfig($$"""
            [[listeners]]
            name = "web"
            bind = "127.0.0.1:{{port}}"

            [[listeners.tls]]
            cert = "{{site.Cert}}"
            key = "{{site.Key}}"

            [[routes]]
            upstream = "app"

            [upstreams.app]
            servers = ["127.0.0.1:{{tlsOrigin.Port}}"]
            tls = true
            ca = "{{ca}}"
            sni = "origin.internal"
            """, out var configPath);
        try
        {
            await proxy.WaitForPortAsync(port);
            for (int i = 0; i < 3; i++)
            {
                var result = await TlsTerminationTests.Curl(port, "site.example.com", ca);
                Assert.True(result.ExitCode == 0, result.StdErr + proxy.StdErr);
                Assert.Equal("tls conn=1 path=/hello", result.StdOut);
                Assert.Contains("subject: CN=site.example.com", result.StdErr);
                Assert.Contains("ALPN: server accepted h2", result.StdErr); // HTTP/2 by ALPN: TlsHttp2Tests
            }
            Assert.Equal(["origin.internal"], tlsOrigin.ServerNames);

            string session = _files.PathOf("aot-session");
            var first = await TlsTerminationTests.SClient(port, ["-servername", "site.example.com", "-sess_out", session]);
            Assert.Contains("HTTP/1.1 200 OK", first.StdOut);
            var second = await TlsTerminationTests.SClient(port, ["-servername", "site.example.com", "-sess_in", session]);
            Assert.Contains("Reused, TLSv1.3", second.StdOut);
        }
        finally
        {
            File.Delete(configPath);
        }
    }

    [Fact]
    public async Task Bad_certificate_files_are_named_config_errors_from_check_and_at_start()
    {
        var a = _files.Server("a", ["a.example.com"]);
        var b = _files.Server("b", ["b.example.com"]);
        var old = _files.Expired("old", "old.example.com");
        string path = _files.PathOf("proxy.toml");
        File.WriteAllText(path, $"""
            [[listeners]]
            name = "web"
            bind = "127.0.0.1:{ProxyProcess.FreePort()}"

            [[listeners.tls]]
            cert = "a.pem"
            key = "b.key"

            [[listeners.tls]]
            cert = "missing.pem"
            key = "a.key"

            [[listeners.tls]]
            cert = "old.pem"
            key = "old.key"

            [[routes]]
            respond = {"{"} status = 200 {"}"}
            """);
        string[] expected =
        [
            $"{path}:7:7: listeners[0].tls[0].key: private key does not match the certificate in a.pem",
            $"{path}:10:8: listeners[0].tls[1].cert: file not found: {_files.PathOf("missing.pem")}",
            $"{path}:14:8: listeners[0].tls[2].cert: certificate expired on 2024-01-01",
        ];

        var check = await Processes.RunAsync(ProxyProcess.BinaryPath, ["check", "-c", path], TimeSpan.FromSeconds(20));
        Assert.Equal(2, check.ExitCode);
        Assert.Equal(expected, check.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

        var start = await Processes.RunAsync(ProxyProcess.BinaryPath, ["-c", path], TimeSpan.FromSeconds(20));
        Assert.Equal(2, start.ExitCode);
        foreach (var line in expected) Assert.Contains(line, start.StdErr);
        _ = (a, b, old);
    }
}
