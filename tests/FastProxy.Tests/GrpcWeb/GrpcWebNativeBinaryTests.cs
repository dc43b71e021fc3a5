using System.Net;
using FastProxy.Tests.Grpc;
using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.GrpcWeb;

/// <summary>
/// gRPC-Web through the native AOT binary (artifacts/fastproxy) to Grpc.AspNetCore on Kestrel (h2c), the same route
/// and client as <see cref="GrpcWebThroughProxyTests"/>: binary and text framings over HTTP/1.1 and h2c, a unary call
/// with a message over 64 KiB, server streaming, and a status in the trailer frame.
/// </summary>
public sealed class GrpcWebNativeBinaryTests
{
    [Fact]
    public async Task The_binary_converts_both_framings_over_both_protocols()
    {
        await using var server = await GrpcTestServer.StartAsync();
        int port = ProxyProcess.FreePort();
        var config = GrpcWebThroughProxyTests.Config(server.Port).Replace("bind = \"127.0.0.1:0\"", $"bind = \"127.0.0.1:{port}\"", StringComparison.Ordinal);
        await using var proxy = ProxyProcess.StartWithConfig(config, out _);
        await proxy.WaitForPortAsync(port);
        Uri Method(string name) => new($"http://127.0.0.1:{port}/{TestGrpc.ServiceName}/{name}");
        var payload = new byte[70_000];
        new Random(5).NextBytes(payload);

        foreach (var (version, text) in new[] { ("1.1", false), ("1.1", true), ("2.0", false), ("2.0", true) })
        {
            string what = $"HTTP/{version} {(text ? "text" : "binary")}";
            using var client = GrpcWebClient.Client(Version.Parse(version));

            var echo = await GrpcWebClient.CallAsync(client, Method("Echo"), payload, text);
            Assert.True(echo.Status == HttpStatusCode.OK, what);
            Assert.Equal(text ? "application/grpc-web-text+proto" : "application/grpc-web+proto", echo.ContentType);
            Assert.Equal(payload, Assert.Single(echo.Messages));
            Assert.Equal("0", echo.Trailers!["grpc-status"]);
            Assert.Equal("t-70000", echo.Trailers["x-echo-trailer"]);
            Assert.Null(echo.Header("grpc-status"));

            var count = await GrpcWebClient.CallAsync(client, Method("Count"), TestGrpc.Int(20), text);
            Assert.Equal(Enumerable.Range(0, 20).Select(i => $"message-{i}"), count.Messages.Select(TestGrpc.Text));
            Assert.Equal("0", count.Trailers!["grpc-status"]);

            var failed = await GrpcWebClient.CallAsync(client, Method("FailLate"), [1, 2, 3], text);
            Assert.Equal(HttpStatusCode.OK, failed.Status);
            Assert.Empty(failed.Messages);
            Assert.Equal("7", failed.Trailers!["grpc-status"]);
            Assert.Equal(TestGrpc.FailLateMessage, Uri.UnescapeDataString(failed.Trailers["grpc-message"]));
        }
        Assert.False(proxy.HasExited);
    }
}
