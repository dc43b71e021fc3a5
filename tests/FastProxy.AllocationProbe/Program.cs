using System.Net;
using System.Net.Sockets;
using System.Text;
using FastProxy.Configuration;
using FastProxy.Hosting;

namespace FastProxy.AllocationProbe;

/// <summary>
/// Proxies requests through an in-process proxy between a client and an origin that allocate nothing themselves
/// (blocking sockets, fixed buffers), and prints the bytes the whole process allocated in each window of requests.
/// Usage: FastProxy.AllocationProbe "REQUEST" [windows] [requests-per-window] [connections]
///        FastProxy.AllocationProbe --wrk CONNECTIONS SECONDS   (wrk, a real load generator, as the client)
///        FastProxy.AllocationProbe --h2load CONNECTIONS STREAMS SECONDS [BODYFILE]   (h2load: HTTP/2 with prior
///            knowledge; with BODYFILE each request is a POST of that file)
/// Environment: FASTPROXY_PROBE_GATEWAY (config appended: policies, admin), FASTPROXY_PROBE_ROUTE_POLICIES (the load's
/// route's policies), FASTPROXY_PROBE_HEADERS (request header lines), FASTPROXY_PROBE_STATIC=DIR (the load's route is
/// a static route over DIR instead of the origin), FASTPROXY_PROBE_TYPES=1 (the types allocated, sampled).
/// With several connections, each is driven by its own thread (blocking sockets, so still allocation-free): that
/// is what exposes buffer pools too small for the requests in flight.
/// </summary>
public static class Program
{
    private static readonly byte[] Response = "HTTP/1.1 200 OK\r\nContent-Length: 13\r\nContent-Type: text/plain\r\n\r\nhello, world\n"u8.ToArray();

    /// <summary>
    /// What the client receives: the origin's response plus the Date the proxy adds (the origin sends none, so the
    /// probe measures that path too); for /respond, the respond route's answer with its Date. The 29 octets of the
    /// date's value are checked for form, not compared (<see cref="DateAt"/> says where they are).
    /// </summary>
    private static byte[] Expected = Dated("HTTP/1.1 200 OK\r\nContent-Length: 13\r\nContent-Type: text/plain\r\nDate: ", "\r\n\r\nhello, world\n");
    private static int DateAt = "HTTP/1.1 200 OK\r\nContent-Length: 13\r\nContent-Type: text/plain\r\nDate: ".Length;
    private const int DateLength = 29;

    /// <summary>
    /// After the Date line comes the request's x-request-id (generated: 32 hex digits, different each time): the date's
    /// value, that line's name and the id are the part not compared byte for byte (the name is checked).
    /// </summary>
    private const string RequestIdName = "\r\nx-request-id: ";
    private const int VariableLength = DateLength + 16 + 32;

    /// <summary>A request for this path is answered by a respond route: the proxy's own response, no upstream.</summary>
    private const string RespondPath = "/respond";

    private static byte[] Dated(string before, string after)
        => Encoding.ASCII.GetBytes(before + "Sun, 06 Nov 1994 08:49:37 GMT" + RequestIdName + new string('0', 32) + after);

    public static async Task<int> Main(string[] args)
    {
        // As the real binary does: socket completions run inline on the epoll threads (no thread-pool hops).
        FastProxy.Transport.PipeSettings.EnableInlineSocketCompletions();
        if (args[0] == "--wrk") return await WithWrkAsync(int.Parse(args[1]), int.Parse(args[2]));
        if (args[0] == "--h2load") return await WithH2loadAsync(int.Parse(args[1]), int.Parse(args[2]), int.Parse(args[3]), args.Length > 4 ? args[4] : null);
        var request = Encoding.ASCII.GetBytes(args[0].Replace("\\r", "\r").Replace("\\n", "\n"));
        int windows = args.Length > 1 ? int.Parse(args[1]) : 5;
        int perWindow = args.Length > 2 ? int.Parse(args[2]) : 5_000;
        int connections = args.Length > 3 ? int.Parse(args[3]) : 1;
        if (args[0].StartsWith($"GET {RespondPath} ", StringComparison.Ordinal))
        {
            const string before = "HTTP/1.1 200 OK\r\nDate: ";
            Expected = Dated(before, "\r\ncontent-type: text/plain\r\nContent-Length: 13\r\n\r\nhello, world\n");
            DateAt = before.Length;
        }
        using var origin = new BlockingOrigin(Response);
        await using var host = ProxyHost.Start(Config(origin.Port));
        int port = host.EndPoints["web"].Port;

        var results = Measure(port, request, windows, perWindow, connections);
        Console.WriteLine($"requests-per-window {perWindow}");
        Console.WriteLine($"metrics-enabled {host.Services.Metrics.Enabled}");
        Console.WriteLine($"allocated-bytes {string.Join(' ', results)}");
        Console.WriteLine($"upstream-connections {origin.Connections}");
        return 0;
    }

