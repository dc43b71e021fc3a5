using System.Net;
using System.Net.Sockets;

namespace FastProxy.Configuration.Values;

/// <summary>Name resolution at load time; swappable so tests do not depend on the machine's DNS.</summary>
internal interface IHostResolver
{
    /// <summary>The addresses of <paramref name="host"/>; throws <see cref="SocketException"/> when it does not resolve.</summary>
    IPAddress[] Resolve(string host);
}

internal sealed class DnsHostResolver : IHostResolver
{
    public static readonly DnsHostResolver Instance = new();

    public IPAddress[] Resolve(string host) => Dns.GetHostAddresses(host);
}

/// <summary>[dns] servers at load: the same client the proxy resolves with at run time, waited for.</summary>
internal sealed class NameServerHostResolver(DnsConfig dns) : IHostResolver
{
    private readonly FastProxy.DnsClient.NameServerClient _client = new(dns.Servers, dns.Timeout);

    /// <summary>Both families; throws <see cref="FastProxy.DnsClient.NameResolutionException"/> when the name has no address.</summary>
    public IPAddress[] Resolve(string host)
    {
        var answer = _client.ResolveAsync(host).GetAwaiter().GetResult();
        return [.. answer.IPv4, .. answer.IPv6];
    }
}
