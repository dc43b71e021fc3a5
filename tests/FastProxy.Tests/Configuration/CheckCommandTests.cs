using FastProxy.Configuration;

namespace FastProxy.Tests.Configuration;

public sealed class CheckCommandTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("fastproxy-config-check-");

    public void Dispose() => _dir.Delete(recursive: true);

    private string Write(string text)
    {
        var path = Path.Combine(_dir.FullName, "proxy.toml");
        File.WriteAllText(path, text);
        return path;
    }

    private static (int Exit, string Out, string Err) Run(string path)
    {
        var stdout = new StringWriter { NewLine = "\n" };
        var stderr = new StringWriter { NewLine = "\n" };
        var exit = CheckCommand.Run(path, stdout, stderr);
        return (exit, stdout.ToString(), stderr.ToString());
    }

    [Fact]
    public void ValidFile_ExitsZero_AndSaysOk()
    {
        var path = Write(ConfigText.Minimal);

        Assert.Equal((0, $"{path}: ok\n", ""), Run(path));
    }

    [Fact]
    public void Warnings_ArePrefixed_OnePerLine()
    {
        var path = Write(ConfigText.Minimal + """


            [upstreams.spare]
            servers = ["127.0.0.1:9001"]
            """);

        Assert.Equal((0, $"{path}: ok\n", $"warning: {path}:8:1: upstreams.spare: not used by any route or listener\n"), Run(path));
    }

    [Fact]
    public void InvalidFile_ExitsTwo_OneLinePerProblem()
    {
        var path = Write("""
            [[listeners]]
            name = "web"
            bind = "127.0.0.1:0"
            protocl = "http"

            [[routes]]
            upstream = "api"
            """);

        var (exit, stdout, stderr) = Run(path);

        Assert.Equal(2, exit);
        Assert.Equal("", stdout);
        Assert.Equal(
            $"{path}:4:1: listeners[0].protocl: unknown key (did you mean \"protocol\"?)\n" +
            $"{path}:7:12: routes[0].upstream: no upstream named \"api\" (known: none)\n",
            stderr);
    }

    [Fact]
    public void MissingFile_ExitsTwo_OneLine()
    {
        var path = Path.Combine(_dir.FullName, "absent.toml");

        Assert.Equal((2, "", $"{path}: cannot read file: the file does not exist\n"), Run(path));
    }

    [Fact]
    public void SyntaxError_ExitsTwo_NoStackTrace()
    {
        var path = Write("[[listeners]\nname = \"web\"\n");

        var (exit, _, stderr) = Run(path);

        Assert.Equal(2, exit);
        Assert.StartsWith($"{path}:1:", stderr);
        Assert.DoesNotContain("   at ", stderr);
    }
}