    /// <summary>
    /// Many connections with requests always in flight, from wrk: after a warm-up run, the bytes the process
    /// allocated during a measured run, divided by the requests wrk completed. wrk is another process, so
    /// everything counted is the proxy's (and the origin's, which allocates nothing).
    /// </summary>
    private static Task<int> WithWrkAsync(int connections, int seconds)
        => WithLoadAsync(seconds, (url, s) => Wrk(url, connections, s));

    /// <summary>
    /// Runs <paramref name="load"/> (a real load generator: url, seconds -> requests completed) once to warm up, then
    /// for a short and a long run, and prints what the extra requests of the long run allocated.
    /// </summary>
    private static async Task<int> WithLoadAsync(int seconds, Func<string, int, long> load)
    {
        using var origin = new BlockingOrigin(Response);
        await using var host = ProxyHost.Start(Config(origin.Port));
        string url = $"http://127.0.0.1:{host.EndPoints["web"].Port}/index.html";
        // FASTPROXY_PROBE_SCRAPES=N (with an [admin] section in FASTPROXY_PROBE_GATEWAY): /metrics is scraped N times
        // during every run, spread over it. Both measured runs scrape N times, so a scrape's own (per-scrape, not
        // per-request) allocations cancel out of the difference, and what remains is still the per-request cost.
        int scrapes = int.Parse(Environment.GetEnvironmentVariable("FASTPROXY_PROBE_SCRAPES") ?? "0");
        if (scrapes > 0 && host.AdminEndPoint is { } admin)
        {
            var plain = load;
            load = (u, s) => MetricsScraper.During(admin, scrapes, s, () => plain(u, s));
        }
        load(url, 2);
        // Each run opens its own connections, and a connection's set-up allocates (sockets, pipes). Two runs of
        // different lengths have the same set-up cost; the difference is what the extra requests allocated.
        var (shortRequests, shortBytes) = Measured(() => load(url, Math.Max(1, seconds / 3)));
        using var sampler = Environment.GetEnvironmentVariable("FASTPROXY_PROBE_TYPES") == "1" ? new AllocationSampler() : null;
        sampler?.Start();
        var (longRequests, longBytes) = Measured(() => load(url, seconds));
        sampler?.Stop();
        sampler?.Print(longRequests);
        Console.WriteLine($"requests {longRequests - shortRequests}");
        Console.WriteLine($"allocated-bytes {Math.Max(0, longBytes - shortBytes)}");
        Console.WriteLine($"per-run {shortRequests}:{shortBytes} {longRequests}:{longBytes}");
        Console.WriteLine($"upstream-connections {origin.Connections}");
        if (scrapes > 0) Console.WriteLine($"scrapes {MetricsScraper.Completed}");
        return 0;
    }

    /// <summary>
    /// As <see cref="WithWrkAsync"/>, with h2load as the client: HTTP/2 streams (h2c with prior knowledge) converted
    /// to HTTP/1.1 for the origin. The per-request figure is what each stream costs the proxy.
    /// </summary>
    private static Task<int> WithH2loadAsync(int connections, int streams, int seconds, string? bodyFile)
        => WithLoadAsync(seconds, (url, s) => H2load(url, connections, streams, s, bodyFile));

    private static long H2load(string url, int connections, int streams, int seconds, string? bodyFile)
    {
        string body = bodyFile is null ? "" : $"-d {bodyFile} ";
        var psi = new System.Diagnostics.ProcessStartInfo("h2load", $"-c{connections} -m{streams} -D{seconds} {LoadHeaders()}{body}{url}") { RedirectStandardOutput = true };
        using var h2load = System.Diagnostics.Process.Start(psi)!;
        string output = h2load.StandardOutput.ReadToEnd();
        h2load.WaitForExit();
        var line = output.Split('\n').First(l => l.StartsWith("requests:"));
        // "requests: N total, N started, N done, N succeeded, N failed, N errored, N timeout"
        var parts = line.Split(',');
        long succeeded = long.Parse(parts[3].Trim().Split(' ')[0]);
        long failed = long.Parse(parts[4].Trim().Split(' ')[0]);
        if (failed > 0) throw new InvalidOperationException("h2load saw failures:\n" + output);
        // "status codes: N 2xx, N 3xx, N 4xx, N 5xx": a refused request (a gateway's 401) would allocate nothing too.
        var codes = output.Split('\n').FirstOrDefault(l => l.StartsWith("status codes:"));
        if (codes is not null && !codes.Contains(" 0 4xx") ) throw new InvalidOperationException("h2load saw 4xx answers:\n" + output);
        if (codes is not null && !codes.Contains(" 0 5xx")) throw new InvalidOperationException("h2load saw 5xx answers:\n" + output);
        return succeeded;
    }

