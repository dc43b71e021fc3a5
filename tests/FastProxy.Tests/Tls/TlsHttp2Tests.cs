using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using FastProxy.Forwarding;
using FastProxy.Tests.Forwarding.Support;
using FastProxy.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace FastProxy.Tests.Tls;

/// <summary>
/// h2 by ALPN on a TLS http listener (RFC 9113 §3.2), with real clients: curl, nghttp, openssl s_client and h2load.
/// The same listener serves HTTP/1.1 to clients that ask for it or offer no ALPN; TLS 1.2 never runs h2 (or
/// anything) on a suite §9.2.2 forbids.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")] // a client CipherSuitesPolicy (OpenSSL) offers a forbidden suite
public sealed class TlsHttp2Tests : IDisposable
{
    private readonly TlsFiles _files = new();

    public void Dispose() => _files.Dispose();

    private static Task<ProcessResult> Curl(int port, string ca, string path, params string[] more)
        => Processes.CurlAsync(["--cacert", ca, "--resolve", $"site.example.com:{port}:127.0.0.1", .. more,
            $"https://site.example.com:{port}{path}"]);

    [Fact]
    public async Task Curl_gets_http2_by_alpn_and_http11_when_it_asks_for_it_on_the_same_listener()
    {
        var ca = _files.Ca("ca");
        var site = _files.Server("site", ["site.example.com"]);
        await using var upstream = new RawUpstream(r => RawUpstream.Ok($"{r.RequestLine} proto={r.Header("X-Forwarded-Proto")}", "X-Up: yes\r\n"));
        await using var proxy = TestProxy.Start(TlsTerminationTests.Config(upstream.Port, TlsTerminationTests.Entry(site.Cert, site.Key)));
        int port = proxy.Port();

        // curl offers h2 first (--http2 over https is its default, said here so the test does not depend on it).
        var h2 = await Curl(port, ca, "/two?x=1", "-v", "--http2", "-i", "-w", "\nversion=%{http_version}");
        Assert.True(h2.ExitCode == 0, h2.StdErr);
        Assert.Contains("ALPN: server accepted h2", h2.StdErr);
        Assert.StartsWith("HTTP/2 200", h2.StdOut);
        Assert.Contains("x-up: yes", h2.StdOut); // lowercased for HTTP/2 (§8.2.1)
        Assert.Contains("GET /two?x=1 HTTP/1.1 proto=https", h2.StdOut);
        Assert.EndsWith("version=2", h2.StdOut);
        Assert.Equal($"site.example.com:{port}", upstream.Requests[^1].Header("Host"));

        var h11 = await Curl(port, ca, "/one", "-v", "--http1.1", "-w", " %{http_version}");
        Assert.True(h11.ExitCode == 0, h11.StdErr);
        Assert.Contains("ALPN: server accepted http/1.1", h11.StdErr);
        Assert.Equal("GET /one HTTP/1.1 proto=https 1.1", h11.StdOut);

        // No ALPN extension at all: HTTP/1.1, as before ALPN existed.
        var none = await Curl(port, ca, "/none", "-v", "--no-alpn", "-w", " %{http_version}");
        Assert.True(none.ExitCode == 0, none.StdErr);
        Assert.DoesNotContain("ALPN: server accepted", none.StdErr);
        Assert.Equal("GET /none HTTP/1.1 proto=https 1.1", none.StdOut);
        Assert.Equal(3, upstream.Requests.Count);
    }

