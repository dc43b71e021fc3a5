using FastProxy.Configuration.Reading;
using FastProxy.Configuration.Values;

namespace FastProxy.Configuration.Validation;

/// <summary>respond = { status, body, headers }: a response the proxy produces itself.</summary>
internal static class RespondValidator
{
    public static readonly string[] Keys = ["status", "body", "headers"];

    // Framing is the proxy's job: a configured Content-Length could disagree with the body.
    private static readonly string[] FramingHeaders = ["content-length", "transfer-encoding"];

    public static RespondConfig? Read(TableReader? table)
    {
        if (table is null) return null;
        // 1xx are interim responses, not something to end a request with.
        var status = table.Int("status", 200, 599) ?? 200;
        var body = table.String("body") ?? "";
        // RFC 9110 15.3.5 and 15.4.5: 204 and 304 never carry content.
        if (body.Length > 0 && status is 204 or 304)
        {
            table.Error("body", $"a {status} response has no body");
        }

        var headers = HeaderTableValidator.Read(table.Table("headers", keys: null), lowerCaseNames: false, FramingHeaders);
        return new RespondConfig { Status = status, Body = body, Headers = headers };
    }
}
