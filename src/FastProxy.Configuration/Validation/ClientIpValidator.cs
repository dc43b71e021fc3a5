using FastProxy.Configuration.Reading;
using FastProxy.Configuration.Values;

namespace FastProxy.Configuration.Validation;

/// <summary>[client_ip]: which peers may say who the client is, and in which header.</summary>
internal static class ClientIpValidator
{
    public static readonly string[] Keys = ["trusted_proxies", "header"];

    private static readonly (string, ForwardedHeader)[] Headers =
        [("x-forwarded-for", ForwardedHeader.XForwardedFor), ("forwarded", ForwardedHeader.Forwarded)];

    public static ClientIpConfig Read(TableReader? table)
    {
        if (table is null) return new ClientIpConfig();
        return new ClientIpConfig
        {
            TrustedProxies = Cidrs.Read(table, "trusted_proxies") ?? [],
            Header = table.Choice("header", "header", Headers) ?? ForwardedHeader.XForwardedFor,
        };
    }
}
