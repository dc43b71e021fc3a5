using System.Text;
using FastProxy.StaticFiles;

namespace FastProxy.Tests.StaticFiles;

/// <summary>The socket-free parts of static routes: path mapping, Range, Accept-Encoding, entity tags, MIME types.</summary>
public sealed class StaticPartsTests
{
    private static string? Map(string path, string prefix = "", bool dotfiles = false)
    {
        var destination = new char[StaticPath.MaxLength];
        return StaticPath.TryMap(Encoding.UTF8.GetBytes(path), Encoding.UTF8.GetBytes(prefix), dotfiles, destination, out int length, out _)
            ? new string(destination, 0, length)
            : null;
    }

    [Theory]
    [InlineData("/", "", "")]
    [InlineData("/hello.txt", "", "hello.txt")]
    [InlineData("/docs/", "", "docs/")]
    [InlineData("/docs", "", "docs")]
    [InlineData("/a//b", "", "a/b")]
    [InlineData("/sp%20ace.txt", "", "sp ace.txt")]
    [InlineData("/caf%C3%A9.txt", "", "caf\u00e9.txt")]
    [InlineData("/assets/x/y.css", "/assets/", "x/y.css")]
    [InlineData("/assets/", "/assets/", "")]
    [InlineData("/assets/x", "/assets", "x")]
    [InlineData("/other/x", "/assets/", "other/x")]
    [InlineData("/.env", "", ".env", true)]
    public void Maps_paths_under_the_root(string path, string prefix, string expected, bool dotfiles = false)
    {
        Assert.Equal(expected, Map(path, prefix, dotfiles));
    }

    [Theory]
    [InlineData("/../secret.txt")]
    [InlineData("/a/../../secret.txt")]
    [InlineData("/./x")]
    [InlineData("/..%2fsecret.txt")]
    [InlineData("/..%2Fsecret.txt")]
    [InlineData("/%2e%2e/secret.txt")]
    [InlineData("/%2E%2e/secret.txt")]
    [InlineData("/..\\secret.txt")]
    [InlineData("/..%5csecret.txt")]
    [InlineData("/hello.txt%00.html")]
    [InlineData("/x%0a")]
    [InlineData("/%c0%ae%c0%ae/secret.txt")]
    [InlineData("/%c0%ae%c0%ae%c0%afsecret.txt")]
    [InlineData("/%e0%80%ae%e0%80%ae/secret.txt")]
    [InlineData("/%ff")]
    [InlineData("/%2")]
    [InlineData("/.env")]
    [InlineData("/.git/config")]
    [InlineData("/a/.hidden/x")]
    public void Refuses_what_could_leave_the_root_or_is_hidden(string path)
    {
        Assert.Null(Map(path));
    }

    [Fact]
    public void The_alias_trap_is_closed_a_prefix_without_slash_cannot_open_a_dot_dot_segment()
    {
        // nginx's `location /img { alias /data/images/; }` serves /img../x from /data/x: here "/assets../x" under the
        // prefix "/assets" leaves "../x", and ".." is refused after the cut as before it.
        Assert.Null(Map("/assets../secret.txt", "/assets"));
        Assert.Null(Map("/assets%2e%2e/secret.txt", "/assets"));
    }

    [Fact]
    public void The_prefix_without_its_slash_is_the_root_asked_for_without_its_slash()
    {
        var destination = new char[StaticPath.MaxLength];
        Assert.True(StaticPath.TryMap("/assets"u8, "/assets"u8, false, destination, out _, out bool bare));
        Assert.True(bare);
        Assert.True(StaticPath.TryMap("/assets/"u8, "/assets/"u8, false, destination, out _, out bare));
        Assert.False(bare);
    }

