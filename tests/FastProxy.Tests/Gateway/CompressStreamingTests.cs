using System.IO.Compression;
using System.Net;
using System.Net.Http;
using System.Text;
using FastProxy.Tests.Forwarding.Support;
using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Gateway;

/// <summary>
/// A compressed stream is not held back: an origin sends events one at a time (chunked, application/x-ndjson, a type
/// configured in) and sends the next only once the client has decoded the previous one. Without a flush each time the
/// upstream pauses, the compressor would sit on the first event, the origin would wait, and the test would time out
/// (each wait is bounded). The client decodes incrementally (GZipStream / BrotliStream / ZstdSharp's
/// DecompressionStream over HttpClient's response stream), over HTTP/1.1 and h2c.
/// </summary>
public sealed class CompressStreamingTests
{
    private const int Events = 5;
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);

    [Theory]
    [InlineData(false, "gzip")]
    [InlineData(false, "br")]
    [InlineData(true, "gzip")]
    [InlineData(true, "br")]
    [InlineData(false, "zstd")]
    [InlineData(true, "zstd")]
    public async Task Each_event_reaches_the_client_before_the_next_is_sent(bool h2, string encoding)
    {
        var delivered = new SemaphoreSlim(0);
        int sent = 0;
        await using var origin = new ScriptedOrigin(async (_, connection) =>
        {
            await connection.SendAsync("HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n\r\n");
            for (int i = 0; i < Events; i++)
            {
                var line = Encoding.ASCII.GetBytes(Event(i) + "\n");
                Interlocked.Increment(ref sent); // (before the bytes go: the client may read them before the next line runs)
                await connection.SendAsync([.. Encoding.ASCII.GetBytes($"{line.Length:x}\r\n"), .. line, (byte)'\r', (byte)'\n']);
                // The next event only once the client has this one (bounded: a held-back stream stops here).
                if (!await delivered.WaitAsync(Wait)) return;
            }
            await connection.SendAsync("0\r\n\r\n");
        });
        await using var proxy = TestProxy.Start(CompressLoopbackTests.Config(origin.Port, CompressLoopbackTests.Policy + "\ntypes = [\"application/x-ndjson\"]\nencodings = [\"br\", \"gzip\", \"zstd\"]"));

        using var handler = new SocketsHttpHandler { AutomaticDecompression = DecompressionMethods.None };
        using var client = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(60) };
        using var request = new HttpRequestMessage(System.Net.Http.HttpMethod.Get, proxy.Url("/events"))
        {
            Version = h2 ? HttpVersion.Version20 : HttpVersion.Version11,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        request.Headers.TryAddWithoutValidation("Accept-Encoding", encoding);
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);

        Assert.Equal(encoding, Assert.Single(response.Content.Headers.ContentEncoding));
        await using var raw = await response.Content.ReadAsStreamAsync();
        await using Stream decoded = encoding switch
        {
            "br" => new BrotliStream(raw, CompressionMode.Decompress),
            "zstd" => new ZstdSharp.DecompressionStream(raw),
            _ => new GZipStream(raw, CompressionMode.Decompress),
        };
        using var reader = new StreamReader(decoded, Encoding.ASCII);
        for (int i = 0; i < Events; i++)
        {
            using var timeout = new CancellationTokenSource(Wait);
            string? line;
            try
            {
                line = await reader.ReadLineAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                throw new Xunit.Sdk.XunitException($"event {i} did not arrive within {Wait.TotalSeconds}s (the origin had sent {Volatile.Read(ref sent)})");
            }
            Assert.Equal(Event(i), line);
            Assert.Equal(i + 1, Volatile.Read(ref sent)); // nothing further was sent before this one arrived
            delivered.Release();
        }
        Assert.Null(await reader.ReadLineAsync(new CancellationTokenSource(Wait).Token));
    }

    private static string Event(int i) => $"{{\"event\":{i},\"data\":\"{new string((char)('a' + i), 40)}\"}}";
}
