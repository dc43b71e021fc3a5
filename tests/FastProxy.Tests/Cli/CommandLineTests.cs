using System.Net.Sockets;
using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Cli;

/// <summary>The command line of ../shared/spec/proxy-toml.md, run against the native AOT binary.</summary>
public sealed class CommandLineTests
{
    private static Task<ProcessResult> Run(params string[] args)
        => Processes.RunAsync(ProxyProcess.BinaryPath, args, TimeSpan.FromSeconds(20));

    [Fact]
    public async Task Version_prints_the_version()
    {
        var r = await Run("--version");
        Assert.Equal(0, r.ExitCode);
        Assert.Matches(@"^fastproxy \d+\.\d+\.\d+\s*$", r.StdOut);
    }

    [Fact]
    public async Task Check_accepts_the_repository_config()
    {
        var r = await Processes.RunAsync(ProxyProcess.BinaryPath, ["check", "-c", Path.Combine(Processes.RepoRoot, "proxy.toml")]);
        Assert.Equal(0, r.ExitCode);
        Assert.EndsWith("proxy.toml: ok", r.StdOut.Trim());
    }

    [Fact]
    public async Task Check_names_file_line_column_and_key_of_each_problem()
    {
        string path = Path.Combine(Path.GetTempPath(), $"bad-{Guid.NewGuid():N}.toml");
        File.WriteAllText(path, """
            [[listeners]]
            name = "web"
            bind = "127.0.0.1:0"

            [[routes]]
            upstream = "apii"

            [upstreams.api]
            servers = [ { address = "127.0.0.1:9" } ]
            balanse = "round_robin"
            """);
        try
        {
            var r = await Run("check", "-c", path);
            Assert.Equal(2, r.ExitCode);
            var lines = r.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Contains(lines, l => l.StartsWith($"{path}:6:") && l.Contains("routes[0].upstream") && l.Contains("no upstream named \"apii\""));
            Assert.Contains(lines, l => l.StartsWith($"{path}:10:") && l.Contains("balanse") && l.Contains("balance"));
            Assert.DoesNotContain("   at ", r.StdErr); // never a stack trace
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task Check_refuses_what_start_would_refuse()
    {
        // Valid TOML and a valid config, but a feature this build does not have: check must not say ok to it.
        string path = Path.Combine(Path.GetTempPath(), $"unsupported-{Guid.NewGuid():N}.toml");
        File.WriteAllText(path, """
            [[listeners]]
            name = "db"
            bind = "127.0.0.1:0"
            protocol = "tcp"
            upstream = "db"

            [upstreams.db]
            servers = [ { address = "127.0.0.1:9" } ]
            tls = true
            """);
        try
        {
            var check = await Run("check", "-c", path);
            Assert.Equal(2, check.ExitCode);
            Assert.DoesNotContain("ok", check.StdOut);
            var line = Assert.Single(check.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.StartsWith($"{path}:", line);
            Assert.Contains("upstreams.db.tls", line);

            // The same line as start gives.
            var start = await Run("-c", path);
            Assert.Equal(2, start.ExitCode);
            Assert.Contains(line, start.StdErr);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task Run_with_a_missing_config_file_names_it_and_exits_2()
    {
        var r = await Run("-c", "/nonexistent/proxy.toml");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("/nonexistent/proxy.toml", r.StdErr);
        Assert.DoesNotContain("   at ", r.StdErr);
    }

    [Fact]
    public async Task Run_with_a_port_in_use_names_the_listener_and_the_address()
    {
        using var blocker = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        blocker.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0));
        blocker.Listen();
        int port = ((System.Net.IPEndPoint)blocker.LocalEndPoint!).Port;
        string path = Path.Combine(Path.GetTempPath(), $"busy-{Guid.NewGuid():N}.toml");
        File.WriteAllText(path, $$"""
            [[listeners]]
            name = "web"
            bind = "127.0.0.1:{{port}}"
            [[routes]]
            respond = { status = 200, body = "x" }
            """);
        try
        {
            var r = await Run("-c", path);
            Assert.Equal(1, r.ExitCode);
            Assert.Contains($"listener \"web\": cannot bind 127.0.0.1:{port}: address already in use", r.StdErr);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData("bogus")]
    [InlineData("debgu")]
    public async Task A_log_level_that_is_none_is_an_error_naming_the_variable_and_the_levels(string level)
    {
        // A config that would start: the level alone must stop it, before any listener binds.
        string path = Path.Combine(Path.GetTempPath(), $"level-{Guid.NewGuid():N}.toml");
        File.WriteAllText(path, """
            [[listeners]]
            name = "web"
            bind = "127.0.0.1:0"
            [[routes]]
            respond = { status = 200, body = "x" }
            """);
        var environment = new Dictionary<string, string> { ["FASTPROXY_LOG_LEVEL"] = level };
        try
        {
            foreach (string[] args in new[] { new[] { "-c", path }, new[] { "check", "-c", path } })
            {
                var r = await Processes.RunAsync(ProxyProcess.BinaryPath, args, TimeSpan.FromSeconds(20), environment: environment);
                Assert.Equal(2, r.ExitCode);
                Assert.Equal($"fastproxy: FASTPROXY_LOG_LEVEL=\"{level}\" is not a log level; use one of debug, info, warn, error (or leave it unset for info)", r.StdErr.Trim());
                Assert.DoesNotContain("started", r.StdErr);
            }
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData("-c")]
    [InlineData("--config")]
    public async Task A_config_option_without_its_file_says_the_file_argument_is_missing(string option)
    {
        foreach (string[] args in new[] { new[] { option }, new[] { "check", option } })
        {
            var r = await Run(args);
            Assert.Equal(2, r.ExitCode);
            Assert.StartsWith($"fastproxy: {option} needs a FILE argument: the configuration file, e.g. {option} proxy.toml\n", r.StdErr);
            Assert.Contains("usage:", r.StdErr);
        }
    }

    [Fact]
    public async Task A_relative_config_file_that_does_not_exist_is_named_with_where_it_was_looked_for()
    {
        // ProxyProcess runs in the repository root; so does this.
        var r = await Processes.RunAsync("/bin/sh", ["-c", $"cd '{Processes.RepoRoot}' && exec '{ProxyProcess.BinaryPath}' -c missing.toml"], TimeSpan.FromSeconds(20));
        Assert.Equal(2, r.ExitCode);
        Assert.Equal($"missing.toml: cannot read file: the file does not exist (looked for {Path.Combine(Processes.RepoRoot, "missing.toml")})", r.StdErr.Trim());
    }

    [Fact]
    public async Task Unknown_argument_is_a_usage_error()
    {
        var r = await Run("--frobnicate");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("unknown argument \"--frobnicate\"", r.StdErr);
        Assert.Contains("usage:", r.StdErr);
    }
}
