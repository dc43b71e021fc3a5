using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.StaticFiles;

/// <summary>
/// Large files are streamed: a 50 MB file goes out in pooled 64 KiB reads, so the proxy allocates a small fraction of
/// it while sending (it never reads the file into memory), and a client that reads part of it and goes away costs nothing more.
/// Measured for the whole process, so alone (NonParallel).
/// </summary>
[Collection(NonParallel.Name)]
public sealed class StaticLargeFileTests : IDisposable
{
    private const int Size = 50 * 1024 * 1024;
    private readonly StaticTree _tree = new();

    public StaticLargeFileTests()
    {
        using var file = File.Create(Path.Combine(_tree.Root, "big.bin"));
        var block = new byte[1024 * 1024];
        for (int i = 0; i < block.Length; i++) block[i] = (byte)(i * 7);
        for (int i = 0; i < Size / block.Length; i++) file.Write(block);
    }

    public void Dispose() => _tree.Dispose();

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_50_MB_file_streams_without_being_read_into_memory(bool h2)
    {
        await using var proxy = TestProxy.Start(_tree.Config());
        // Warm up (JIT, pools), then measure one whole download.
        await Processes.CurlAsync(h2 ? "--http2-prior-knowledge" : "--http1.1", "-o", "/dev/null", proxy.Url("/hello.txt").ToString());
        long before = GC.GetTotalAllocatedBytes(precise: true);
        var result = await Processes.CurlAsync(h2 ? "--http2-prior-knowledge" : "--http1.1", "-o", "/dev/null", "-w", "%{http_code} %{size_download}",
            proxy.Url("/big.bin").ToString());
        long allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
        Assert.Equal(0, result.ExitCode);
        Assert.Equal($"200 {Size}", result.StdOut);
        // Reading it whole would be 50 MB at least; streaming through pooled buffers costs a few hundred KB at most
        // (the test's own process handling included).
        Assert.True(allocated < 4 * 1024 * 1024, $"{allocated} bytes allocated while sending a {Size}-byte file");
    }

    [Fact]
    public async Task A_range_of_a_large_file_reads_only_that_range()
    {
        await using var proxy = TestProxy.Start(_tree.Config());
        var result = await Processes.CurlAsync("--http1.1", "-H", "Range: bytes=40000000-40000009", "-o", Path.Combine(_tree.Base, "part"), "-w", "%{http_code}",
            proxy.Url("/big.bin").ToString());
        Assert.Equal("206", result.StdOut);
        var part = await File.ReadAllBytesAsync(Path.Combine(_tree.Base, "part"));
        Assert.Equal(Enumerable.Range(40000000, 10).Select(i => (byte)((i % (1024 * 1024)) * 7)).ToArray(), part);
    }
}
