using System.Text;
using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Gateway;

/// <summary>
/// json_body in the native AOT binary (artifacts/fastproxy): System.Text.Json's reader and writer and the gzip and
/// brotli decoders (native code linked into the binary) as users run them, over HTTP/1.1 and h2c; and `fastproxy check`.
/// </summary>
public sealed class JsonBodyNativeBinaryTests
{
    [Fact]
    public async Task The_binary_rewrites_json_requests_and_gzip_and_br_responses()
    {
        const string json = """{"id":7,"secret":"s3","meta":{"trace":"t","page":1},"items":[{"id":1}]}""";
        await using var origin = new RawUpstream(r =>
        {
            if (r.RequestLine.StartsWith("POST", StringComparison.Ordinal)) return RawUpstream.Ok("ok", "Content-Type: text/plain\r\n");
            var coding = r.RequestLine.Contains("/br", StringComparison.Ordinal) ? "br" : "gzip";
            var body = JsonBodyTransformTests.Compress(coding, Encoding.UTF8.GetBytes(json));
            return [.. Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: {coding}\r\nContent-Length: {body.Length}\r\n\r\n"), .. body];
        });
        int port = ProxyProcess.FreePort();
        var config = JsonBodyLoopbackTests.Config(origin.Port).Replace("bind = \"127.0.0.1:0\"", $"bind = \"127.0.0.1:{port}\"", StringComparison.Ordinal);
        await using var proxy = ProxyProcess.StartWithConfig(config, out var path);
        await proxy.WaitForPortAsync(port);

        foreach (var (h2, route) in new[] { (false, "/gz"), (true, "/br") })
        {
            var result = await Processes.CurlAsync([h2 ? "--http2-prior-knowledge" : "--http1.1", "-D", "-", $"http://127.0.0.1:{port}{route}"]);
            Assert.Equal(0, result.ExitCode);
            Assert.EndsWith("""{"order_id":7,"meta":{"page":1},"items":[{"id":1}],"served_by":"fp"}""", result.StdOut, StringComparison.Ordinal);
            Assert.DoesNotContain("content-encoding", result.StdOut, StringComparison.OrdinalIgnoreCase);
        }
        var post = await Processes.CurlAsync(["--http2-prior-knowledge", "-H", "Content-Type: application/json", "--data-binary",
            """{"password":"p","userName":"u"}""", $"http://127.0.0.1:{port}/users"]);
        Assert.Equal((0, "ok"), (post.ExitCode, post.StdOut));
        Assert.Equal("""{"user_name":"u","source":"gateway","who":null}""", Encoding.UTF8.GetString(origin.Requests[^1].Body));

        var check = await Processes.RunAsync(ProxyProcess.BinaryPath, ["check", "-c", path], TimeSpan.FromSeconds(30));
        Assert.Equal(0, check.ExitCode);
    }
}
