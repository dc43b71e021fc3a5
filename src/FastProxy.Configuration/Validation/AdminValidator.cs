using System.Net;
using FastProxy.Configuration.Reading;
using FastProxy.Configuration.Values;

namespace FastProxy.Configuration.Validation;

/// <summary>[admin]: the admin listener; absent section, no admin listener; no `bind`, loopback port 9901.</summary>
internal static class AdminValidator
{
    public static readonly string[] Keys = ["bind"];

    /// <summary>Where an [admin] section without `bind` listens: loopback only.</summary>
    public const string DefaultBind = "127.0.0.1:9901";

    public static AdminConfig? Read(TableReader? table)
    {
        if (table is null) return null;
        var bind = table.Has("bind") ? table.String("bind") : DefaultBind;
        var endPoint = bind is null ? null : EndPoints.Resolve(table.Context, table.PathOf("bind"), bind, allowPortZero: true, out _);
        if (endPoint is not null && !IPAddress.IsLoopback(endPoint.Address))
        {
            // /upstreams shows the topology and /readyz can be used to probe draining: meant for operators, not the world.
            table.Context.Warning(table.PathOf("bind"), $"{bind} is not a loopback address: the admin endpoints are reachable from the network");
        }
        return new AdminConfig { Bind = bind ?? "", EndPoint = endPoint ?? new IPEndPoint(IPAddress.None, 0) };
    }
}
