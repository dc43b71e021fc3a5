using System.Diagnostics;
using System.Text;
using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.StaticFiles;

/// <summary>
/// Nothing outside a static route's root is ever served, nor a hidden file, a FIFO or a device: each attempt is sent as
/// raw bytes (no client normalises it first) and must be answered 404 without a byte of the files next to the root;
/// the same over h2c with curl --path-as-is.
/// </summary>
public sealed class StaticTraversalTests : IDisposable
{
    private readonly StaticTree _tree = new();

    public void Dispose() => _tree.Dispose();

    public static TheoryData<string> Attempts => new()
    {
        "/../secret.txt",
        "/../../../../../../etc/passwd",
        "/docs/../../secret.txt",
        "/..%2fsecret.txt",
        "/..%2Fsecret.txt",
        "/%2e%2e/secret.txt",
        "/%2E%2e/secret.txt",
        "/%2e%2e%2fsecret.txt",
        "/docs/%2e%2e/%2e%2e/secret.txt",
        "/..%5csecret.txt",
        "/%5c..%5csecret.txt",
        "/hello.txt%00",
        "/hello.txt%00.html",
        "/%c0%ae%c0%ae/secret.txt",
        "/%c0%ae%c0%ae%c0%afsecret.txt",
        "/%e0%80%ae%e0%80%ae/secret.txt",
        "/link-out",
        "/abs-link-out",
        "/dirlink-out/inner.txt",
        "/dirlink-out/",
        "/.env",
        "/%2eenv",
        "/.git/config",
        "/%2egit/config",
        "/link-to-dotenv",
        "/fifo",
        "//secret.txt",
        "/%2fetc/passwd",
        "/%2Fetc%2Fpasswd",
    };

    [Theory]
    [MemberData(nameof(Attempts))]
    public async Task Raw_attempts_get_404_and_nothing_from_outside(string path)
    {
        await using var proxy = TestProxy.Start(_tree.Config());
        using var client = new RawClient(proxy.Port());
        var started = Stopwatch.StartNew();
        client.Send($"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n");
        var response = await client.ReadResponseAsync(TimeSpan.FromSeconds(10));
        Assert.StartsWith("HTTP/1.1 404 ", response);
        AssertNothingLeaked(response);
        Assert.True(started.Elapsed < TimeSpan.FromSeconds(9), "a FIFO must not make the proxy wait for a writer");
    }

    [Theory]
    [InlineData("/..\\secret.txt")]
    [InlineData("/\\..\\secret.txt")]
    public async Task Raw_backslashes_are_refused(string path)
    {
        // The request parser may refuse a raw '\' itself (400); either way nothing is served.
        await using var proxy = TestProxy.Start(_tree.Config());
        using var client = new RawClient(proxy.Port());
        client.Send($"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n");
        var response = await client.ReadResponseAsync(TimeSpan.FromSeconds(10));
        Assert.Matches("^HTTP/1.1 40[04] ", response);
        AssertNothingLeaked(response);
    }

    [Fact]
    public async Task The_alias_trap_a_prefix_without_slash_does_not_open_the_parent()
    {
        await using var proxy = TestProxy.Start(_tree.Config(match: "path_prefix = \"/assets\""));
        foreach (var path in new[] { "/assets../secret.txt", "/assets%2e%2e/secret.txt", "/assets..%2fsecret.txt" })
        {
            using var client = new RawClient(proxy.Port());
            client.Send($"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n");
            var response = await client.ReadResponseAsync(TimeSpan.FromSeconds(10));
            Assert.StartsWith("HTTP/1.1 404 ", response);
            AssertNothingLeaked(response);
        }
    }

    [Fact]
    public async Task Over_h2_the_same_attempts_get_404()
    {
        await using var proxy = TestProxy.Start(_tree.Config());
        foreach (var path in new[] { "/../secret.txt", "/%2e%2e/secret.txt", "/..%2fsecret.txt", "/link-out", "/dirlink-out/inner.txt", "/.env", "/fifo", "/hello.txt%00" })
        {
            var result = await Processes.CurlAsync("-i", "--path-as-is", "--http2-prior-knowledge", $"http://127.0.0.1:{proxy.Port()}{path}");
            Assert.Equal(0, result.ExitCode);
            Assert.StartsWith("HTTP/2 404", result.StdOut);
            AssertNothingLeaked(result.StdOut);
        }
    }

    [Fact]
    public async Task A_link_swapped_to_point_outside_is_refused_once_the_cache_entry_expires()
    {
        var link = Path.Combine(_tree.Root, "swap");
        File.CreateSymbolicLink(link, "hello.txt");
        await using var proxy = TestProxy.Start(_tree.Config());
        Assert.Contains("hello static", await GetRawAsync(proxy, "/swap"));
        File.Delete(link);
        File.CreateSymbolicLink(link, Path.Combine("..", "secret.txt"));
        // The open-file cache keeps an entry for a second (StaticSite.ValidMs); past it the link is resolved again.
        await Task.Delay(TimeSpan.FromMilliseconds(1500));
        var response = await GetRawAsync(proxy, "/swap");
        Assert.StartsWith("HTTP/1.1 404 ", response);
        AssertNothingLeaked(response);
    }

    private static async Task<string> GetRawAsync(TestProxy proxy, string path)
    {
        using var client = new RawClient(proxy.Port());
        client.Send($"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n");
        return await client.ReadResponseAsync(TimeSpan.FromSeconds(10));
    }

    private static void AssertNothingLeaked(string response)
    {
        Assert.DoesNotContain(StaticTree.Secret, response);
        Assert.DoesNotContain(StaticTree.OutsideDirMarker, response);
        Assert.DoesNotContain(StaticTree.DotenvMarker, response);
        Assert.DoesNotContain(StaticTree.GitMarker, response);
        Assert.DoesNotContain("root:x:0", response);
    }
}
