using System.Text;
using FastProxy.Tests.Forwarding.Support;
using FastProxy.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace FastProxy.Tests.Forwarding;

/// <summary>Expect: 100-continue (RFC 9110 §10.1.1): the origin's go-ahead reaches the client, then the body flows.</summary>
public sealed class ExpectContinueTests
{
    private static Task<KestrelOrigin> StartCountingOriginAsync() => KestrelOrigin.StartAsync(app =>
    {
        // Kestrel sends 100 Continue when the application first reads the body.
        app.MapPost("/count", async ctx =>
        {
            long total = 0;
            var buffer = new byte[64 * 1024];
            int n;
            while ((n = await ctx.Request.Body.ReadAsync(buffer, ctx.RequestAborted)) > 0) total += n;
            await ctx.Response.WriteAsync($"expect={ctx.Request.Headers.Expect} bytes={total}");
        });
        app.MapPost("/refuse", ctx =>
        {
            // Answered without reading the body: no 100 Continue is sent.
            ctx.Response.StatusCode = 413;
            return Task.CompletedTask;
        });
    });

    [Fact]
    public async Task Curl_large_post_gets_100_continue_and_its_body_through()
    {
        await using var origin = await StartCountingOriginAsync();
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([origin.Port], extraTop: "[limits]\nmax_body = \"0\"\n"));
        var file = Path.GetTempFileName();
        try
        {
            await File.WriteAllBytesAsync(file, new byte[3 * 1024 * 1024]);

            // A long expect100-timeout: if the 100 did not come through, curl would sit out the wait and fail max-time.
            var result = await Processes.RunAsync("curl", ["-sv", "--max-time", "8", "--expect100-timeout", "30",
                "-H", "Expect: 100-continue", "--data-binary", "@" + file, proxy.Url("/count").ToString()], TimeSpan.FromSeconds(20));

            Assert.Equal(0, result.ExitCode);
            Assert.Contains("< HTTP/1.1 100 Continue", result.StdErr);
            Assert.Equal($"expect=100-continue bytes={3 * 1024 * 1024}", result.StdOut);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task Client_waits_for_100_then_sends_the_body()
    {
        await using var origin = await StartCountingOriginAsync();
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([origin.Port]));
        using var client = new WireClient(proxy.Port());

        client.Send("POST /count HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 10\r\n\r\n");
        var interim = await client.ReadResponseAsync("POST");
        Assert.Equal(100, interim.Status);

        client.Send("0123456789");
        var final = await client.ReadResponseAsync("POST");
        Assert.Equal(200, final.Status);
        Assert.Equal("expect=100-continue bytes=10", final.BodyText);

        // The connection carries on.
        var next = await client.RoundTripAsync("POST /count HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc");
        Assert.Equal("expect= bytes=3", next.BodyText);
    }

    [Fact]
    public async Task A_final_answer_instead_of_100_reaches_the_client_and_the_unsent_body_is_not_expected()
    {
        await using var origin = await StartCountingOriginAsync();
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([origin.Port]));
        using var client = new WireClient(proxy.Port());

        client.Send("POST /refuse HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 1000000\r\n\r\n");
        var response = await client.ReadResponseAsync("POST");

        Assert.Equal(413, response.Status);
        // The body was never sent, so the proxy cannot read this connection as HTTP any more: it must close it
        // (or, equivalently, the client must not be left waiting on a connection that will misparse).
        Assert.True(await client.IsClosedAsync());
    }

    [Fact]
    public async Task A_body_sent_without_waiting_for_100_still_flows()
    {
        await using var origin = new ScriptedOrigin(async (r, c) =>
        {
            await c.SendAsync("HTTP/1.1 200 OK\r\nContent-Length: " + r.Body.Length + "\r\n\r\n" + Encoding.Latin1.GetString(r.Body));
        });
        await using var proxy = TestProxy.Start(TestProxy.SimpleConfig([origin.Port]));
        using var client = new WireClient(proxy.Port());

        // This origin sends no 100 (it waits for the whole request): the client gives up waiting and
        // sends its body anyway, as RFC 9110 §10.1.1 lets it, and the exchange completes.
        client.Send("POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n");
        await Task.Delay(100);
        client.Send("hello");
        var response = await client.ReadFinalResponseAsync("POST");

        Assert.Equal(200, response.Status);
        Assert.Equal("hello", response.BodyText);
        Assert.Equal("100-continue", Assert.Single(origin.Requests).Header("Expect"));
    }
}
