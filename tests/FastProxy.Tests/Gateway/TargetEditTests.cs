using System.Net;
using System.Text;
using FastProxy.Http1;
using FastProxy.Policies.ClientIdentity;
using FastProxy.Policies.Pipeline;

namespace FastProxy.Tests.Gateway;

/// <summary>PolicyContext.SetPath and SetQueryParameter: what they take, refuse and encode, and how they combine with removals.</summary>
public sealed class TargetEditTests
{
    internal static PolicyContext Context(string target)
    {
        var bytes = Encoding.ASCII.GetBytes($"GET {target} HTTP/1.1\r\nHost: a\r\n\r\n");
        var head = new RequestHead();
        Assert.Equal(ParseStatus.Complete, RequestParser.Parse(bytes, head, HeadLimits.Default));
        var context = new PolicyContext();
        context.Begin(head, bytes, IpValue.From(IPAddress.Loopback), "127.0.0.1"u8, "r", secure: false);
        return context;
    }

    private static string EditedQuery(PolicyContext context)
    {
        var buffer = new byte[context.Query.Length + context.QueryGrowth];
        return Encoding.ASCII.GetString(buffer, 0, context.CopyEditedQuery(buffer));
    }

    [Theory]
    [InlineData("x")]
    [InlineData("")]
    [InlineData("/a\r\nX-Injected: 1")]
    [InlineData("/a\nb")]
    [InlineData("/a\0b")]
    public void SetPath_refuses_what_is_no_path_or_would_split_the_line(string path)
    {
        var context = Context("/orig");
        Assert.False(context.SetPath(Encoding.Latin1.GetBytes(path)));
        Assert.False(context.PathSet);
        Assert.Equal("/orig", Encoding.ASCII.GetString(context.CurrentPath));
    }

    [Theory]
    [InlineData("/a b", "/a%20b")]
    [InlineData("/a#b?c", "/a%23b%3Fc")]
    [InlineData("/caf\u00e9", "/caf%E9")]
    [InlineData("/ok/%2F/%zz/50%", "/ok/%2F/%25zz/50%25")]
    [InlineData("/keep:@!$&'()*+,;=-._~", "/keep:@!$&'()*+,;=-._~")]
    public void SetPath_encodes_what_a_path_cannot_hold(string path, string expected)
    {
        var context = Context("/orig");
        Assert.True(context.SetPath(Encoding.Latin1.GetBytes(path)));
        Assert.Equal(expected, Encoding.ASCII.GetString(context.EditedPath));
    }

    [Fact]
    public void SetPath_takes_its_own_current_path_back()
    {
        var context = Context("/orig");
        Assert.True(context.SetPath("/a b"u8));
        Assert.True(context.SetPath(context.CurrentPath));
        Assert.Equal("/a%20b", Encoding.ASCII.GetString(context.EditedPath));
    }

    [Fact]
    public void SetQueryParameter_replaces_the_clients_and_an_earlier_set_and_remove_drops_a_set()
    {
        var context = Context("/p?a=1&b=2&a=3&c=4");
        Assert.True(context.SetQueryParameter("a"u8, "x y&z=\r\n"u8));
        Assert.True(context.SetQueryParameter("d"u8, "1"u8));
        Assert.True(context.SetQueryParameter("a"u8, "again"u8));
        Assert.True(context.QueryEdited);
        Assert.Equal("b=2&c=4&d=1&a=again", EditedQuery(context));
        context.RemoveQueryParameter("d"u8);
        Assert.True(context.SetQueryParameter("e e"u8, "\r\n"u8));
        Assert.Equal("b=2&c=4&a=again&e%20e=%0D%0A", EditedQuery(context));
    }

    [Fact]
    public void A_new_request_forgets_the_edits()
    {
        var context = Context("/p?a=1");
        context.SetPath("/x"u8);
        context.SetQueryParameter("a"u8, "2"u8);
        var again = Encoding.ASCII.GetBytes("GET /q HTTP/1.1\r\nHost: a\r\n\r\n");
        var head = new RequestHead();
        RequestParser.Parse(again, head, HeadLimits.Default);
        context.Begin(head, again, IpValue.From(IPAddress.Loopback), "127.0.0.1"u8, "r", secure: false);
        Assert.False(context.PathSet);
        Assert.False(context.QueryEdited);
        Assert.Equal(0, context.TargetGrowth);
    }
}
