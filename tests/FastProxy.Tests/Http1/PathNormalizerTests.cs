using System.Text;
using FastProxy.Http1;

namespace FastProxy.Tests.Http1;

/// <summary>RFC 3986 §6.2.2 normalisation of request paths, on heads parsed by the real parser.</summary>
public sealed class PathNormalizerTests
{
    /// <summary>Parses <paramref name="target"/> in a request line and normalises it: the path-and-query forwarded, or null (invalid).</summary>
    private static string? Normalized(string target)
    {
        var bytes = Encoding.ASCII.GetBytes($"GET {target} HTTP/1.1\r\nHost: h\r\nX-After: kept\r\n\r\n");
        var head = new RequestHead();
        Assert.Equal(ParseStatus.Complete, RequestParser.Parse(bytes, head, HeadLimits.Default));
        int fields = head.Fields.Length;
        if (!PathNormalizer.Normalize(bytes, head)) return null;
        // The field lines are untouched by a rewrite of the target.
        Assert.Equal(fields, head.Fields.Length);
        Assert.Equal("X-After: kept", Encoding.ASCII.GetString(head.Fields[^1].Line(bytes)).TrimEnd());
        Assert.Equal(head.PathLength, head.Path(bytes).Length);
        return Encoding.ASCII.GetString(head.PathAndQuery(bytes));
    }

    [Theory]
    // RFC 3986 §5.4 examples of remove_dot_segments, as paths.
    [InlineData("/a/b/c/./../../g", "/a/g")]
    [InlineData("/mid/content=5/../6", "/mid/6")]
    [InlineData("/a/./b", "/a/b")]
    [InlineData("/a/.", "/a/")]
    [InlineData("/a/..", "/")]
    [InlineData("/a/b/..", "/a/")]
    [InlineData("/..", "/")]
    [InlineData("/../../x", "/x")]
    [InlineData("/.", "/")]
    [InlineData("/public/../admin/x", "/admin/x")]
    [InlineData("/a//..", "/a/")]
    // Segments that merely contain dots are names, not dot segments.
    [InlineData("/.well-known/x", "/.well-known/x")]
    [InlineData("/a/...", "/a/...")]
    [InlineData("/a/..b/.c", "/a/..b/.c")]
    // Unreserved escapes decoded (either case of hex), others upper-cased and kept; %2F stays a data slash.
    [InlineData("/%61dmin/x", "/admin/x")]
    [InlineData("/%7e%7Euser/%2D%5F", "/~~user/-_")]
    [InlineData("/a%2fb/%3f", "/a%2Fb/%3F")]
    [InlineData("/%2e%2E/admin", "/admin")]
    [InlineData("/x/%2e/y", "/x/y")]
    [InlineData("/caf%c3%a9", "/caf%C3%A9")]
    [InlineData("/%00", "/%00")]
    // The query is left exactly as sent, and follows the shorter path.
    [InlineData("/a/../b?x=/../%61&y=.", "/b?x=/../%61&y=.")]
    [InlineData("/%61?%61", "/a?%61")]
    // Absolute-form: the path part is normalised.
    [InlineData("http://h/a/../b", "/b")]
    public void Normalizes(string target, string expected)
    {
        Assert.Equal(expected, Normalized(target));
    }

    [Theory]
    [InlineData("/%")]
    [InlineData("/%4")]
    [InlineData("/a%zz")]
    [InlineData("/a%4g/b")]
    [InlineData("/%%41")]
    public void Malformed_escapes_are_invalid(string target)
    {
        Assert.Null(Normalized(target));
    }

    [Theory]
    [InlineData("/", false)]
    [InlineData("/index.html", false)]
    [InlineData("/a.b/c.d", false)]
    [InlineData("/.well-known/acme", false)]
    [InlineData("/a/...", false)]
    [InlineData("/a/.", true)]
    [InlineData("/a/./b", true)]
    [InlineData("/a/..", true)]
    [InlineData("/../b", true)]
    [InlineData("/a%20b", true)]
    public void Only_paths_with_escapes_or_dot_segments_need_work(string path, bool needed)
    {
        Assert.Equal(needed, PathNormalizer.IsNeeded(Encoding.ASCII.GetBytes(path)));
    }

    [Fact]
    public void A_normal_path_is_its_own_normal_form()
    {
        // Idempotence: normalising the output again changes nothing.
        foreach (var target in new[] { "/a/b/c/./../../g", "/%61dmin/%2fx", "/x/%2e%2e/y?q", "/..", "/a/." })
        {
            var once = Normalized(target)!;
            Assert.Equal(once, Normalized(once));
        }
    }
}