    [Fact]
    public async Task Openssl_sees_h2_chosen_first_and_http11_when_offered_alone_on_TLS_1_2_and_1_3()
    {
        var site = _files.Server("site", ["site.example.com"]);
        await using var upstream = new RawUpstream();
        await using var proxy = TestProxy.Start(TlsTerminationTests.Config(upstream.Port, TlsTerminationTests.Entry(site.Cert, site.Key)));
        int port = proxy.Port();

        foreach (var version in new[] { "-tls1_2", "-tls1_3" })
        {
            // The client prefers http/1.1 here: the server's order (h2 first) decides.
            var h2 = await SClient(port, [version, "-alpn", "http/1.1,h2"], stdin: "");
            Assert.Contains("ALPN protocol: h2", h2.StdOut);
            var h11 = await SClient(port, [version, "-alpn", "http/1.1"], stdin: "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
            Assert.Contains("ALPN protocol: http/1.1", h11.StdOut);
            Assert.Contains("HTTP/1.1 200 OK", h11.StdOut);
        }
    }

    [Fact]
    public async Task H2_on_TLS_1_2_runs_on_ecdhe_aead_suites_and_a_forbidden_suite_gets_inadequate_security()
    {
        var ca = _files.Ca("ca");
        var ecdsa = _files.Server("site", ["site.example.com"]);
        var rsa = _files.Server("rsa", ["rsa.example.com"], rsa: true);
        await using var upstream = new RawUpstream();
        await using var proxy = TestProxy.Start(TlsTerminationTests.Config(upstream.Port,
            TlsTerminationTests.Entry(ecdsa.Cert, ecdsa.Key) + TlsTerminationTests.Entry(rsa.Cert, rsa.Key)));
        int port = proxy.Port();

        // §9.2.2's mandatory suite, and its ECDSA siblings: h2 negotiated and served.
        foreach (var (cipher, name) in new[]
                 {
                     ("ECDHE-RSA-AES128-GCM-SHA256", "rsa.example.com"), ("ECDHE-ECDSA-AES256-GCM-SHA384", "site.example.com"),
                     ("ECDHE-ECDSA-AES128-GCM-SHA256", "site.example.com"),
                 })
        {
            var ok = await SClient(port, ["-tls1_2", "-cipher", cipher, "-servername", name, "-alpn", "h2"], stdin: "");
            Assert.Contains($"Cipher is {cipher}", ok.StdOut);
            Assert.Contains("ALPN protocol: h2", ok.StdOut);
        }
        var served = await Processes.CurlAsync("--cacert", ca, "--resolve", $"rsa.example.com:{port}:127.0.0.1", "--http2", "--tls-max", "1.2",
            "--ciphers", "ECDHE-RSA-AES128-GCM-SHA256", "-w", " %{http_version}", $"https://rsa.example.com:{port}/");
        Assert.True(served.ExitCode == 0, served.StdErr);
        Assert.Equal("ok 2", served.StdOut);
        Assert.Single(upstream.Requests);

        // A client offering only a suite on Appendix A's block list (CBC: the runtime's default TLS 1.2 list has
        // ECDHE-ECDSA-AES128-SHA256) gets SETTINGS and GOAWAY INADEQUATE_SECURITY over h2, and nothing is forwarded;
        // over http/1.1 the same suite is served.
        var refused = await HandshakeAsync(port, "h2");
        Assert.Equal(TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256, refused.NegotiatedCipherSuite);
        var bytes = await ReadToCloseAsync(refused);
        var frames = new List<(byte Type, byte[] Payload)>();
        for (int at = 0; at + 9 <= bytes.Length;)
        {
            int length = (bytes[at] << 16) | (bytes[at + 1] << 8) | bytes[at + 2];
            frames.Add((bytes[at + 3], bytes.AsSpan(at + 9, length).ToArray()));
            at += 9 + length;
        }
        var goAway = Assert.Single(frames, f => f.Type == 0x7);
        Assert.Equal(0xCu, System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(goAway.Payload.AsSpan(4)));
        Assert.Equal(0x4, frames[0].Type); // SETTINGS first (§3.4)
        Assert.Single(upstream.Requests);

        await using var http11 = await HandshakeAsync(port, "http/1.1");
        await http11.WriteAsync("GET /old HTTP/1.1\r\nHost: site.example.com\r\nConnection: close\r\n\r\n"u8.ToArray());
        Assert.StartsWith("HTTP/1.1 200 OK", System.Text.Encoding.ASCII.GetString(await ReadToCloseAsync(http11)));
        Assert.Equal(2, upstream.Requests.Count);
        await refused.DisposeAsync();
    }

    /// <summary>A TLS 1.2 handshake offering only TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256 (forbidden for h2) and the given ALPN protocol.</summary>
    private static async Task<SslStream> HandshakeAsync(int port, string alpn)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port));
        var ssl = new SslStream(new NetworkStream(socket, ownsSocket: true));
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "site.example.com",
            EnabledSslProtocols = SslProtocols.Tls12,
            CipherSuitesPolicy = new CipherSuitesPolicy([TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256]),
            ApplicationProtocols = [new SslApplicationProtocol(alpn)],
            RemoteCertificateValidationCallback = static (_, _, _, _) => true,
        }, cts.Token);
        Assert.Equal(alpn, ssl.NegotiatedApplicationProtocol.ToString());
        return ssl;
    }

    private static async Task<byte[]> ReadToCloseAsync(SslStream ssl)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var all = new MemoryStream();
        var buffer = new byte[4096];
        try
        {
            int n;
            while ((n = await ssl.ReadAsync(buffer, cts.Token)) > 0) all.Write(buffer, 0, n);
        }
        catch (IOException)
        {
            // Reset after the last bytes: what arrived is what counts.
        }
        return all.ToArray();
    }

    [Fact]
    public async Task Alpn_h2_without_the_connection_preface_is_closed_and_nothing_is_forwarded()
    {
        var site = _files.Server("site", ["site.example.com"]);
        await using var upstream = new RawUpstream();
        await using var proxy = TestProxy.Start(TlsTerminationTests.Config(upstream.Port, TlsTerminationTests.Entry(site.Cert, site.Key)));

        // An HTTP/1.1 request after choosing h2 (§3.4: the preface is required): the connection closes unanswered.
        var r = await SClient(proxy.Port(), ["-alpn", "h2"], stdin: "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        Assert.Contains("ALPN protocol: h2", r.StdOut);
        Assert.DoesNotContain("HTTP/1.1", r.StdOut);
        Assert.Empty(upstream.Requests);
    }

    [Fact]
    public async Task Nghttp_concurrent_streams_over_tls_are_forwarded_in_parallel()
    {
        // Each response waits 600 ms at the origin: six streams one after another would take 3.6 s.
        int inFlight = 0, maxInFlight = 0;
        await using var origin = await KestrelOrigin.StartAsync(app => app.MapGet("/{name}", async ctx =>
        {
            int now = Interlocked.Increment(ref inFlight);
            int seen;
            while ((seen = Volatile.Read(ref maxInFlight)) < now && Interlocked.CompareExchange(ref maxInFlight, now, seen) != seen) { }
            await Task.Delay(600);
            Interlocked.Decrement(ref inFlight);
            await ctx.Response.WriteAsync($"tls-stream-{ctx.Request.Path.Value![1..]} proto={ctx.Request.Headers["X-Forwarded-Proto"]};");
        }));
        var site = _files.Server("site", ["site.example.com"]);
        await using var proxy = TestProxy.Start(TlsTerminationTests.Config(origin.Port, TlsTerminationTests.Entry(site.Cert, site.Key)));
        string[] urls = Enumerable.Range(1, 6).Select(i => $"https://127.0.0.1:{proxy.Port()}/s{i}").ToArray();

        var clock = Stopwatch.StartNew();
        // nghttp negotiates h2 by ALPN over TLS (it does not verify the certificate); -v shows the frames.
        var r = await Processes.RunAsync("nghttp", ["-v", .. urls], TimeSpan.FromSeconds(30));
        clock.Stop();

        Assert.True(r.ExitCode == 0, r.StdOut + r.StdErr);
        Assert.Contains("The negotiated protocol: h2", r.StdOut);
        for (int i = 1; i <= 6; i++) Assert.Contains($"tls-stream-s{i} proto=https;", r.StdOut);
        Assert.DoesNotContain("PROTOCOL_ERROR", r.StdOut);
        Assert.True(maxInFlight >= 3, $"at most {maxInFlight} requests at the origin at once: streams were not concurrent");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(3.6), $"took {clock.Elapsed}: as long as one after another");
    }

    [Fact]
    public async Task The_client_certificate_subject_reaches_each_h2_streams_exchange()
    {
        var serverCa = _files.Ca("server-ca");
        var site = _files.Server("site", ["site.example.com"], ca: "server-ca");
        var clientCa = _files.Ca("client-ca");
        var alice = _files.Client("alice", "alice", ca: "client-ca");
        using var release = new ManualResetEventSlim();
        await using var upstream = new RawUpstream(_ =>
        {
            release.Wait(TimeSpan.FromSeconds(20));
            return RawUpstream.Ok("held");
        });
        await using var proxy = TestProxy.Start(TlsTerminationTests.Config(upstream.Port,
            TlsTerminationTests.Entry(site.Cert, site.Key, $"client_ca = \"{clientCa}\"")));

        var curl = Curl(proxy.Port(), serverCa, "/held", "--http2", "--cert", alice.Cert, "--key", alice.Key, "-w", " %{http_version}");
        await Wait.UntilAsync(() => upstream.Requests.Count == 1, "the request at the upstream");

        // While the stream's exchange is in flight: the TLS connection and the stream's exchange both carry it.
        var subjects = new List<string>();
        proxy.Host.Services.Heartbeat.ForEach(target =>
        {
            if (target is Http1Connection { ClientCertificateSubject: { } subject }) lock (subjects) subjects.Add(subject);
        });
        release.Set();
        var r = await curl;
        Assert.True(r.ExitCode == 0, r.StdErr);
        Assert.Equal("held 2", r.StdOut);
        Assert.Equal(["CN=alice", "CN=alice"], subjects);
    }

    [Fact]
    [Trait("Category", "Aot")]
    public async Task The_AOT_binary_serves_h2_by_alpn_to_curl_and_h2load()
    {
        var ca = _files.Ca("ca");
        var site = _files.Server("site", ["site.example.com"]);
        await using var upstream = new RawUpstream(r => RawUpstream.Ok("aot-" + r.RequestLine.Split(' ')[1] + " " + r.Header("X-Forwarded-Proto")));
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
            servers = ["127.0.0.1:{{upstream.Port}}"]
            """, out string configPath);
        try
        {
            await proxy.WaitForPortAsync(port);
            var h2 = await Curl(port, ca, "/native", "--http2", "-w", " %{http_version}");
            Assert.True(h2.ExitCode == 0, h2.StdErr + proxy.StdErr);
            Assert.Equal("aot-/native https 2", h2.StdOut);
            var h11 = await Curl(port, ca, "/old", "--http1.1", "-w", " %{http_version}");
            Assert.Equal("aot-/old https 1.1", h11.StdOut);
            var load = await Processes.RunAsync("h2load", ["-n", "200", "-c", "2", "-m", "10", $"https://127.0.0.1:{port}/load"], TimeSpan.FromSeconds(60));
            Assert.True(load.ExitCode == 0, load.StdOut + load.StdErr);
            Assert.Contains("Application protocol: h2", load.StdOut);
            Assert.Contains("200 succeeded, 0 failed, 0 errored", load.StdOut);
        }
        finally
        {
            File.Delete(configPath);
        }
    }

    /// <summary>
    /// openssl s_client to the listener as "site.example.com" unless told otherwise. With <paramref name="stdin"/>, it is
    /// sent after the handshake and s_client waits for the server to close; empty: s_client quits after the handshake.
    /// </summary>
    private static Task<ProcessResult> SClient(int port, IEnumerable<string> options, string stdin)
    {
        var args = new List<string> { "s_client", "-connect", $"127.0.0.1:{port}" };
        if (stdin.Length > 0) args.Add("-ign_eof");
        var given = options.ToList();
        if (!given.Contains("-servername")) args.AddRange(["-servername", "site.example.com"]);
        args.AddRange(given);
        return Processes.RunAsync("openssl", args, TimeSpan.FromSeconds(20), stdin: stdin);
    }
}
