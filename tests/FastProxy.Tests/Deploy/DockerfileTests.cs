using System.Text.RegularExpressions;
using FastProxy.Configuration;
using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Deploy;

/// <summary>
/// The Dockerfile at the repository root, read as text: Docker is not available where the tests run, so the image is
/// never built here. What is checked is what a review would: two stages, the AOT publish that ./test.sh runs, a small
/// non-root run stage with the signal and entry point the proxy needs, a .dockerignore that keeps build outputs out,
/// and a starting configuration that loads.
/// </summary>
public sealed class DockerfileTests
{
    private static string Root => Processes.RepoRoot;

    /// <summary>Instructions with continuation lines joined and comments dropped.</summary>
    private static List<(string Op, string Args)> Instructions(string text)
    {
        var joined = Regex.Replace(text, @"\\\r?\n", " ");
        var list = new List<(string, string)>();
        foreach (var raw in joined.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#')) continue;
            int space = line.IndexOf(' ');
            list.Add((line[..space].ToUpperInvariant(), Regex.Replace(line[(space + 1)..], @"\s+", " ").Trim()));
        }
        return list;
    }

    private static List<List<(string Op, string Args)>> Stages(List<(string Op, string Args)> instructions)
    {
        var stages = new List<List<(string, string)>>();
        foreach (var instruction in instructions)
        {
            if (instruction.Op == "FROM") stages.Add([]);
            Assert.True(stages.Count > 0, $"{instruction.Op} before the first FROM");
            stages[^1].Add(instruction);
        }
        return stages;
    }

    [Fact]
    public void It_builds_the_AOT_binary_in_the_sdk_and_runs_it_in_a_small_image_as_a_non_root_user()
    {
        var stages = Stages(Instructions(File.ReadAllText(Path.Combine(Root, "Dockerfile"))));
        Assert.Equal(2, stages.Count);
        var (build, run) = (stages[0], stages[1]);

        Assert.Equal("mcr.microsoft.com/dotnet/sdk:10.0 AS build", build[0].Args);
        var install = Assert.Single(build, i => i.Op == "RUN" && i.Args.Contains("apt-get install")).Args;
        Assert.Contains(" clang ", install + " ");
        Assert.Contains(" zlib1g-dev ", install + " ");

        // The publish is ./test.sh's, word for word: the image holds the binary the tests test.
        var testPublish = File.ReadAllLines(Path.Combine(Root, "test.sh")).Single(l => l.StartsWith("dotnet publish ", StringComparison.Ordinal)).Trim();
        var publish = Assert.Single(build, i => i.Op == "RUN" && i.Args.Contains("dotnet publish")).Args;
        Assert.Contains(testPublish, publish);
        Assert.Contains("<PublishAot>true</PublishAot>", File.ReadAllText(Path.Combine(Root, "src", "FastProxy", "FastProxy.csproj")));

        var from = run[0].Args;
        Assert.Matches(@"^(mcr\.microsoft\.com/dotnet/runtime-deps:10\.0|debian:\d+-slim)( AS \w+)?$", from);
        var copy = Assert.Single(run, i => i.Op == "COPY" && i.Args.StartsWith("--from=build", StringComparison.Ordinal)).Args;
        Assert.Equal("--from=build /src/artifacts/fastproxy /usr/local/bin/fastproxy", copy);

        // Not root: the last USER of the run stage names a user other than root/0.
        var user = run.Last(i => i.Op == "USER").Args;
        Assert.DoesNotMatch(@"^(root|0)(:|$)", user);
        Assert.True(run.FindLastIndex(i => i.Op == "USER") > run.FindLastIndex(i => i.Op == "RUN"), "a RUN after USER would run as that user, one before it as root: USER comes last");

        Assert.Equal("SIGTERM", Assert.Single(run, i => i.Op == "STOPSIGNAL").Args);
        Assert.Equal("[\"/usr/local/bin/fastproxy\", \"-c\", \"/etc/fastproxy/proxy.toml\"]", Assert.Single(run, i => i.Op == "ENTRYPOINT").Args);
        var exposed = Assert.Single(run, i => i.Op == "EXPOSE").Args.Split(' ');
        Assert.Contains("8080", exposed);
        Assert.Contains("9901", exposed);
    }

    [Fact]
    public void What_the_Dockerfile_copies_exists_and_the_dockerignore_keeps_build_outputs_out()
    {
        var instructions = Instructions(File.ReadAllText(Path.Combine(Root, "Dockerfile")));
        var ignore = File.ReadAllLines(Path.Combine(Root, ".dockerignore")).Select(l => l.Trim()).Where(l => l.Length > 0 && !l.StartsWith('#')).ToList();
        foreach (var (op, args) in instructions.Where(i => i.Op == "COPY" && !i.Args.StartsWith("--from", StringComparison.Ordinal)))
        {
            var sources = args.Split(' ')[..^1];
            foreach (var source in sources)
            {
                Assert.True(File.Exists(Path.Combine(Root, source)) || Directory.Exists(Path.Combine(Root, source)), $"{op} {source}: not in the repository");
                Assert.DoesNotContain(ignore, pattern => source.StartsWith(pattern.TrimEnd('/'), StringComparison.Ordinal));
            }
        }
        foreach (var output in new[] { "**/bin/", "**/obj/", "artifacts/", ".git/", "tests/" }) Assert.Contains(output, ignore);
    }

    [Fact]
    public void The_images_starting_configuration_loads_and_only_warns_about_the_reachable_admin_listener()
    {
        var result = ConfigLoader.Load(Path.Combine(Root, "deploy", "docker", "proxy.toml"));
        Assert.True(result.Success, string.Join("\n", result.Errors));
        var warning = Assert.Single(result.Warnings);
        Assert.Contains("admin.bind: 0.0.0.0:9901 is not a loopback address", warning.ToString());
        Assert.Equal("0.0.0.0:8080", Assert.Single(result.Config!.Listeners).Bind);
        Assert.True(result.Config.Global.ShutdownTimeout < TimeSpan.FromSeconds(45), "docs/operations.md tells docker stop -t 45");
    }

    [Fact]
    public void The_systemd_unit_lets_the_access_log_be_written_and_reopened()
    {
        // ProtectSystem=strict makes the file system read-only: an access log file needs a writable directory of its
        // own, which LogsDirectory creates (/var/log/fastproxy, owned by the service's user).
        var unit = File.ReadAllText(Path.Combine(Root, "deploy", "systemd", "fastproxy.service"));
        Assert.Matches(@"(?m)^LogsDirectory=fastproxy$", unit);
        Assert.Contains("SIGUSR1", unit);
    }
}
