using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace FastProxy.Tests.Infrastructure;

/// <summary>
/// A real redis-server (Debian package) on a free loopback port, started by the test and stopped by it: no save, no
/// AOF, nothing written outside a temporary directory. Can be killed (SIGKILL), frozen (SIGSTOP: a stalled server
/// that keeps its connections), thawed, and started again on the same port. Inspected with redis-cli.
/// </summary>
public sealed class RedisServer : IAsyncDisposable
{
    private readonly string _dir;
    private readonly bool _appendOnly;
    private Process? _process;

    private RedisServer(int port, bool appendOnly)
    {
        Port = port;
        _appendOnly = appendOnly;
        _dir = Directory.CreateTempSubdirectory("fastproxy-redis-").FullName;
    }

    public int Port { get; }

    public string Address => $"127.0.0.1:{Port}";

    /// <param name="appendOnly">AOF on (in a temporary directory): the data survives <see cref="RestartAsync"/> after a kill.</param>
    public static async Task<RedisServer> StartAsync(bool appendOnly = false)
    {
        var server = new RedisServer(ProxyProcess.FreePort(), appendOnly);
        await server.StartProcessAsync();
        return server;
    }

    private async Task StartProcessAsync()
    {
        var psi = new ProcessStartInfo("redis-server")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = _dir,
        };
        foreach (var arg in new[] { "--port", Port.ToString(), "--bind", "127.0.0.1", "--save", "", "--appendonly", _appendOnly ? "yes" : "no",
                     "--appendfsync", "always", "--dir", _dir, "--protected-mode", "no", "--loglevel", "warning" })
        {
            psi.ArgumentList.Add(arg);
        }
        _process = Process.Start(psi)!;
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            if (_process.HasExited) throw new InvalidOperationException($"redis-server on port {Port} exited with {_process.ExitCode}");
            if (await PingAsync()) return;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"redis-server on port {Port} did not answer PING");
            await Task.Delay(20);
        }
    }

    private async Task<bool> PingAsync()
    {
        try
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(1));
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, Port), cts.Token);
            await socket.SendAsync(Encoding.ASCII.GetBytes("PING\r\n"), cts.Token);
            var buffer = new byte[16];
            int n = await socket.ReceiveAsync(buffer, cts.Token);
            return Encoding.ASCII.GetString(buffer, 0, n).StartsWith("+PONG", StringComparison.Ordinal);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>SIGKILL: connections reset, nothing answers on the port until <see cref="RestartAsync"/>.</summary>
    public void Kill()
    {
        if (_process is null) return;
        try { _process.Kill(); } catch (InvalidOperationException) { }
        _process.WaitForExit(5000);
        _process.Dispose();
        _process = null;
    }

    /// <summary>SIGSTOP: the server keeps its sockets but answers nothing (a stalled Redis).</summary>
    public Task FreezeAsync() => Processes.RunAsync("kill", ["-STOP", _process!.Id.ToString()]);

    public Task ThawAsync() => Processes.RunAsync("kill", ["-CONT", _process!.Id.ToString()]);

    /// <summary>Starts again on the same port (after <see cref="Kill"/>).</summary>
    public Task RestartAsync()
    {
        Kill();
        return StartProcessAsync();
    }

    /// <summary>One redis-cli command; its output (--no-raw off: plain values, one a line).</summary>
    public async Task<string> CliAsync(params string[] args)
    {
        var result = await Processes.RunAsync("redis-cli", ["-p", Port.ToString(), .. args], TimeSpan.FromSeconds(20));
        if (result.ExitCode != 0) throw new InvalidOperationException($"redis-cli {string.Join(' ', args)}: {result.StdErr}");
        return result.StdOut.TrimEnd('\n');
    }

    /// <summary>Every key (SCAN, not KEYS) with its PTTL in milliseconds (-1: no expiry).</summary>
    public async Task<Dictionary<string, long>> KeysWithTtlAsync()
    {
        var keys = new List<string>();
        string cursor = "0";
        for (int round = 0; round < 10_000; round++)
        {
            var lines = (await CliAsync("SCAN", cursor, "COUNT", "1000")).Split('\n');
            cursor = lines[0];
            keys.AddRange(lines.Skip(1).Where(l => l.Length > 0));
            if (cursor == "0") break;
        }
        var ttls = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var key in keys.Distinct())
        {
            ttls[key] = long.Parse(await CliAsync("PTTL", key));
        }
        return ttls;
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is not null)
        {
            try { await ThawAsync(); } catch (Exception) { }
        }
        Kill();
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }
}
