using System.Diagnostics;
using System.Text;
using System.Text.Json;
using FastProxy.Observability;
using FastProxy.Observability.AccessLog;

namespace FastProxy.Tests.Observability.AccessLog;

/// <summary>The two layouts, byte for byte, and what they do with hostile or oversized input.</summary>
public sealed class AccessLogFormatterTests
{
    private static readonly DateTime When = new(2026, 12, 7, 15, 41, 3, 45, DateTimeKind.Utc);

    private static string Format(IAccessLogFormatter formatter, AccessLogEntry entry, QueryRedaction? redaction = null)
    {
        var buffer = new byte[LineQueue.SlotSize];
        int length = formatter.Format(entry, redaction ?? QueryRedaction.None, buffer);
        Assert.InRange(length, 1, buffer.Length);
        return Encoding.UTF8.GetString(buffer, 0, length);
    }

    private static long Ms(double ms) => (long)(ms * Stopwatch.Frequency / 1000);

    private static AccessLogEntry Proxied() => new()
    {
        Time = When,
        ClientIp = "127.0.0.1"u8,
        Method = "GET"u8,
        Host = "example.test"u8,
        Path = "/api/items"u8,
        Query = "page=2"u8,
        Protocol = "HTTP/1.1"u8,
        Status = 200,
        BytesIn = 78,
        BytesOut = 152,
        DurationTicks = Ms(1.5),
        Upstream = "api"u8,
        Server = "127.0.0.1:9001"u8,
        UpstreamTicks = Ms(0.25),
        Route = "items"u8,
        Consumer = "alice"u8,
        RequestId = "0123456789abcdef0000000000000001"u8,
        UserAgent = "curl/8.5.0"u8,
        Referer = "https://example.test/"u8,
        Flags = RequestFlags.None,
    };

    [Fact]
    public void Json_line_has_every_field_in_order()
    {
        var line = Format(AccessLogFormatters.Json, Proxied());
        Assert.Equal(
            "{\"time\":\"2026-12-07T15:41:03.045Z\",\"client_ip\":\"127.0.0.1\",\"method\":\"GET\",\"host\":\"example.test\"," +
            "\"path\":\"/api/items?page=2\",\"protocol\":\"HTTP/1.1\",\"status\":200,\"bytes_in\":78,\"bytes_out\":152," +
            "\"duration_ms\":1.500,\"upstream\":\"api\",\"server\":\"127.0.0.1:9001\",\"upstream_ms\":0.250,\"route\":\"items\"," +
            "\"consumer\":\"alice\",\"request_id\":\"0123456789abcdef0000000000000001\",\"user_agent\":\"curl/8.5.0\",\"flags\":[]}\n",
            line);
    }

