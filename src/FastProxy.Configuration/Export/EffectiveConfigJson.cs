using System.Buffers;
using System.Globalization;
using System.Text.Json;
using FastProxy.Configuration.Values;
using Tomlyn.Model;

namespace FastProxy.Configuration.Export;

/// <summary>
/// The effective configuration as JSON, for the admin listener's GET /config: what the running proxy uses, defaults
/// filled in, with every secret left out. Written with <see cref="Utf8JsonWriter"/> (no reflection, native AOT clean).
/// </summary>
/// <remarks>
/// The sections the model describes (global, admin, limits, listeners, routes, upstreams, client_ip, consumers) are
/// written from the model, so defaults show. Policies, and sections this writer does not know (added to the model
/// later), are written from the file's own table as parsed, keys as written, through the same redaction
/// (<see cref="Redaction"/>): a secret never reaches the output because a section was forgotten here.
/// Secrets: [admin] token, API keys and their digests, basic_password_hash and any key named like a password,
/// token, secret or credential header show as "env:NAME" (or "file:PATH") when written so, else as "[redacted]";
/// the user:password part of a URL is replaced; TLS private keys appear as their paths only; htpasswd as its path.
/// </remarks>
public static partial class EffectiveConfigJson
{
    /// <summary>What a redacted value is replaced by.</summary>
    public const string Redacted = "[redacted]";

    /// <summary>Top-level sections written from the model; any other table of the file is written from its raw form.</summary>
    private static readonly HashSet<string> ModelSections = new(StringComparer.Ordinal)
    {
        "global", "admin", "limits", "listeners", "routes", "upstreams", "policies", "client_ip", "consumers",
    };

