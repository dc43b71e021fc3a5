using System.Text;
using System.Text.Json;
using FastProxy.Admin.Dashboard;
using FastProxy.Configuration.Export;
using FastProxy.Diagnostics;
using FastProxy.Hosting;
using FastProxy.Transport;

namespace FastProxy.Admin;

/// <summary>One admin answer: status, content type, body, and header lines beyond the fixed ones (each ending CRLF).</summary>
internal readonly record struct AdminAnswer(int Status, string Type, byte[] Body, bool Head = false, string ExtraHeaders = "")
{
    public static AdminAnswer Text(int status, string body, bool head = false, string extraHeaders = "")
        => new(status, "text/plain", Encoding.UTF8.GetBytes(body), head, extraHeaders);
}

/// <summary>Which endpoint answers a request, and who may change state.</summary>
internal sealed partial class AdminServer
{
    private const string NotFoundText = "not found (try /healthz, /readyz, /upstreams, /metrics, /config, /dashboard; POST /upstreams/NAME/servers/ADDRESS/drain or /enable)\n";

    private AdminAnswer Answer(string requestHead, string client)
    {
        int lineEnd = requestHead.IndexOf("\r\n", StringComparison.Ordinal);
        var parts = (lineEnd < 0 ? requestHead : requestHead[..lineEnd]).Split(' ');
        if (parts.Length != 3 || !parts[2].StartsWith("HTTP/1.", StringComparison.Ordinal))
            return AdminAnswer.Text(400, "bad request\n");
        string method = parts[0];
        string path = parts[1];
        if (TryCachePurge(method, path, requestHead, client) is { } purge) return purge;
        int query = path.IndexOf('?');
        if (query >= 0) path = path[..query];

        if (TryServerAction(path, out var upstream, out var address, out var drain))
        {
            if (method != "POST") return AdminAnswer.Text(405, "only POST\n", extraHeaders: "Allow: POST\r\n");
            if (upstream is null || address is null) return AdminAnswer.Text(400, "bad percent-encoding in the path\n");
            var refused = Authorize(requestHead, method, path, client);
            if (refused is { } refusal) return refusal;
            return SetDrained(upstream, address, drain, client);
        }

        bool head = method == "HEAD";
        if (method != "GET" && !head)
        {
            return path is "/healthz" or "/readyz" or "/upstreams" or "/metrics" or "/config" or "/dashboard"
                ? AdminAnswer.Text(405, "only GET and HEAD\n", extraHeaders: "Allow: GET, HEAD\r\n")
                : AdminAnswer.Text(404, NotFoundText);
        }
        return path switch
        {
            "/healthz" => AdminAnswer.Text(200, "ok\n", head),
            "/readyz" => _host.Services.Draining ? AdminAnswer.Text(503, "draining\n", head) : AdminAnswer.Text(200, "ready\n", head),
            "/upstreams" => new AdminAnswer(200, "application/json", UpstreamsJson.Write(_host.Runtime, Heartbeat.NowMs), head),
            "/metrics" => new AdminAnswer(200, Observability.Metrics.PrometheusText.ContentType, _host.Services.Metrics.Scrape(_host.Runtime), head),
            "/config" => ConfigAnswer(head),
            "/dashboard" => new AdminAnswer(200, DashboardType, DashboardPage.Body, head, DashboardPage.Headers),
            _ => AdminAnswer.Text(404, NotFoundText, head),
        };
    }

    private AdminAnswer ConfigAnswer(bool head)
    {
        var runtime = _host.Runtime;
        return new AdminAnswer(200, "application/json", EffectiveConfigJson.Write(runtime.Config, runtime.LoadedAt), head);
    }

    /// <summary>
    /// /upstreams/NAME/servers/ADDRESS/drain or /enable. NAME and ADDRESS are percent-decoded, so an IPv6 server is
    /// written either as is ("[::1]:8080", which curl needs -g for) or encoded ("%5B%3A%3A1%5D%3A8080"). False: not
    /// such a path. True with a null name or address: such a path, but its encoding is broken.
    /// </summary>
    internal static bool TryServerAction(string path, out string? upstream, out string? address, out bool drain)
    {
        upstream = address = null;
        drain = false;
        var segments = path.Split('/');
        if (segments.Length != 6 || segments[0].Length != 0 || segments[1] != "upstreams" || segments[3] != "servers") return false;
        if (segments[5] is not ("drain" or "enable")) return false;
        drain = segments[5] == "drain";
        upstream = Decode(segments[2]);
        address = Decode(segments[4]);
        return true;
    }

