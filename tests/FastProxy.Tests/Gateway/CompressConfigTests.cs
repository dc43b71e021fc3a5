using FastProxy.Configuration;
using FastProxy.Tests.Configuration;

namespace FastProxy.Tests.Gateway;

/// <summary>type = "compress" as `fastproxy check` sees it: defaults, encodings, types, levels, file:line:col errors.</summary>
public sealed class CompressConfigTests
{
    // Minimal is 6 lines; [policies.c] is line 8, type line 9, the first key line 10.
    private static string With(string keys) => ConfigText.Minimal + "\n\n[policies.c]\ntype = \"compress\"\n" + keys + "\n";

    [Fact]
    public void Defaults_are_br_then_gzip_1KiB_and_the_usual_text_types()
    {
        var options = Assert.IsType<CompressOptions>(Assert.Single(ConfigText.Load(With("")).Policies).Options);
        Assert.Equal([CompressEncoding.Brotli, CompressEncoding.Gzip], options.Encodings);
        Assert.Equal(1024, options.MinSize);
        Assert.Contains("text/*", options.Types);
        Assert.Contains("application/json", options.Types);
        Assert.Contains("image/svg+xml", options.Types);
        Assert.Equal(6, options.GzipLevel);
        Assert.Equal(4, options.BrotliLevel);
        Assert.Equal(3, options.ZstdLevel);
    }

    [Fact]
    public void Zstd_is_offered_when_listed_in_the_servers_order_with_its_own_level()
    {
        var options = Assert.IsType<CompressOptions>(Assert.Single(ConfigText.Load(With("""
            encodings = ["zstd", "br", "gzip"]
            level = { zstd = 19, gzip = 5 }
            """)).Policies).Options);
        Assert.Equal([CompressEncoding.Zstd, CompressEncoding.Brotli, CompressEncoding.Gzip], options.Encodings);
        Assert.Equal(19, options.ZstdLevel);
        Assert.Equal(5, options.GzipLevel);
        Assert.Equal(4, options.BrotliLevel);

        var one = Assert.IsType<CompressOptions>(Assert.Single(ConfigText.Load(With("encodings = [\"gzip\", \"zstd\"]\nlevel = 7")).Policies).Options);
        Assert.Equal([CompressEncoding.Gzip, CompressEncoding.Zstd], one.Encodings);
        Assert.Equal(7, one.ZstdLevel);
    }

    [Fact]
    public void Keys_are_read()
    {
        var options = Assert.IsType<CompressOptions>(Assert.Single(ConfigText.Load(With("""
            encodings = ["gzip"]
            min_size = "256B"
            types = ["Application/X-NDJSON", "text/*"]
            level = { gzip = 9, br = 11 }
            """)).Policies).Options);
        Assert.Equal([CompressEncoding.Gzip], options.Encodings);
        Assert.Equal(256, options.MinSize);
        Assert.Equal(["application/x-ndjson", "text/*"], options.Types);
        Assert.Equal(9, options.GzipLevel);
        Assert.Equal(11, options.BrotliLevel);

        var one = Assert.IsType<CompressOptions>(Assert.Single(ConfigText.Load(With("level = 3")).Policies).Options);
        Assert.Equal(3, one.GzipLevel);
        Assert.Equal(3, one.BrotliLevel);
    }

    [Theory]
    [InlineData("encodings = [\"deflate\"]", "proxy.toml:10:14: policies.c.encodings[0]: unknown encoding \"deflate\" (known: \"zstd\", \"br\", \"gzip\")")]
    [InlineData("encodings = [\"zstd\", \"zstd\"]", "proxy.toml:10:22: policies.c.encodings[1]: \"zstd\" is listed twice")]
    [InlineData("encodings = [\"br\", \"br\"]", "policies.c.encodings[1]: \"br\" is listed twice")]
    [InlineData("encodings = []", "proxy.toml:10:13: policies.c.encodings: must list at least one encoding")]
    [InlineData("types = [\"text\"]", "policies.c.types[0]: \"text\" is not a media type: expected \"type/subtype\" or \"type/*\" (no parameters)")]
    [InlineData("types = [\"text/html; charset=utf-8\"]", "is not a media type")]
    [InlineData("types = [\"*/*\"]", "is not a media type")]
    [InlineData("types = [\"text/event-stream\"]", "policies.c.types[0]: \"text/event-stream\" is never compressed")]
    [InlineData("types = [\"application/grpc+proto\"]", "is never compressed")]
    [InlineData("level = 10", "proxy.toml:10:9: policies.c.level: ")]
    [InlineData("level = { br = 12 }", "policies.c.level.br: ")]
    [InlineData("level = { zstd = 20 }", "proxy.toml:10:18: policies.c.level.zstd: ")]
    [InlineData("level = { zstd = 0 }", "policies.c.level.zstd: ")]
    [InlineData("level = { lz4 = 3 }", "proxy.toml:10:11: policies.c.level.lz4: unknown")]
    [InlineData("min_size = 1024", "policies.c.min_size: expected a size string such as \"16KiB\"")]
    [InlineData("gzip_level = 5", "proxy.toml:10:1: policies.c.gzip_level: unknown")]
    public void Mistakes_are_named_with_file_line_and_column(string keys, string expected)
    {
        Assert.Contains(expected, ConfigText.Error(With(keys)));
    }
}