    /// <param name="loadedAt">When this configuration was loaded (start or reload), shown as "loaded_at".</param>
    public static byte[] Write(ProxyConfig config, DateTimeOffset? loadedAt = null)
    {
        var buffer = new ArrayBufferWriter<byte>(8192);
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteString("source", config.SourcePath);
            if (loadedAt is { } at) json.WriteString("loaded_at", at.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture));
            WriteGlobal(json, config.Global);
            WriteAdmin(json, config.Admin);
            json.WritePropertyName("limits");
            WriteLimits(json, config.Limits);
            WriteListeners(json, config.Listeners);
            WriteRoutes(json, config.Routes);
            WriteUpstreams(json, config.Upstreams);
            WriteClientIp(json, config.ClientIp);
            WriteConsumers(json, config.Consumers, RawTable(config.Document, "consumers"));
            WritePolicies(json, config.Policies, RawTable(config.Document, "policies"));
            if (config.Document is { } document)
            {
                foreach (var (key, value) in document)
                {
                    if (ModelSections.Contains(key)) continue;
                    json.WritePropertyName(key);
                    Redaction.WriteValue(json, key, value);
                }
            }
            json.WriteEndObject();
        }
        buffer.Write("\n"u8);
        return buffer.WrittenSpan.ToArray();
    }

    private static TomlTable? RawTable(TomlTable? document, string key)
        => document is not null && document.TryGetValue(key, out var value) ? value as TomlTable : null;

    private static void WriteGlobal(Utf8JsonWriter json, GlobalConfig global)
    {
        json.WriteStartObject("global");
        json.WriteString("shutdown_timeout", Duration(global.ShutdownTimeout));
        json.WriteNumber("max_connections", global.MaxConnections);
        json.WriteEndObject();
    }

    private static void WriteAdmin(Utf8JsonWriter json, AdminConfig? admin)
    {
        if (admin is null)
        {
            json.WriteNull("admin");
            return;
        }
        json.WriteStartObject("admin");
        json.WriteString("bind", admin.Bind);
        if (admin.TokenHash is null) json.WriteNull("token");
        else json.WriteString("token", admin.TokenSource ?? Redacted);
        json.WriteEndObject();
    }

    private static void WriteLimits(Utf8JsonWriter json, LimitsConfig limits)
    {
        json.WriteStartObject();
        json.WriteString("header_timeout", Duration(limits.HeaderTimeout));
        json.WriteString("idle_timeout", Duration(limits.IdleTimeout));
        json.WriteString("max_request_line", Size(limits.MaxRequestLine));
        json.WriteString("max_header_bytes", Size(limits.MaxHeaderBytes));
        json.WriteNumber("max_headers", limits.MaxHeaders);
        json.WriteString("max_body", Size(limits.MaxBody));
        json.WriteEndObject();
    }

    private static void WriteListeners(Utf8JsonWriter json, IReadOnlyList<ListenerConfig> listeners)
    {
        json.WriteStartArray("listeners");
        foreach (var listener in listeners)
        {
            json.WriteStartObject();
            json.WriteString("name", listener.Name);
            json.WriteString("bind", listener.Bind);
            json.WriteString("protocol", listener.Protocol == ListenerProtocol.Tcp ? "tcp" : "http");
            if (listener.Upstream is not null) json.WriteString("upstream", listener.Upstream);
            json.WriteBoolean("reuse_port", listener.ReusePort);
            json.WriteBoolean("proxy_protocol", listener.ProxyProtocol);
            Strings(json, "policies", listener.Policies);
            json.WriteStartArray("tls");
            foreach (var tls in listener.Tls)
            {
                json.WriteStartObject();
                json.WriteString("cert", tls.Cert);
                // The key's path, never its contents.
                json.WriteString("key", tls.Key);
                if (tls.Sni is null) json.WriteNull("sni");
                else Strings(json, "sni", tls.Sni);
                if (tls.ClientCa is null) json.WriteNull("client_ca");
                else json.WriteString("client_ca", tls.ClientCa);
                json.WriteEndObject();
            }
            json.WriteEndArray();
            if (listener.Hsts is { } hsts)
            {
                // Present only when set: the field exactly as it is sent.
                json.WriteString("hsts", hsts.Value);
            }
            if (listener.Protocol == ListenerProtocol.Http)
            {
                json.WritePropertyName("limits");
                WriteLimits(json, listener.Limits);
            }
            json.WriteEndObject();
        }
        json.WriteEndArray();
    }

    private static void WriteRoutes(Utf8JsonWriter json, IReadOnlyList<RouteConfig> routes)
    {
        json.WriteStartArray("routes");
        foreach (var route in routes)
        {
            json.WriteStartObject();
            json.WriteString("name", route.Name);
            if (route.Listeners is null) json.WriteNull("listeners");
            else Strings(json, "listeners", route.Listeners);
            if (route.Upstream is not null) json.WriteString("upstream", route.Upstream);
            if (route.StripPrefix is not null) json.WriteString("strip_prefix", route.StripPrefix);
            Strings(json, "policies", route.Policies);
            var match = route.Match;
            json.WriteStartObject("match");
            if (match.Host is not null) json.WriteString("host", match.Host);
            if (match.Path is not null) json.WriteString("path", match.Path);
            if (match.PathPrefix is not null) json.WriteString("path_prefix", match.PathPrefix);
            if (match.PathRegex is not null) json.WriteString("path_regex", match.PathRegex.ToString());
            if (match.Query.Count > 0)
            {
                json.WriteStartObject("query");
                foreach (var (name, value) in match.Query) json.WriteString(name, value);
                json.WriteEndObject();
            }
            if (match.Methods is not null) Strings(json, "methods", match.Methods);
            if (match.Sni is not null) json.WriteString("sni", match.Sni);
            // Header values to match may be credentials (a shared secret header): redacted by name like the rest.
            if (match.Headers.Count > 0) Fields(json, "headers", match.Headers);
            json.WriteEndObject();
            if (route.Respond is { } respond)
            {
                json.WriteStartObject("respond");
                json.WriteNumber("status", respond.Status);
                json.WriteString("body", respond.Body);
                Fields(json, "headers", respond.Headers);
                json.WriteEndObject();
            }
            if (route.Static is { } files)
            {
                json.WriteStartObject("static");
                json.WriteString("root", files.Root);
                json.WriteString("index", files.Index);
                json.WriteBoolean("precompressed", files.Precompressed);
                json.WriteBoolean("dotfiles", files.Dotfiles);
                json.WriteStartObject("types");
                foreach (var (ext, type) in files.Types) json.WriteString(ext, type);
                json.WriteEndObject();
                json.WriteEndObject();
            }
            json.WriteEndObject();
        }
        json.WriteEndArray();
    }

    private static void WriteClientIp(Utf8JsonWriter json, ClientIpConfig clientIp)
    {
        json.WriteStartObject("client_ip");
        json.WriteStartArray("trusted_proxies");
        foreach (var block in clientIp.TrustedProxies) json.WriteStringValue(block.ToString());
        json.WriteEndArray();
        json.WriteString("header", clientIp.Header == ForwardedHeader.Forwarded ? "forwarded" : "x-forwarded-for");
        json.WriteEndObject();
    }

    private static void WriteConsumers(Utf8JsonWriter json, IReadOnlyList<ConsumerConfig> consumers, TomlTable? raw)
    {
        json.WriteStartArray("consumers");
        foreach (var consumer in consumers)
        {
            json.WriteStartObject();
            json.WriteString("name", consumer.Name);
            // Only how each key was given: "env:NAME" as written, a digest as "[redacted]" (a digest is enough to
            // look a key up in a leaked table of common keys).
            json.WriteStartArray("api_keys");
            if (raw is not null && raw.TryGetValue(consumer.Name, out var entry) && entry is TomlTable table &&
                table.TryGetValue("api_keys", out var keys) && keys is TomlArray array)
            {
                foreach (var key in array) json.WriteStringValue(key is string s ? Redaction.Reference(s) ?? Redacted : Redacted);
            }
            else
            {
                foreach (var _ in consumer.ApiKeyHashes) json.WriteStringValue(Redacted);
            }
            json.WriteEndArray();
            Strings(json, "groups", consumer.Groups);
            if (consumer.Plan is null) json.WriteNull("plan");
            else json.WriteString("plan", consumer.Plan);
            if (consumer.JwtSubject is null) json.WriteNull("jwt_subject");
            else json.WriteString("jwt_subject", consumer.JwtSubject);
            if (consumer.BasicPasswordHash is null) json.WriteNull("basic_password_hash");
            else json.WriteString("basic_password_hash", Redacted);
            json.WriteEndObject();
        }
        json.WriteEndArray();
    }

    /// <summary>Policies: name and type, then the keys as written in the file (policy kinds differ), redacted.</summary>
    private static void WritePolicies(Utf8JsonWriter json, IReadOnlyList<PolicyConfig> policies, TomlTable? raw)
    {
        json.WriteStartArray("policies");
        foreach (var policy in policies)
        {
            json.WriteStartObject();
            json.WriteString("name", policy.Name);
            json.WriteString("type", policy.Type);
            if (raw is not null && raw.TryGetValue(policy.Name, out var entry) && entry is TomlTable table)
            {
                foreach (var (key, value) in table)
                {
                    if (key is "name" or "type") continue;
                    json.WritePropertyName(key);
                    Redaction.WriteValue(json, key, value);
                }
            }
            json.WriteEndObject();
        }
        json.WriteEndArray();
    }

    private static void Strings(Utf8JsonWriter json, string name, IEnumerable<string> values)
    {
        json.WriteStartArray(name);
        foreach (var value in values) json.WriteStringValue(value);
        json.WriteEndArray();
    }

    /// <summary>Header fields as an object, values of credential-like fields redacted.</summary>
    private static void Fields(Utf8JsonWriter json, string name, IReadOnlyList<KeyValuePair<string, string>> fields)
    {
        json.WriteStartObject(name);
        foreach (var (field, value) in fields) json.WriteString(field, Redaction.IsSensitiveName(field) ? Redaction.Reference(value) ?? Redacted : Redaction.Scrub(value));
        json.WriteEndObject();
    }

    /// <summary>"30s", "1500ms", "2m", "1h": the largest unit that divides the value, as the file would say it.</summary>
    public static string Duration(TimeSpan value)
    {
        long ms = (long)value.TotalMilliseconds;
        if (ms == 0) return "0s";
        if (ms % 3_600_000 == 0) return (ms / 3_600_000).ToString(CultureInfo.InvariantCulture) + "h";
        if (ms % 60_000 == 0) return (ms / 60_000).ToString(CultureInfo.InvariantCulture) + "m";
        if (ms % 1000 == 0) return (ms / 1000).ToString(CultureInfo.InvariantCulture) + "s";
        return ms.ToString(CultureInfo.InvariantCulture) + "ms";
    }

    private static string Size(long bytes) => bytes == 0 ? "0" : Sizes.Format(bytes);
}