    [Theory]
    [InlineData("bytes=0-9", 1000, RangeKind.Single, 0, 10)]
    [InlineData("bytes=990-", 1000, RangeKind.Single, 990, 10)]
    [InlineData("bytes=-10", 1000, RangeKind.Single, 990, 10)]
    [InlineData("bytes=-5000", 1000, RangeKind.Single, 0, 1000)]
    [InlineData("bytes=500-5000", 1000, RangeKind.Single, 500, 500)]
    [InlineData("BYTES = 1-1", 1000, RangeKind.None, 0, 0)]
    [InlineData("Bytes=1-1", 1000, RangeKind.Single, 1, 1)]
    [InlineData("bytes=1000-", 1000, RangeKind.Unsatisfiable, 0, 0)]
    [InlineData("bytes=-0", 1000, RangeKind.Unsatisfiable, 0, 0)]
    [InlineData("bytes=0-", 0, RangeKind.Unsatisfiable, 0, 0)]
    [InlineData("bytes=0-1,5-6", 1000, RangeKind.Multiple, 0, 0)]
    [InlineData("bytes=9-1", 1000, RangeKind.None, 0, 0)]
    [InlineData("bytes=a-b", 1000, RangeKind.None, 0, 0)]
    [InlineData("items=0-1", 1000, RangeKind.None, 0, 0)]
    [InlineData("bytes=99999999999999999999-", 1000, RangeKind.None, 0, 0)]
    public void Parses_single_byte_ranges(string value, long size, RangeKind kind, long start, long length)
    {
        Assert.Equal(kind, ByteRange.Parse(Encoding.ASCII.GetBytes(value), size, out long s, out long l));
        if (kind == RangeKind.Single)
        {
            Assert.Equal(start, s);
            Assert.Equal(length, l);
        }
    }

    [Theory]
    [InlineData("gzip, deflate, br", true, true, Coding.Brotli)]
    [InlineData("gzip", true, true, Coding.Gzip)]
    [InlineData("br;q=0.5, gzip;q=0.8", true, true, Coding.Gzip)]
    [InlineData("br;q=0, gzip", true, true, Coding.Gzip)]
    [InlineData("br, gzip", false, true, Coding.Gzip)]
    [InlineData("br", false, true, Coding.Identity)]
    [InlineData("*", true, true, Coding.Brotli)]
    [InlineData("*;q=0, gzip", true, true, Coding.Gzip)]
    [InlineData("identity", true, true, Coding.Identity)]
    [InlineData("gzip;q=0, br;q=0", true, true, Coding.Identity)]
    [InlineData("x-gzip", true, true, Coding.Gzip)]
    [InlineData("GZIP ; Q=0.9", false, true, Coding.Gzip)]
    public void Chooses_the_precompressed_variant_by_q_value(string acceptEncoding, bool brotli, bool gzip, Coding expected)
    {
        Assert.Equal(expected, Negotiation.Choose(Encoding.ASCII.GetBytes(acceptEncoding), brotli, gzip));
    }

    [Theory]
    [InlineData("\"5f-1a\"", true)]
    [InlineData("W/\"5f-1a\"", true)]
    [InlineData("\"x\", \"5f-1a\"", true)]
    [InlineData("*", true)]
    [InlineData("\"5f-1b\"", false)]
    [InlineData("5f-1a", false)]
    public void If_None_Match_compares_weakly(string header, bool hits)
    {
        Assert.Equal(hits, Negotiation.NoneMatchHits(Encoding.ASCII.GetBytes(header), "\"5f-1a\""u8));
    }

    [Fact]
    public void If_Range_compares_strongly_or_by_exact_date()
    {
        Assert.True(Negotiation.IfRangeHolds("\"5f-1a\""u8, "\"5f-1a\""u8, 0));
        Assert.False(Negotiation.IfRangeHolds("W/\"5f-1a\""u8, "\"5f-1a\""u8, 0));
        Assert.True(Negotiation.IfRangeHolds("Sun, 06 Nov 1994 08:49:37 GMT"u8, "\"x\""u8, 784111777));
        Assert.False(Negotiation.IfRangeHolds("Sun, 06 Nov 1994 08:49:38 GMT"u8, "\"x\""u8, 784111777));
    }

    [Theory]
    [InlineData("index.html", "text/html; charset=utf-8")]
    [InlineData("a/b/app.JS", "text/javascript; charset=utf-8")]
    [InlineData("x.woff2", "font/woff2")]
    [InlineData("x.svg", "image/svg+xml")]
    [InlineData("x.unknown", "application/octet-stream")]
    [InlineData("Makefile", "application/octet-stream")]
    [InlineData("x.webmanifest", "application/manifest+json")]
    public void Knows_the_common_types(string name, string type)
    {
        Assert.Equal(type, new MimeTypes([]).TypeFor(name));
    }

    [Fact]
    public void Types_given_in_the_config_win()
    {
        var types = new MimeTypes([new("qqq", "text/x-qqq"), new("js", "application/javascript")]);
        Assert.Equal("text/x-qqq", types.TypeFor("a.qqq"));
        Assert.Equal("application/javascript", types.TypeFor("a.js"));
    }
}