    [Fact]
    public void Json_absent_values_are_null_and_flags_are_named()
    {
        var entry = new AccessLogEntry
        {
            Time = When,
            ClientIp = "::1"u8,
            Method = "GET"u8,
            Path = "/nothing"u8,
            Protocol = "HTTP/2.0"u8,
            Status = 504,
            UpstreamTicks = -1,
            Flags = RequestFlags.UpstreamTimeout | RequestFlags.Retried,
        };
        using var json = JsonDocument.Parse(Format(AccessLogFormatters.Json, entry));
        var root = json.RootElement;
        Assert.Equal(JsonValueKind.Null, root.GetProperty("host").ValueKind);
        Assert.Equal(JsonValueKind.Null, root.GetProperty("upstream").ValueKind);
        Assert.Equal(JsonValueKind.Null, root.GetProperty("upstream_ms").ValueKind);
        Assert.Equal(JsonValueKind.Null, root.GetProperty("user_agent").ValueKind);
        Assert.Equal(504, root.GetProperty("status").GetInt32());
        Assert.Equal(["upstream_timeout", "retried"], root.GetProperty("flags").EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public void Json_escapes_quotes_controls_and_invalid_utf8()
    {
        var entry = Proxied();
        // A quote and a backslash, a newline, a NUL, valid UTF-8 (é, €) and two invalid bytes (a lone 0xC3, 0xFF).
        byte[] agent = [.. "a\"b\\c\nd"u8, 0, .. "é€"u8, 0xC3, (byte)'x', 0xFF];
        entry.UserAgent = agent;
        var line = Format(AccessLogFormatters.Json, entry);

        Assert.Single(line.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("\"user_agent\":\"a\\\"b\\\\c\\nd\\u0000é€\\ufffdx\\ufffd\"", line);
        using var json = JsonDocument.Parse(line);
        Assert.Equal("a\"b\\c\nd\0é€\ufffdx\ufffd", json.RootElement.GetProperty("user_agent").GetString());
    }

    [Fact]
    public void Every_field_at_its_longest_still_fits_the_slot_and_stays_valid_json()
    {
        byte[] Long(byte b, int n) => Enumerable.Repeat(b, n).ToArray();
        var entry = new AccessLogEntry
        {
            Time = DateTime.MaxValue.ToUniversalTime(),
            ClientIp = Long((byte)'\n', 500),
            Method = Long((byte)'"', 500),
            Host = Long(0x01, 5000),
            Path = Long((byte)'\\', 5000),
            Protocol = Long(0xFF, 500),
            Status = int.MaxValue,
            BytesIn = long.MaxValue,
            BytesOut = long.MaxValue,
            DurationTicks = long.MaxValue / 2,
            Upstream = Long(0x02, 5000),
            Server = Long(0x03, 5000),
            UpstreamTicks = long.MaxValue / 2,
            Route = Long(0x04, 5000),
            Consumer = Long(0x05, 5000),
            RequestId = Long(0x06, 5000),
            UserAgent = Long(0x07, 5000),
            Referer = Long(0x08, 5000),
            Flags = (RequestFlags)0x1FFFF,
        };
        var json = Format(AccessLogFormatters.Json, entry);
        using (var document = JsonDocument.Parse(json))
        {
            Assert.EndsWith("...", document.RootElement.GetProperty("path").GetString());
            // The flags come after the text: with every text field at its cap, as many whole names as fit, in order.
            var flags = document.RootElement.GetProperty("flags").EnumerateArray().Select(e => e.GetString()).ToList();
            Assert.Equal(AccessLogFlagNames.All.Take(flags.Count), flags);
        }
        var combined = Format(AccessLogFormatters.Combined, entry);
        Assert.EndsWith("\"\n", combined);
        Assert.Single(combined.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public void Every_flag_is_named_on_an_ordinary_line()
    {
        var entry = Proxied();
        entry.Flags = (RequestFlags)((1u << RequestFlagNames.Names.Length) - 1);
        using var json = JsonDocument.Parse(Format(AccessLogFormatters.Json, entry));
        Assert.Equal(RequestFlagNames.Names, json.RootElement.GetProperty("flags").EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public void A_cut_never_splits_an_escape_or_a_character()
    {
        var entry = Proxied();
        // 3-byte characters: wherever the cap falls, the text before "..." must be whole characters.
        entry.Path = Encoding.UTF8.GetBytes("/" + new string('€', 400));
        entry.Query = default;
        using var json = JsonDocument.Parse(Format(AccessLogFormatters.Json, entry));
        var path = json.RootElement.GetProperty("path").GetString()!;
        Assert.EndsWith("...", path);
        Assert.Matches("^/€+\\.\\.\\.$", path);
    }

    [Fact]
    public void Combined_matches_nginx_layout()
    {
        var line = Format(AccessLogFormatters.Combined, Proxied());
        // nginx: log_format combined '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"';
        Assert.Equal("127.0.0.1 - - [07/Dec/2026:15:41:03 +0000] \"GET /api/items?page=2 HTTP/1.1\" 200 152 \"https://example.test/\" \"curl/8.5.0\"\n", line);
    }

    [Fact]
    public void Combined_writes_dashes_for_absent_headers_and_escapes_like_nginx()
    {
        var entry = Proxied();
        entry.Referer = default;
        byte[] agent = [.. "x\"y\\"u8, 0x0A, 0xC3, 0xA9];
        entry.UserAgent = agent;
        var line = Format(AccessLogFormatters.Combined, entry);
        Assert.EndsWith(" 200 152 \"-\" \"x\\x22y\\x5C\\x0A\\xC3\\xA9\"\n", line);
    }

    [Fact]
    public void Credential_query_parameters_are_redacted_in_both_formats()
    {
        var redaction = new QueryRedaction(["api_key", "access_token"]);
        var entry = Proxied();
        entry.Path = "/p"u8;
        entry.Query = "a=1&api_key=s3cret&access_token=eyJ.x.y&api_keyx=kept&api_key=again&z"u8;
        const string Expected = "/p?a=1&api_key=REDACTED&access_token=REDACTED&api_keyx=kept&api_key=REDACTED&z";

        var json = Format(AccessLogFormatters.Json, entry, redaction);
        var combined = Format(AccessLogFormatters.Combined, entry, redaction);

        Assert.Contains($"\"path\":\"{Expected}\"", json);
        Assert.Contains($"\"GET {Expected} HTTP/1.1\"", combined);
        Assert.DoesNotContain("s3cret", json + combined);
        Assert.DoesNotContain("eyJ", json + combined);
        Assert.DoesNotContain("again", json + combined);
    }

    [Fact]
    public void Without_names_to_redact_the_path_is_copied()
    {
        var entry = Proxied();
        entry.Path = "/p"u8;
        entry.Query = "api_key=visible"u8;
        Assert.Contains("\"path\":\"/p?api_key=visible\"", Format(AccessLogFormatters.Json, entry));
    }
}
