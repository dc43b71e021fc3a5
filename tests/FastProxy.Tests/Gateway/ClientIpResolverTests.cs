using System.Net;
using System.Text;
using FastProxy.Configuration;
using FastProxy.Http1;
using FastProxy.Policies.ClientIdentity;

namespace FastProxy.Tests.Gateway;

/// <summary>[client_ip]: the peer, unless it is a trusted proxy; then the forwarding header's rightmost address that is not a trusted proxy.</summary>
public sealed class ClientIpResolverTests
{
    private static readonly string[] Trusted = ["10.0.0.0/8", "::1/128", "2001:db8:ffff::/48"];

    private static string Resolve(string peer, string fields, ForwardedHeader header = ForwardedHeader.XForwardedFor, string[]? trusted = null)
    {
        var resolver = new ClientIpResolver(new ClientIpConfig
        {
            TrustedProxies = [.. (trusted ?? Trusted).Select(t => new CidrBlock(IPAddress.Parse(t.Split('/')[0]), int.Parse(t.Split('/')[1])))],
            Header = header,
        });
        var bytes = Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\nHost: a\r\n" + fields + "\r\n");
        var head = new RequestHead();
        Assert.Equal(ParseStatus.Complete, RequestParser.Parse(bytes, head, HeadLimits.Default));
        var client = resolver.Resolve(IpValue.From(IPAddress.Parse(peer)), head, bytes, out _);
        return client.ToAddress().ToString();
    }

    [Fact]
    public void An_untrusted_peer_is_the_client_whatever_it_sends()
    {
        Assert.Equal("203.0.113.7", Resolve("203.0.113.7", "X-Forwarded-For: 1.2.3.4\r\n"));
        Assert.Equal("203.0.113.7", Resolve("203.0.113.7", "Forwarded: for=1.2.3.4\r\n", ForwardedHeader.Forwarded));
        Assert.Equal("203.0.113.7", Resolve("203.0.113.7", "X-Forwarded-For: 1.2.3.4\r\n", trusted: []));
    }

    [Fact]
    public void A_trusted_peer_without_the_header_is_the_client()
    {
        Assert.Equal("10.0.0.2", Resolve("10.0.0.2", ""));
        Assert.Equal("10.0.0.2", Resolve("::ffff:10.0.0.2", ""));
        Assert.Equal("10.0.0.2", Resolve("10.0.0.2", "X-Forwarded-For: 1.2.3.4\r\n", ForwardedHeader.Forwarded));
    }

    [Theory]
    [InlineData("X-Forwarded-For: 203.0.113.9\r\n", "203.0.113.9")]
    [InlineData("X-Forwarded-For: 6.6.6.6, 203.0.113.9\r\n", "203.0.113.9")]
    [InlineData("X-Forwarded-For: 6.6.6.6, 203.0.113.9, 10.0.0.3, 10.9.9.9\r\n", "203.0.113.9")]
    [InlineData("x-forwarded-for:6.6.6.6,203.0.113.9,10.0.0.3\r\n", "203.0.113.9")]
    [InlineData("X-Forwarded-For: 10.0.0.4, 10.0.0.3\r\n", "10.0.0.4")]
    [InlineData("X-Forwarded-For: 203.0.113.9:4711\r\n", "203.0.113.9")]
    [InlineData("X-Forwarded-For: 2001:db8::9, ::1\r\n", "2001:db8::9")]
    [InlineData("X-Forwarded-For: [2001:db8::9]:4711, 2001:db8:ffff::1\r\n", "2001:db8::9")]
    [InlineData("X-Forwarded-For: ::ffff:203.0.113.9\r\n", "203.0.113.9")]
    public void The_rightmost_address_that_is_not_a_trusted_proxy_is_the_client(string fields, string client)
    {
        Assert.Equal(client, Resolve("10.0.0.2", fields));
    }

    [Fact]
    public void Several_field_lines_are_one_list_in_order()
    {
        Assert.Equal("203.0.113.9", Resolve("10.0.0.2", "X-Forwarded-For: 6.6.6.6, 5.5.5.5\r\nX-Forwarded-For: 203.0.113.9, 10.0.0.3\r\n"));
        Assert.Equal("5.5.5.5", Resolve("10.0.0.2", "X-Forwarded-For: 6.6.6.6, 5.5.5.5\r\nAccept: */*\r\nX-Forwarded-For: 10.0.0.3\r\n"));
        Assert.Equal("5.5.5.5", Resolve("10.0.0.2", "X-Forwarded-For: 6.6.6.6, 5.5.5.5\r\nX-Forwarded-For: 10.0.0.4, 10.0.0.3\r\n"));
    }

