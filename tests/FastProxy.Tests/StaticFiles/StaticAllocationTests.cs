using System.Net.Sockets;
using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.StaticFiles;

/// <summary>
/// A small file from a static route allocates nothing per request in steady state over HTTP/1.1 keep-alive: the path is
/// mapped on the stack, the open-file cache is looked up by span, the head is written from bytes made when the file was
/// opened, and the body is read into a pooled buffer. Measured in this process (the client below allocates nothing
/// either), so alone; the cache's once-a-second re-open and the Date refresh are the only allocations, well under one
/// byte per request. Best of three runs, as the other allocation tests.
/// </summary>
[Collection(NonParallel.Name)]
public sealed class StaticAllocationTests : IDisposable
{
    private readonly StaticTree _tree = new();

    public void Dispose() => _tree.Dispose();

    [Theory]
    [InlineData("/hello.txt", "")]
    [InlineData("/data.txt", "Range: bytes=10-19\r\n")]
    [InlineData("/app.js", "Accept-Encoding: gzip, br\r\n")]
    [InlineData("/hello.txt", "If-None-Match: \"nope\", \"nope2\"\r\n")]
    public async Task A_small_file_allocates_nothing_per_request_over_http1(string path, string headers)
    {
        await using var proxy = TestProxy.Start(_tree.Config(", precompressed = true"));
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        socket.Connect(proxy.EndPoint());
        socket.ReceiveTimeout = 10_000;
        var request = System.Text.Encoding.ASCII.GetBytes($"GET {path} HTTP/1.1\r\nHost: x\r\n{headers}\r\n");
        var buffer = new byte[64 * 1024];

        Exchange(socket, request, buffer, 3_000); // warm-up: JIT, pools, the file opened and cached
        var runs = new List<string>();
        for (int run = 0; run < 3; run++)
        {
            const int requests = 30_000;
            long before = GC.GetTotalAllocatedBytes(precise: true);
            Exchange(socket, request, buffer, requests);
            long allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
            if (allocated < requests) return;
            runs.Add($"{allocated / (double)requests:F1} bytes per request ({allocated} over {requests})");
        }
        Assert.Fail($"allocations serving {path} in every run: " + string.Join("; ", runs));
    }

    /// <summary>
    /// The same under load, measured by tests/FastProxy.AllocationProbe like the proxied path (FASTPROXY_PROBE_STATIC: its
    /// load's route serves a directory): HTTP/2 from h2load (4 connections x 8 streams; the answer goes through the
    /// stream pump, whose state machine was a new box per stream, ~360 bytes, and a flush of a few 16 KiB bodies
    /// gathered more blocks than Socket.Send keeps on the stack, ~140 bytes). HTTP/1.1 is the test above (wrk's 64
    /// connections with a 16 KiB file measured 0.3 bytes per request through the probe, "--wrk", "64", "6", but wrk's
    /// 2-second timeouts on a loaded machine fail the probe outright, so it is not a test).
    /// </summary>
    [Theory]
    [InlineData("--h2load", 1024)]
    [InlineData("--h2load", 16 * 1024)]
    public async Task A_file_allocates_nothing_per_request_under_load(string client, int size)
    {
        string root = Path.Combine(_tree.Base, "load");
        Directory.CreateDirectory(root);
        var body = new byte[size];
        for (int i = 0; i < size; i++) body[i] = (byte)('a' + i % 26);
        await File.WriteAllBytesAsync(Path.Combine(root, "index.html"), body);
        var environment = new Dictionary<string, string> { ["FASTPROXY_PROBE_STATIC"] = root };
        string[] args = client == "--h2load" ? [client, "4", "8", "6"] : [client, "64", "6"];
        await Forwarding.AllocationTests.AssertBestOfThreeAsync(environment, $"allocations serving a {size}-byte file ({client})", args);
    }

    /// <summary>Sends the request <paramref name="count"/> times, each after the previous response has arrived whole (Content-Length framing).</summary>
    private static void Exchange(Socket socket, byte[] request, byte[] buffer, int count)
    {
        for (int i = 0; i < count; i++)
        {
            socket.Send(request);
            int have = 0;
            while (true)
            {
                int n = socket.Receive(buffer.AsSpan(have));
                if (n == 0) throw new InvalidOperationException("closed");
                have += n;
                int end = buffer.AsSpan(0, have).IndexOf("\r\n\r\n"u8);
                if (end < 0) continue;
                var head = buffer.AsSpan(0, end);
                int at = head.IndexOf("Content-Length: "u8);
                long length = 0;
                if (at >= 0)
                {
                    for (int j = at + 16; j < head.Length && head[j] != '\r'; j++) length = length * 10 + (head[j] - '0');
                }
                if (have >= end + 4 + length)
                {
                    if (!head.StartsWith("HTTP/1.1 20"u8)) throw new InvalidOperationException("unexpected status");
                    break;
                }
            }
        }
    }
}
