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
