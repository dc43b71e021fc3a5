using System.Net;
using FastProxy.Configuration.Reading;
using FastProxy.Configuration.Values;
using Tomlyn.Model;

namespace FastProxy.Configuration.Validation;

/// <summary>
/// servers = [{ address = "host:port", weight = N }, ...]. A plain "host:port" string is accepted
/// as shorthand for { address = "host:port" }.
/// </summary>
internal static class ServerValidator
{
    public static readonly string[] Keys = ["address", "weight"];

    public static List<ServerConfig> ReadAll(TableReader upstream)
    {
        var servers = new List<ServerConfig>();
        if (!upstream.Has("servers"))
        {
            upstream.Missing("servers");
            return servers;
        }
        var elements = upstream.Elements("servers");
        if (elements is null) return servers;
        if (elements.Count == 0) upstream.Error("servers", "must list at least one server, e.g. [{ address = \"127.0.0.1:9001\" }]");

        var seen = new Dictionary<IPEndPoint, string>();
        foreach (var (element, path) in elements)
        {
            var server = Read(upstream.Context, element, path);
            if (server is null) continue;
            if (!seen.TryAdd(server.EndPoint, path))
            {
                upstream.Context.Warning(KeyPath.Child(path, "address"), $"{server.Address} is listed twice (also {seen[server.EndPoint]}); raise its weight instead");
            }
            servers.Add(server);
        }
        return servers;
    }

    private static ServerConfig? Read(LoadContext context, object element, string path)
    {
        string? address;
        string addressPath;
        var weight = 1;
        switch (element)
        {
            case string shorthand:
                address = shorthand;
                addressPath = path;
                break;
            case TomlTable table:
                var reader = new TableReader(context, table, path, Keys);
                address = reader.RequiredString("address");
                addressPath = reader.PathOf("address");
                weight = reader.Int("weight", 1) ?? 1;
                break;
            default:
                context.Error(path, $"expected a table {{ address = \"host:port\" }}, got {TomlTypeNames.Of(element)}");
                return null;
        }
        if (address is null) return null;
        var endPoint = EndPoints.Resolve(context, addressPath, address, allowPortZero: false, out var host);
        if (endPoint is null) return null;
        return new ServerConfig { Address = address, EndPoint = endPoint, Host = host, Weight = weight, Resolved = AllAddresses(context, host) };
    }

    /// <summary>
    /// A host name's addresses, each a server at run time: the IPv4 ones when it has any, else the IPv6 ones (Envoy's
    /// V4_PREFERRED, and the address this proxy always picked at load: a "localhost" that also resolves to ::1 does not
    /// become a second server nothing listens on). Empty for an IP literal. Already resolved (and cached) by
    /// <see cref="EndPoints.Resolve"/>.
    /// </summary>
    private static IReadOnlyList<IPAddress> AllAddresses(LoadContext context, string host)
    {
        if (host.StartsWith('[') || IPAddress.TryParse(host, out _)) return [];
        return ServerAddresses.Preferred(context.Resolve(host, out _) ?? []);
    }
}
