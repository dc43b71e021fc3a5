using System.Net;
using FastProxy.Configuration.Reading;
using FastProxy.Configuration.Values;

namespace FastProxy.Configuration.Validation;

/// <summary>One [[listeners]] entry. Uniqueness across listeners is <see cref="ListenerSetValidator"/>'s concern.</summary>
internal static class ListenerValidator
{
    public static readonly string[] Keys = ["name", "bind", "protocol", "upstream", "reuse_port", "policies", "proxy_protocol", "tls", "limits", "hsts"];

    /// <summary>TLS and limits keys written on the listener itself: say where they go.</summary>
    public static readonly IReadOnlyDictionary<string, string> Misplaced = MisplacedKeys.Homes(
        (TlsValidator.Keys, "[[listeners.tls]]"),
        (LimitsValidator.Keys, "[listeners.limits]"),
        (HstsValidator.Keys, "[listeners.hsts]"));

    private static readonly (string, ListenerProtocol)[] Protocols = [("http", ListenerProtocol.Http), ("tcp", ListenerProtocol.Tcp)];

    public static ListenerConfig Read(TableReader table, LimitsConfig limits)
    {
        var name = table.RequiredString("name");
        var bind = table.RequiredString("bind");
        var endPoint = bind is null ? null : EndPoints.Resolve(table.Context, table.PathOf("bind"), bind, allowPortZero: true, out _);
        var protocol = table.Choice("protocol", "protocol", Protocols) ?? ListenerProtocol.Http;

        var upstream = table.String("upstream");
        if (upstream is not null && protocol != ListenerProtocol.Tcp)
        {
            table.Error("upstream", "only tcp listeners (protocol = \"tcp\") take an upstream; http listeners are routed by [[routes]]");
        }

        var reusePort = table.Bool("reuse_port") ?? false;
        if (reusePort && endPoint is { Port: 0 })
        {
            // Each process would get a free port of its own from the OS: the option would share nothing.
            table.Context.Warning(table.PathOf("reuse_port"), "with port 0 each process gets a port of its own, so nothing is shared");
        }

        var policies = table.Strings("policies")?.Select(p => p.Value).ToList() ?? [];
        if (policies.Count > 0 && protocol == ListenerProtocol.Tcp)
        {
            table.Error("policies", "gateway policies apply to HTTP requests; a tcp listener forwards bytes");
        }
        var proxyProtocol = table.Bool("proxy_protocol") ?? false;

        var tls = new List<TlsCertificateConfig>();
        foreach (var entry in table.Tables("tls", TlsValidator.Keys) ?? [])
        {
            tls.Add(TlsValidator.Read(entry));
        }

        HstsConfig? hsts = null;
        if (table.Table("hsts", HstsValidator.Keys) is { } hstsTable)
        {
            hsts = HstsValidator.Read(hstsTable);
            // RFC 6797 §8.1: a browser ignores the field on a response that did not come over TLS, so on a plain
            // listener it would protect nothing (and tcp listeners send no HTTP responses at all).
            if (protocol == ListenerProtocol.Tcp) table.Error("hsts", "a tcp listener relays bytes and sends no HTTP response to carry Strict-Transport-Security");
            else if (tls.Count == 0) table.Error("hsts", "needs TLS on this listener ([[listeners.tls]]): browsers ignore Strict-Transport-Security received over plain HTTP (RFC 6797 §8.1)");
        }

        return new ListenerConfig
        {
            Name = name ?? "",
            Bind = bind ?? "",
            EndPoint = endPoint ?? new IPEndPoint(IPAddress.None, 0),
            Protocol = protocol,
            Upstream = upstream,
            ReusePort = reusePort,
            Policies = policies,
            ProxyProtocol = proxyProtocol,
            Tls = tls,
            Hsts = hsts,
            Limits = LimitsValidator.Read(table.Table("limits", LimitsValidator.Keys), limits),
            Location = table.Context.Map.Value(table.Path),
        };
    }
}
