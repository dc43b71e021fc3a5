namespace FastProxy.Configuration.Values;

/// <summary>
/// Durations are strings: a whole number and a unit, ms, s, m or h ("250ms", "5s", "2m", "1h").
/// Components may be combined largest unit first, each unit once ("1m30s", "1h30m", "2s500ms"),
/// as Go and Envoy users write them. No fractions ("1.5s": write "1500ms") and no spaces.
/// </summary>
internal static class Durations
{
    public const string Forms = "a whole number with a unit ms, s, m or h, e.g. \"250ms\", \"5s\", \"2m\", \"1h\", or combined as \"1m30s\"";

    private static readonly (string Unit, long Milliseconds)[] Units =
    [
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1_000),
        ("ms", 1),
    ];

    // Spellings people carry over from other tools, mapped to ours for the hint.
    private static readonly Dictionary<string, string> Aliases = new(StringComparer.Ordinal)
    {
        ["msec"] = "ms", ["msecs"] = "ms", ["millis"] = "ms", ["MS"] = "ms", ["Ms"] = "ms",
        ["sec"] = "s", ["secs"] = "s", ["second"] = "s", ["seconds"] = "s", ["S"] = "s",
        ["min"] = "m", ["mins"] = "m", ["minute"] = "m", ["minutes"] = "m", ["M"] = "m",
        ["hr"] = "h", ["hrs"] = "h", ["hour"] = "h", ["hours"] = "h", ["H"] = "h",
    };

    public static bool TryParse(string text, out TimeSpan value, out string problem)
    {
        value = TimeSpan.Zero;
        problem = "";
        long total = 0;
        var lastUnit = -1;
        var i = 0;
        if (text.Length == 0) return Fail(text, "", out problem);
        while (i < text.Length)
        {
            var start = i;
            while (i < text.Length && char.IsAsciiDigit(text[i])) i++;
            if (i == start) return Fail(text, Hint(text), out problem);
            var digits = text[start..i];
            start = i;
            while (i < text.Length && char.IsAsciiLetter(text[i])) i++;
            var unit = text[start..i];
            var unitIndex = Array.FindIndex(Units, u => u.Unit == unit);
            if (unitIndex < 0) return Fail(text, Hint(text), out problem);
            if (unitIndex <= lastUnit)
            {
                problem = $"invalid duration \"{text}\": combine units largest first and each once, e.g. \"1m30s\"";
                return false;
            }
            lastUnit = unitIndex;
            // Over a few centuries is a mistake, not a timeout; this also keeps the sum from overflowing.
            if (digits.Length > 12 || !long.TryParse(digits, out var number))
            {
                problem = $"invalid duration \"{text}\": too large";
                return false;
            }
            total += number * Units[unitIndex].Milliseconds;
            if (total > (long)TimeSpan.MaxValue.TotalMilliseconds)
            {
                problem = $"invalid duration \"{text}\": too large";
                return false;
            }
        }
        value = TimeSpan.FromMilliseconds(total);
        return true;
    }

    /// <summary>A corrected spelling for common slips ("30" or "5sec"), as " (did you mean ...?)", or "".</summary>
    private static string Hint(string text)
    {
        var trimmed = text.Replace(" ", "", StringComparison.Ordinal);
        var digits = 0;
        while (digits < trimmed.Length && char.IsAsciiDigit(trimmed[digits])) digits++;
        if (digits == 0) return "";
        var unit = trimmed[digits..];
        if (unit.Length == 0) return $" (did you mean \"{trimmed}s\"?)";
        if (!Aliases.TryGetValue(unit, out var ours))
        {
            // "5 s": the unit was right, the space was not.
            if (!Array.Exists(Units, u => u.Unit == unit) || trimmed == text) return "";
            ours = unit;
        }
        return $" (did you mean \"{trimmed[..digits]}{ours}\"?)";
    }

    private static bool Fail(string text, string hint, out string problem)
    {
        problem = $"invalid duration \"{text}\"{hint}: expected {Forms}";
        return false;
    }
}
