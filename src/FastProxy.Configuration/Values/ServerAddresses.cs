using System.Net;
using System.Net.Sockets;

namespace FastProxy.Configuration.Values;

/// <summary>Which of a host name's addresses become servers, at load and each time discovery resolves it again.</summary>
public static class ServerAddresses
{
    /// <summary>
    /// The IPv4 addresses when there is one, else the IPv6 ones (Envoy's V4_PREFERRED, and the address this proxy always
    /// picked at load), duplicates removed, in the order given.
    /// </summary>
    public static IReadOnlyList<IPAddress> Preferred(IEnumerable<IPAddress> addresses)
    {
        var all = addresses.Distinct().ToList();
        var v4 = all.FindAll(a => a.AddressFamily == AddressFamily.InterNetwork);
        return v4.Count > 0 ? v4 : all;
    }
}
