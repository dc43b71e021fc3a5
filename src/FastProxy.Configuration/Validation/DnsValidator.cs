using System.Net;
using FastProxy.Configuration.Reading;
using FastProxy.Configuration.Values;

namespace FastProxy.Configuration.Validation;

/// <summary>
/// [dns]: servers = ["127.0.0.1:53"] (IP literals; the port defaults to 53), timeout = "2s" per question and server.
/// With it, the host names of upstream servers are resolved by asking these servers directly (A and AAAA records),
/// at load and every resolve_interval; without it, by the system resolver (/etc/hosts, /etc/resolv.conf).
/// </summary>
internal static class DnsValidator
{
    public static readonly string[] Keys = ["servers", "timeout"];

    private static readonly TimeSpan MaxTimeout = TimeSpan.FromSeconds(30);

    public static DnsConfig? Read(TableReader? table)
    {
        if (table is null) return null;
        var servers = new List<IPEndPoint>();
        var list = table.Strings("servers");
        if (list is null)
        {
            if (!table.Has("servers")) table.Missing("servers");
        }
        else
        {
            if (list.Count == 0) table.Error("servers", "must list at least one name server, e.g. [\"127.0.0.1:53\"]");
            foreach (var (text, path) in list)
            {
                if (Parse(text) is { } endPoint) servers.Add(endPoint);
                else table.Context.Error(path, $"invalid name server \"{text}\": expected an IP address with an optional port, e.g. \"10.0.0.2\", \"10.0.0.2:53\" or \"[fd00::2]:53\"");
            }
        }
        var timeout = table.Duration("timeout") ?? new DnsConfig().Timeout;
        if (timeout > MaxTimeout) table.Error("timeout", "must be at most 30s (it is per question and server)");
        return new DnsConfig { Servers = servers, Timeout = timeout };
    }

    /// <summary>"10.0.0.2", "10.0.0.2:53", "[fd00::2]", "[fd00::2]:53" or "fd00::2": no host names (they would need a resolver).</summary>
    private static IPEndPoint? Parse(string text)
    {
        if (IPAddress.TryParse(text, out var bare) && (bare.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 || !text.Contains(':')))
            return text.Count(c => c == '.') == 3 || bare.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? new IPEndPoint(bare, 53) : null;
        if (text.StartsWith('[') && text.EndsWith(']') && IPAddress.TryParse(text.AsSpan(1, text.Length - 2), out var v6)) return new IPEndPoint(v6, 53);
        if (!EndPoints.TrySplit(text, allowPortZero: false, out var host, out var port, out _)) return null;
        if (host.StartsWith('[')) return IPAddress.TryParse(host.AsSpan(1, host.Length - 2), out var a6) ? new IPEndPoint(a6, port) : null;
        return host.Count(c => c == '.') == 3 && IPAddress.TryParse(host, out var a4) ? new IPEndPoint(a4, port) : null;
    }
}