    [Theory]
    [InlineData("X-Forwarded-For: 203.0.113.9, , 10.0.0.3\r\n")]
    [InlineData("X-Forwarded-For: 203.0.113.9,\r\n")]
    [InlineData("X-Forwarded-For: 203.0.113.9, 10.0.0.3 ,,\r\n")]
    [InlineData("X-Forwarded-For: 203.0.113.9\r\nX-Forwarded-For:\r\n")]
    [InlineData("X-Forwarded-For: 203.0.113.9\r\nX-Forwarded-For: ,\r\n")]
    public void Empty_list_elements_are_skipped(string fields)
    {
        // RFC 9110 §5.6.1: a recipient ignores empty list elements; they are no reason to stop at the proxy.
        Assert.Equal("203.0.113.9", Resolve("10.0.0.2", fields));
    }

    [Theory]
    [InlineData("X-Forwarded-For: 203.0.113.9, garbage\r\n", "10.0.0.2")]
    [InlineData("X-Forwarded-For: 203.0.113.9, unknown, 10.0.0.3\r\n", "10.0.0.3")]
    [InlineData("X-Forwarded-For: 203.0.113.9, 1.2.3\r\n", "10.0.0.2")]
    [InlineData("X-Forwarded-For: 203.0.113.9, 010.0.0.1\r\n", "10.0.0.2")]
    [InlineData("X-Forwarded-For: garbage, 203.0.113.9\r\n", "203.0.113.9")]
    [InlineData("X-Forwarded-For: 203.0.113.9 10.0.0.3\r\n", "10.0.0.2")]
    public void Garbage_where_a_trusted_hop_wrote_stops_the_walk_at_the_last_address_read(string fields, string client)
    {
        // What stands left of the first untrusted address is the client's own text and is never read.
        Assert.Equal(client, Resolve("10.0.0.2", fields));
    }

    [Theory]
    [InlineData("Forwarded: for=203.0.113.9\r\n", "203.0.113.9")]
    [InlineData("Forwarded: For=\"203.0.113.9:4711\";proto=https\r\n", "203.0.113.9")]
    [InlineData("Forwarded: proto=https;for=203.0.113.9;by=10.0.0.2\r\n", "203.0.113.9")]
    [InlineData("Forwarded: for=\"[2001:db8:cafe::17]:4711\"\r\n", "2001:db8:cafe::17")]
    [InlineData("Forwarded: for=\"[2001:db8:cafe::17]\", for=10.0.0.3\r\n", "2001:db8:cafe::17")]
    [InlineData("Forwarded: for=6.6.6.6, for=203.0.113.9;proto=http, for=10.0.0.3\r\n", "203.0.113.9")]
    [InlineData("Forwarded: for=6.6.6.6\r\nForwarded: for=203.0.113.9 ; proto=http\r\n", "203.0.113.9")]
    [InlineData("Forwarded: for=203.0.113.9, for=unknown\r\n", "10.0.0.2")]
    [InlineData("Forwarded: for=203.0.113.9, for=_hidden\r\n", "10.0.0.2")]
    [InlineData("Forwarded: for=203.0.113.9, proto=https\r\n", "10.0.0.2")]
    [InlineData("Forwarded: for=\"[2001:db8:cafe::17\"\r\n", "10.0.0.2")]
    [InlineData("Forwarded: for=203.0.113.9,\r\n", "203.0.113.9")]
    [InlineData("X-Forwarded-For: 6.6.6.6\r\nForwarded: for=203.0.113.9\r\n", "203.0.113.9")]
    public void Forwarded_for_in_its_RFC_7239_forms(string fields, string client)
    {
        Assert.Equal(client, Resolve("10.0.0.2", fields, ForwardedHeader.Forwarded));
    }

    [Fact]
    public void An_IPv6_trusted_peer()
    {
        Assert.Equal("2001:db8::9", Resolve("::1", "X-Forwarded-For: 2001:db8::9\r\n"));
        Assert.Equal("::2", Resolve("::2", "X-Forwarded-For: 2001:db8::9\r\n"));
    }
}
