using System.Net;
using FastProxy.Configuration.Reading;
using FastProxy.Configuration.Values;

namespace FastProxy.Configuration.Validation;

/// <summary>[admin]: the admin listener; absent section, no admin listener.</summary>
internal static class AdminValidator
{
    public static readonly string[] Keys = ["bind"];

    public static AdminConfig? Read(TableReader? table)
    {
        if (table is null) return null;
        var bind = table.RequiredString("bind");
        var endPoint = bind is null ? null : EndPoints.Resolve(table.Context, table.PathOf("bind"), bind, allowPortZero: true, out _);
        return new AdminConfig { Bind = bind ?? "", EndPoint = endPoint ?? new IPEndPoint(IPAddress.None, 0) };
    }
}