    private static (long Requests, long Bytes) Measured(Func<long> run)
    {
        long before = GC.GetTotalAllocatedBytes(precise: true);
        long requests = run();
        return (requests, GC.GetTotalAllocatedBytes(precise: true) - before);
    }

    private static long Wrk(string url, int connections, int seconds)
    {
        var psi = new System.Diagnostics.ProcessStartInfo("wrk", $"-t1 -c{connections} -d{seconds}s {LoadHeaders()}{url}") { RedirectStandardOutput = true };
        using var wrk = System.Diagnostics.Process.Start(psi)!;
        string output = wrk.StandardOutput.ReadToEnd();
        wrk.WaitForExit();
        if (output.Contains("Non-2xx") || output.Contains("Socket errors")) throw new InvalidOperationException("wrk saw errors:\n" + output);
        var line = output.Split('\n').First(l => l.Contains("requests in"));
        return long.Parse(line.Trim().Split(' ')[0]);
    }

    private static FastProxy.Configuration.ProxyConfig Config(int originPort) => ConfigLoader.Parse($$"""
        [[listeners]]
        name = "web"
        bind = "127.0.0.1:0"
        [[routes]]
        respond = { status = 200, body = "hello, world\n", headers = { "content-type" = "text/plain" } }
        [routes.match]
        path = "{{RespondPath}}"
        [[routes]]
        {{RouteTarget()}}
        policies = {{Environment.GetEnvironmentVariable("FASTPROXY_PROBE_ROUTE_POLICIES") ?? "[]"}}
        [upstreams.app]
        servers = [ { address = "127.0.0.1:{{originPort}}" } ]
        {{Environment.GetEnvironmentVariable("FASTPROXY_PROBE_GATEWAY") ?? ""}}
        """, "probe.toml", AppContext.BaseDirectory) is { Config: { } config } ? config
        : throw new InvalidOperationException("probe config invalid (FASTPROXY_PROBE_GATEWAY?)");

    /// <summary>
    /// What the load's route (every path but /respond) serves: the origin, or with FASTPROXY_PROBE_STATIC=DIR a static
    /// route over DIR (the load asks for /index.html, so DIR should hold one).
    /// </summary>
    private static string RouteTarget() => Environment.GetEnvironmentVariable("FASTPROXY_PROBE_STATIC") is { Length: > 0 } root
        ? $"static = {{ root = \"{root}\" }}"
        : "upstream = \"app\"";

    /// <summary>FASTPROXY_PROBE_HEADERS: header lines ("name: value", one per line) wrk and h2load send with every request (credentials for a gateway chain).</summary>
    private static string LoadHeaders() => string.Concat((Environment.GetEnvironmentVariable("FASTPROXY_PROBE_HEADERS") ?? "")
        .Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(h => $"-H \"{h.Trim()}\" "));

    private static long[] Measure(int port, byte[] request, int windows, int perWindow, int connections)
    {
        int perConnection = perWindow / connections;
        using var start = new SemaphoreSlim(0);
        using var done = new CountdownEvent(connections);
        var failures = new List<Exception>();
        var threads = new Thread[connections];
        for (int c = 0; c < connections; c++)
        {
            threads[c] = new Thread(() =>
            {
                try
                {
                    using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                    client.Connect(new IPEndPoint(IPAddress.Loopback, port));
                    var buffer = new byte[4096];
                    // Warm up: JIT, pools, upstream connections, pooled async state machines.
                    RunRequests(client, request, buffer, 3_000 / connections + 50);
                    done.Signal();
                    for (int w = 0; w < windows; w++)
                    {
                        start.Wait();
                        RunRequests(client, request, buffer, perConnection);
                        done.Signal();
                    }
                }
                catch (Exception ex)
                {
                    lock (failures) failures.Add(ex);
                    while (done.CurrentCount > 0 && !done.IsSet) done.Signal();
                }
            }) { IsBackground = true };
            threads[c].Start();
        }
        done.Wait();
        var bytes = new long[windows];
        for (int w = 0; w < windows; w++)
        {
            done.Reset(connections);
            long before = GC.GetTotalAllocatedBytes(precise: true);
            start.Release(connections);
            done.Wait();
            bytes[w] = GC.GetTotalAllocatedBytes(precise: true) - before;
        }
        if (failures.Count > 0) throw new AggregateException(failures);
        return bytes;
    }