    private static string? Decode(string segment)
    {
        if (segment.Length == 0) return null;
        try
        {
            var text = Uri.UnescapeDataString(segment);
            // UnescapeDataString leaves a bad escape as it was: refuse it rather than look up a name with a stray '%'.
            return text.Contains('%') && segment.Contains('%') && !segment.Contains("%25", StringComparison.OrdinalIgnoreCase) ? null : text;
        }
        catch (UriFormatException)
        {
            return null;
        }
    }

    /// <summary>Null: allowed. Else the 401 or 403 to send (logged at warn).</summary>
    private AdminAnswer? Authorize(string requestHead, string method, string path, string client)
    {
        var tokenHash = _host.Runtime.Config.Admin?.TokenHash;
        var access = AdminAuth.Decide(EndPoint.Address, tokenHash, Authorization(requestHead));
        if (access == AdminAccess.Allowed) return null;
        Log.AdminRefused(method, Printable(path), access == AdminAccess.Forbidden ? 403 : 401, client);
        return access switch
        {
            AdminAccess.Forbidden => AdminAnswer.Text(403,
                "forbidden: the admin listener is not on a loopback address and no [admin] token is set, so state cannot be changed through it\n"),
            AdminAccess.MissingToken => AdminAnswer.Text(401, "unauthorized: send the [admin] token as Authorization: Bearer TOKEN\n",
                extraHeaders: "WWW-Authenticate: Bearer realm=\"fastproxy-admin\"\r\n"),
            _ => AdminAnswer.Text(401, "unauthorized: wrong token\n",
                extraHeaders: "WWW-Authenticate: Bearer realm=\"fastproxy-admin\", error=\"invalid_token\"\r\n"),
        };
    }

    /// <summary>The Authorization field's value; null when absent. Sent twice: an empty value, which never matches.</summary>
    internal static string? Authorization(string requestHead)
    {
        string? found = null;
        foreach (var line in requestHead.Split("\r\n").AsSpan(1))
        {
            int colon = line.IndexOf(':');
            if (colon <= 0 || !line.AsSpan(0, colon).Equals("Authorization", StringComparison.OrdinalIgnoreCase)) continue;
            if (found is not null) return "";
            found = line[(colon + 1)..].Trim(' ', '\t');
        }
        return found;
    }

    private AdminAnswer SetDrained(string upstream, string address, bool drain, string client)
    {
        var (outcome, server) = _host.SetDrained(upstream, address, drain);
        if (outcome == DrainOutcome.NoUpstream) return AdminAnswer.Text(404, $"no upstream named \"{Printable(upstream)}\"\n");
        if (outcome == DrainOutcome.NoServer) return AdminAnswer.Text(404, $"upstream \"{Printable(upstream)}\" has no server \"{Printable(address)}\"\n");
        Log.ServerDrainChanged(upstream, server!.Display, drain, client);
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(256);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("upstream", upstream);
            json.WriteString("server", server.Address);
            json.WriteString("display", server.Display);
            json.WriteString("state", UpstreamsJson.StateOf(server.Health));
            json.WriteNumber("in_flight", server.State.InFlight);
            json.WriteEndObject();
        }
        System.Buffers.BuffersExtensions.Write(buffer, "\n"u8);
        return new AdminAnswer(200, "application/json", buffer.WrittenSpan.ToArray());
    }

    /// <summary>For logs and answers: what the client sent, control characters and non-ASCII replaced.</summary>
    private static string Printable(string text)
    {
        if (text.Length > 200) text = text[..200];
        return string.Create(text.Length, text, static (span, source) =>
        {
            for (int i = 0; i < source.Length; i++) span[i] = source[i] is >= ' ' and < (char)0x7f ? source[i] : '?';
        });
    }
}
