using System.Text.Json;
using Tomlyn.Model;

namespace FastProxy.Configuration.Export;

/// <summary>
/// What /config leaves out of values written as the file has them (policies, sections the model does not describe):
/// the rules go by key name, so a section added later is redacted without being known here.
/// </summary>
public static class Redaction
{
    /// <summary>Parts of a key or header name that say its value is a credential (compared without case).</summary>
    private static readonly string[] SensitiveParts =
    [
        "password", "passwd", "secret", "token", "credential", "authorization", "cookie", "api_key", "api-key", "apikey",
        "private", "_hash", "signature",
    ];

    /// <summary>A key (or header field) whose value is a credential: `password`, `token`, `api_keys`, `basic_password_hash`, `authorization`...</summary>
    public static bool IsSensitiveName(string name)
    {
        foreach (var part in SensitiveParts)
        {
            if (name.Contains(part, StringComparison.OrdinalIgnoreCase)) return true;
        }
        return false;
    }

    /// <summary>"env:NAME" and "file:PATH" name where a secret is, not the secret: shown as written. Null for anything else.</summary>
    public static string? Reference(string value)
        => value.StartsWith("env:", StringComparison.Ordinal) || value.StartsWith("file:", StringComparison.Ordinal) ? value : null;

    /// <summary>A value shown as it is, except the user:password part of a URL ("redis://:pw@host" -> "redis://[redacted]@host").</summary>
    public static string Scrub(string value)
    {
        int scheme = value.IndexOf("://", StringComparison.Ordinal);
        if (scheme < 0) return value;
        int start = scheme + 3;
        int end = value.IndexOfAny(['/', '?', '#'], start);
        if (end < 0) end = value.Length;
        int at = value.LastIndexOf('@', end - 1, end - start);
        return at < 0 ? value : string.Concat(value.AsSpan(0, start), EffectiveConfigJson.Redacted, value.AsSpan(at));
    }

    /// <summary>
    /// Writes a value of the parsed file (string, integer, float, boolean, date, array, table) under
    /// <paramref name="key"/>: strings under a sensitive key (or inside a table or array under one) become
    /// "[redacted]" unless they are an "env:"/"file:" reference; other strings lose URL credentials.
    /// </summary>
    public static void WriteValue(Utf8JsonWriter json, string key, object? value, bool sensitive = false)
    {
        sensitive |= IsSensitiveName(key);
        switch (value)
        {
            case string text:
                json.WriteStringValue(sensitive ? Reference(text) ?? EffectiveConfigJson.Redacted : Scrub(text));
                break;
            case long number:
                json.WriteNumberValue(number);
                break;
            case double number when double.IsFinite(number):
                json.WriteNumberValue(number);
                break;
            case double number:
                json.WriteStringValue(number.ToString(System.Globalization.CultureInfo.InvariantCulture));
                break;
            case bool flag:
                json.WriteBooleanValue(flag);
                break;
            case TomlTable table:
                json.WriteStartObject();
                foreach (var (name, inner) in table)
                {
                    json.WritePropertyName(name);
                    WriteValue(json, name, inner, sensitive);
                }
                json.WriteEndObject();
                break;
            case TomlTableArray tables:
                json.WriteStartArray();
                foreach (var table in tables) WriteValue(json, key, table, sensitive);
                json.WriteEndArray();
                break;
            case TomlArray array:
                json.WriteStartArray();
                foreach (var item in array) WriteValue(json, key, item, sensitive);
                json.WriteEndArray();
                break;
            case null:
                json.WriteNullValue();
                break;
            default:
                // Dates and times: as TOML writes them.
                json.WriteStringValue(sensitive ? EffectiveConfigJson.Redacted : Scrub(value.ToString() ?? ""));
                break;
        }
    }
}