    private static void RunRequests(Socket client, byte[] request, byte[] buffer, int count)
    {
        for (int i = 0; i < count; i++)
        {
            client.Send(request);
            int received = 0;
            while (received < Expected.Length)
            {
                int n = client.Receive(buffer.AsSpan(received));
                if (n == 0) throw new InvalidOperationException($"proxy closed the connection after {i} requests");
                received += n;
            }
            var got = buffer.AsSpan(0, received);
            if (got.Length != Expected.Length || !got[..DateAt].SequenceEqual(Expected.AsSpan(0, DateAt))
                || !got[(DateAt + VariableLength)..].SequenceEqual(Expected.AsSpan(DateAt + VariableLength))
                || !got.Slice(DateAt + DateLength, 16).SequenceEqual(Expected.AsSpan(DateAt + DateLength, 16))
                || got[DateAt + 3] != (byte)',' || !got.Slice(DateAt + DateLength - 4, 4).SequenceEqual(" GMT"u8))
                throw new InvalidOperationException("unexpected response: " + System.Text.Encoding.ASCII.GetString(buffer, 0, received));
        }
    }

    /// <summary>An origin on a dedicated thread with blocking sockets: one fixed response per request head received.</summary>
    private sealed class BlockingOrigin : IDisposable
    {
        private readonly Socket _listener = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        private readonly byte[] _response;
        private readonly Thread _thread;
        private volatile bool _stopping;
        private int _connections;

        public BlockingOrigin(byte[] response)
        {
            _response = response;
            _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            _listener.Listen(16);
            Port = ((IPEndPoint)_listener.LocalEndPoint!).Port;
            _thread = new Thread(Serve) { IsBackground = true };
            _thread.Start();
        }

        public int Port { get; }

        public int Connections => Volatile.Read(ref _connections);

        private void Serve()
        {
            var buffer = new byte[64 * 1024];
            while (!_stopping)
            {
                Socket s;
                try { s = _listener.Accept(); } catch { return; }
                Interlocked.Increment(ref _connections);
                new Thread(() => ServeConnection(s, new byte[64 * 1024])) { IsBackground = true }.Start();
            }
        }

        /// <summary>Answers once per request: a head end, plus the declared or chunked body, which these tests keep in one read.</summary>
        private void ServeConnection(Socket s, byte[] buffer)
        {
            try
            {
                int pending = 0;
                while (true)
                {
                    int n = s.Receive(buffer.AsSpan(pending));
                    if (n == 0) return;
                    pending += n;
                    while (TryTakeRequest(buffer.AsSpan(0, pending), out int length))
                    {
                        buffer.AsSpan(length, pending - length).CopyTo(buffer);
                        pending -= length;
                        s.Send(_response);
                    }
                }
            }
            catch (SocketException)
            {
            }
            finally
            {
                s.Dispose();
            }
        }

        private static bool TryTakeRequest(ReadOnlySpan<byte> data, out int length)
        {
            length = 0;
            int end = data.IndexOf("\r\n\r\n"u8);
            if (end < 0) return false;
            var head = data[..end];
            int bodyStart = end + 4;
            if (head.IndexOf("chunked"u8) >= 0)
            {
                int last = data[bodyStart..].IndexOf("\r\n0\r\n\r\n"u8);
                if (last < 0) return false;
                length = bodyStart + last + 7;
                return true;
            }
            int cl = head.IndexOf("Content-Length: "u8);
            if (cl < 0)
            {
                length = bodyStart;
                return true;
            }
            int value = 0;
            for (int i = cl + 16; i < head.Length && head[i] >= '0' && head[i] <= '9'; i++) value = value * 10 + head[i] - '0';
            if (data.Length < bodyStart + value) return false;
            length = bodyStart + value;
            return true;
        }

        public void Dispose()
        {
            _stopping = true;
            _listener.Dispose();
        }
    }
}
