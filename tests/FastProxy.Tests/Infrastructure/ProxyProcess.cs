using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace FastProxy.Tests.Infrastructure;

/// <summary>
/// The proxy as users run it: a separate process started from the native AOT binary (artifacts/fastproxy, built
/// by ./test.sh), for what only a process can show: exit codes, signals, start-up time.
/// </summary>
public sealed class ProxyProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stderr = new();
    private readonly StringBuilder _stdout = new();

    private ProxyProcess(Process process)
    {
        _process = process;
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_stderr) _stderr.AppendLine(e.Data); };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_stdout) _stdout.AppendLine(e.Data); };
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
    }

    /// <summary>The AOT binary; tests that need the real binary fail with instructions when it was not built.</summary>
    public static string BinaryPath
    {
        get
        {
            string path = Path.Combine(Processes.RepoRoot, "artifacts", "fastproxy");
            if (!File.Exists(path))
                throw new InvalidOperationException($"{path} is missing: run ./test.sh, which publishes the native AOT binary before testing");
            return path;
        }
    }

    public int Id => _process.Id;

    public string StdErr { get { lock (_stderr) return _stderr.ToString(); } }

    public string StdOut { get { lock (_stdout) return _stdout.ToString(); } }

    public bool HasExited => _process.HasExited;

    public static ProxyProcess Start(params string[] args) => Start(null, args);

    /// <param name="environment">Variables set for the process (FASTPROXY_LOG_LEVEL, say), on top of the test's own.</param>
    public static ProxyProcess Start(IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        var psi = new ProcessStartInfo(BinaryPath)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
            WorkingDirectory = Processes.RepoRoot,
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        if (environment is not null)
        {
            foreach (var (name, value) in environment) psi.Environment[name] = value;
        }
        return new ProxyProcess(Process.Start(psi)!);
    }

    /// <summary>Writes a config to a temp file and starts the proxy on it.</summary>
    public static ProxyProcess StartWithConfig(string toml, out string configPath, IReadOnlyDictionary<string, string>? environment = null)
    {
        configPath = Path.Combine(Path.GetTempPath(), $"fastproxy-test-{Guid.NewGuid():N}.toml");
        File.WriteAllText(configPath, toml);
        return Start(environment, "-c", configPath);
    }

    /// <summary>Waits until a TCP connect to the port succeeds.</summary>
    public async Task WaitForPortAsync(int port, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(10));
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited) throw new InvalidOperationException($"proxy exited with {_process.ExitCode}: {StdErr}");
            try
            {
                using var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                await s.ConnectAsync("127.0.0.1", port);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(10);
            }
        }
        throw new TimeoutException($"proxy did not listen on {port}: {StdErr}");
    }

    public Task SignalAsync(string signal) => Processes.RunAsync("kill", [$"-{signal}", _process.Id.ToString()]);

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }

    /// <summary>A free loopback port (bound, read, released: good enough for a test that binds it next).</summary>
    public static int FreePort()
    {
        using var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        s.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0));
        return ((System.Net.IPEndPoint)s.LocalEndPoint!).Port;
    }
}
