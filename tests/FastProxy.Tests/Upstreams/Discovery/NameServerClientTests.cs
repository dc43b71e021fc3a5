using System.Net;
using FastProxy.DnsClient;
using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Upstreams.Discovery;

/// <summary>The [dns] stub client against a DNS server on loopback.</summary>
public sealed class NameServerClientTests
{
    private static NameServerClient Client(TestDnsServer dns) => new([new IPEndPoint(IPAddress.Loopback, dns.Port)], TimeSpan.FromSeconds(2));

    [Fact]
    public async Task Resolves_a_records_with_their_ttl()
    {
        await using var dns = new TestDnsServer("svc.test", "10.1.0.1", "10.1.0.2") { Ttl = 7 };
        var answer = await Client(dns).ResolveAsync("svc.test");
        Assert.Equal(["10.1.0.1", "10.1.0.2"], answer.IPv4.Select(a => a.ToString()));
        Assert.Empty(answer.IPv6);
        Assert.Equal(TimeSpan.FromSeconds(7), answer.Ttl);
    }

    [Fact]
    public async Task A_truncated_answer_is_asked_again_over_tcp()
    {
        await using var dns = new TestDnsServer("svc.test", "10.1.0.3") { Truncate = true };
        if (!dns.TcpAvailable) return; // the UDP port number is taken for TCP on this machine (rare)
        var answer = await Client(dns).ResolveAsync("svc.test");
        Assert.Equal(["10.1.0.3"], answer.IPv4.Select(a => a.ToString()));
        Assert.True(dns.TcpQueries >= 1);
    }

    [Fact]
    public async Task An_answer_with_another_id_is_ignored()
    {
        await using var dns = new TestDnsServer("svc.test", "10.1.0.4") { SpoofFirst = true };
        var answer = await Client(dns).ResolveAsync("svc.test");
        Assert.Equal(["10.1.0.4"], answer.IPv4.Select(a => a.ToString()));
    }

    [Fact]
    public async Task An_unknown_name_and_a_failing_server_are_errors()
    {
        await using var dns = new TestDnsServer("svc.test", "10.1.0.5");
        var unknown = await Assert.ThrowsAsync<NameResolutionException>(() => Client(dns).ResolveAsync("other.test"));
        Assert.Equal("no such host", unknown.Message);
        dns.Fail = true;
        var failing = await Assert.ThrowsAsync<NameResolutionException>(() => Client(dns).ResolveAsync("svc.test"));
        Assert.Contains("could not answer", failing.Message);
    }
}
