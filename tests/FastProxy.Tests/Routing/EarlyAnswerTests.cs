using FastProxy.Tests.Forwarding.Support;
using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Routing;

/// <summary>
/// The proxy answers a request itself (404, respond route) before the client has finished sending its body: the
/// client must still read that answer, not a connection reset.
/// </summary>
public sealed class EarlyAnswerTests
{
    private const string Config = """
        [limits]
        max_body = "0"

        [[listeners]]
        name = "web"
        bind = "127.0.0.1:0"

        [[routes]]
        name = "hello"
        respond = { status = 200, body = "hello" }
        [routes.match]
        path = "/hello"
        """;

    [Theory]
    [InlineData("/nowhere", "404")]
    [InlineData("/hello", "200")]
    public async Task Curl_posting_a_large_body_gets_the_answer(string path, string status)
    {
        await using var proxy = TestProxy.Start(Config);
        var file = Path.GetTempFileName();
        try
        {
            await File.WriteAllBytesAsync(file, new byte[8 * 1024 * 1024]);

            var result = await Processes.CurlAsync("-o", "/dev/null", "-w", "%{http_code}", "-H", "Expect:",
                "--data-binary", "@" + file, proxy.Url(path).ToString());

            Assert.Equal(status, result.StdOut);
            Assert.Equal(0, result.ExitCode);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task A_raw_client_that_sends_its_whole_body_first_still_reads_the_404()
    {
        await using var proxy = TestProxy.Start(Config);
        using var client = new WireClient(proxy.Port());
        const int length = 4 * 1024 * 1024;

        client.Send($"POST /nowhere HTTP/1.1\r\nHost: a\r\nContent-Length: {length}\r\n\r\n");
        try
        {
            for (int i = 0; i < length / 65536; i++) await client.SendAsync(new byte[65536]);
        }
        catch (System.Net.Sockets.SocketException)
        {
            // The proxy may stop reading once it has answered; what matters is that the answer can be read.
        }
        var response = await client.ReadResponseAsync("POST");

        Assert.Equal(404, response.Status);
    }
}
