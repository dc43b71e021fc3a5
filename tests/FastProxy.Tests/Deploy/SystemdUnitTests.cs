using System.Globalization;
using FastProxy.Configuration;
using FastProxy.Tests.Infrastructure;
using Xunit.Abstractions;

namespace FastProxy.Tests.Deploy;

/// <summary>
/// deploy/systemd/fastproxy.service (docs/operations.md): systemd accepts it (systemd-analyze verify, installed by
/// scripts/deps.sh for the tests), and it says what running the proxy needs: the signals it handles, a stop timeout
/// above its drain, file descriptors, and the hardening the docs promise.
/// </summary>
public sealed class SystemdUnitTests(ITestOutputHelper output)
{
    private static string UnitPath => Path.Combine(Processes.RepoRoot, "deploy", "systemd", "fastproxy.service");

    private const string InstalledBinary = "/usr/local/bin/fastproxy";

    [Fact]
    public void The_unit_handles_the_proxys_signals_exit_codes_and_drain()
    {
        var service = Section(File.ReadAllText(UnitPath), "Service");

        // The binary does not speak sd_notify: Type=notify would wait for a READY=1 that never comes.
        string type = Single(service, "Type");
        bool notifies = Directory.GetFiles(Path.Combine(Processes.RepoRoot, "src"), "*.cs", SearchOption.AllDirectories)
            .Any(f => File.ReadAllText(f).Contains("NOTIFY_SOCKET", StringComparison.Ordinal));
        Assert.Equal(notifies ? "notify" : "exec", type);

        Assert.Equal($"{InstalledBinary} -c /etc/fastproxy/proxy.toml", Single(service, "ExecStart"));
        Assert.Contains("/bin/kill -HUP $MAINPID", service["ExecReload"]);
        Assert.Equal("SIGTERM", Single(service, "KillSignal"));
        Assert.Contains("2", Single(service, "RestartPreventExitStatus").Split(' '));

        // systemd must not SIGKILL the drain: its stop timeout is above the shutdown_timeout of the proxy.toml the
        // unit is installed with (this repository's), and above the default.
        var stop = Seconds(Single(service, "TimeoutStopSec"));
        var config = ConfigLoader.Load(Path.Combine(Processes.RepoRoot, "proxy.toml"));
        Assert.True(config.Success, string.Join("\n", config.Errors));
        Assert.True(stop > config.Config!.Global.ShutdownTimeout.TotalSeconds, $"TimeoutStopSec {stop}s is not above shutdown_timeout");
        Assert.True(stop > new GlobalConfig().ShutdownTimeout.TotalSeconds);

        Assert.True(long.Parse(Single(service, "LimitNOFILE"), CultureInfo.InvariantCulture) >= 65536);
    }

    [Fact]
    public void The_unit_is_hardened_as_documented()
    {
        var service = Section(File.ReadAllText(UnitPath), "Service");

        Assert.True(Single(service, "DynamicUser") == "yes" || service.ContainsKey("User"), "runs as root");
        Assert.Equal("yes", Single(service, "NoNewPrivileges"));
        Assert.Equal("strict", Single(service, "ProtectSystem"));
        Assert.Equal("CAP_NET_BIND_SERVICE", Single(service, "CapabilityBoundingSet"));
        Assert.Equal("CAP_NET_BIND_SERVICE", Single(service, "AmbientCapabilities"));
        Assert.Contains("/etc/fastproxy", Single(service, "ReadOnlyPaths").Split(' '));
    }

    [Fact]
    public async Task Systemd_analyze_verify_accepts_the_unit()
    {
        if (!SystemdAnalyzeInstalled())
        {
            // ./test.sh installs it (scripts/deps.sh); the two tests above still check the unit's content.
            output.WriteLine("systemd-analyze is not installed: the unit was checked by parsing only");
            return;
        }
        var result = await Verify(File.ReadAllText(UnitPath));
        Assert.True(result.ExitCode == 0 && result.StdErr.Trim().Length == 0, $"exit {result.ExitCode}: {result.StdErr}");
    }

    [Fact]
    public async Task Systemd_analyze_verify_reports_a_key_systemd_does_not_know()
    {
        // The check above must be able to fail: a misspelt key is only a warning to systemd, on stderr.
        if (!SystemdAnalyzeInstalled())
        {
            output.WriteLine("systemd-analyze is not installed");
            return;
        }
        var broken = File.ReadAllText(UnitPath).Replace("KillSignal=SIGTERM", "KillSignall=SIGTERM", StringComparison.Ordinal);
        var result = await Verify(broken);
        Assert.Contains("KillSignall", result.StdErr);
    }

    private static bool SystemdAnalyzeInstalled() =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Any(d => d.Length > 0 && File.Exists(Path.Combine(d, "systemd-analyze")));

    /// <summary>
    /// systemd-analyze verify on a copy of the unit whose commands point at this build's binary: verify also checks
    /// that each command is an executable file, and nothing is installed in /usr/local/bin on a test machine.
    /// </summary>
    private static async Task<ProcessResult> Verify(string unit)
    {
        string dir = Path.Combine(Path.GetTempPath(), $"fastproxy-unit-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        try
        {
            string path = Path.Combine(dir, "fastproxy.service");
            File.WriteAllText(path, unit.Replace(InstalledBinary, ProxyProcess.BinaryPath, StringComparison.Ordinal));
            return await Processes.RunAsync("systemd-analyze", ["verify", path], TimeSpan.FromSeconds(60));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>The keys of one [Section] of a unit file, each with its values in order (a key may repeat).</summary>
    private static Dictionary<string, List<string>> Section(string unit, string name)
    {
        var keys = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        string? current = null;
        foreach (var raw in unit.Split('\n'))
        {
            string line = raw.Trim();
            if (line.Length == 0 || line[0] is '#' or ';') continue;
            if (line[0] == '[')
            {
                current = line.Trim('[', ']');
                continue;
            }
            int equals = line.IndexOf('=');
            if (current != name || equals < 0) continue;
            string key = line[..equals].Trim();
            if (!keys.TryGetValue(key, out var values)) keys[key] = values = [];
            values.Add(line[(equals + 1)..].Trim());
        }
        Assert.NotEmpty(keys);
        return keys;
    }

    private static string Single(Dictionary<string, List<string>> section, string key)
    {
        Assert.True(section.TryGetValue(key, out var values), $"{key}= is missing");
        return Assert.Single(values!);
    }

    /// <summary>"45s", "2min", "90" (seconds) as seconds.</summary>
    private static double Seconds(string value) => value switch
    {
        _ when value.EndsWith("min", StringComparison.Ordinal) => double.Parse(value[..^3], CultureInfo.InvariantCulture) * 60,
        _ when value.EndsWith('s') => double.Parse(value[..^1], CultureInfo.InvariantCulture),
        _ => double.Parse(value, CultureInfo.InvariantCulture),
    };
}
