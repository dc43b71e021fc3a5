namespace FastProxy.Tests.Tcp;

/// <summary>proxy.toml text for the tcp listener tests: listeners bind 127.0.0.1:0.</summary>
public static class TcpConfigs
{
    /// <summary>A server list for an upstream: loopback servers on the given ports.</summary>
    public static string Servers(IEnumerable<int> ports) => string.Join(", ", ports.Select(p => $"{{ address = \"127.0.0.1:{p}\" }}"));

    /// <summary>One tcp listener "tcp" forwarding every connection to upstream "app".</summary>
    public static string Forward(IEnumerable<int> ports, string balance = "round_robin", string limits = "", string top = "", string upstreamExtra = "") => $$"""
        {{top}}
        [[listeners]]
        name = "tcp"
        bind = "127.0.0.1:0"
        protocol = "tcp"
        upstream = "app"
        [listeners.limits]
        {{limits}}

        [upstreams.app]
        balance = "{{balance}}"
        servers = [ {{Servers(ports)}} ]
        {{upstreamExtra}}
        """;

    /// <summary>
    /// One tcp listener "tls" routed by server name: each (pattern, port) is a route to an upstream of its own
    /// ("u0", "u1", ...); <paramref name="defaultPort"/> is the listener's own upstream when given.
    /// </summary>
    public static string Sni(IReadOnlyList<(string Pattern, int Port)> routes, int? defaultPort = null, string limits = "")
    {
        var text = new System.Text.StringBuilder($$"""
            [[listeners]]
            name = "tls"
            bind = "127.0.0.1:0"
            protocol = "tcp"
            {{(defaultPort is null ? "" : "upstream = \"fallback\"")}}
            [listeners.limits]
            {{limits}}

            """);
        // Every [[routes]] entry first, then the upstreams: the config loader loses earlier entries of an array of
        // tables when another table comes in between (valid TOML; left to its owners).
        for (int i = 0; i < routes.Count; i++)
        {
            text.Append($$"""

                [[routes]]
                name = "r{{i}}"
                listeners = ["tls"]
                upstream = "u{{i}}"
                [routes.match]
                sni = "{{routes[i].Pattern}}"

                """);
        }
        for (int i = 0; i < routes.Count; i++)
        {
            text.Append($$"""

                [upstreams.u{{i}}]
                servers = [ {{Servers([routes[i].Port])}} ]

                """);
        }
        if (defaultPort is not null)
        {
            text.Append($$"""

                [upstreams.fallback]
                servers = [ {{Servers([defaultPort.Value])}} ]

                """);
        }
        return text.ToString();
    }
}
