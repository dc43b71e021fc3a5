using System.Security.Cryptography;
using FastProxy.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace FastProxy.Tests.Upstreams.Http2;

/// <summary>
/// A body read whole before it is forwarded (request_buffering; also a gRPC-Web text body, decoded) goes to an h2c
/// upstream in one write. Over the stream pipe's 64 KiB threshold that write's flush waits for the stream to take the
/// bytes; once the stream has sent them all (END_STREAM) it completes its side of the pipe, and the waiting flush
/// ends "completed". That is the request delivered, not a server gone: it used to be answered 502 ("connection closed
/// while sending the request").
/// </summary>
public sealed class BufferedBodyToH2Tests
{
    [Theory]
    [InlineData(1_000)]
    [InlineData(200_000)]
    [InlineData(900_000)]
    public async Task A_buffered_body_over_64_KiB_reaches_an_h2c_upstream_whole(int length)
    {
        await using var origin = await H2Origin.StartAsync(app => app.MapPost("/upload", async ctx =>
        {
            using var buffer = new MemoryStream();
            await ctx.Request.Body.CopyToAsync(buffer);
            await ctx.Response.WriteAsync($"len={ctx.Request.ContentLength} sha={Convert.ToHexString(SHA256.HashData(buffer.ToArray()))}");
        }));
        await using var proxy = TestProxy.Start($$"""
            [[listeners]]
            name = "web"
            bind = "127.0.0.1:0"

            [[routes]]
            upstream = "h2"

            [upstreams.h2]
            protocol = "h2c"
            request_buffering = true
            servers = [ { address = "127.0.0.1:{{origin.Port}}" } ]
            """);
        var body = new byte[length];
        new Random(length).NextBytes(body);
        string file = Path.Combine(Path.GetTempPath(), $"fastproxy-h2-buffered-{Guid.NewGuid():N}");
        await File.WriteAllBytesAsync(file, body);
        try
        {
            var result = await Processes.CurlAsync("-sS", "--max-time", "20", "-H", "Transfer-Encoding: chunked", "--data-binary", "@" + file,
                "-w", "\n%{http_code}", proxy.Url("/upload").ToString());
            Assert.Equal($"len={length} sha={Convert.ToHexString(SHA256.HashData(body))}\n200", result.StdOut);
        }
        finally
        {
            File.Delete(file);
        }
    }
}
