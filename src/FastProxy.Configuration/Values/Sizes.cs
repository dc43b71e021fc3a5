using System.Globalization;

namespace FastProxy.Configuration.Values;

/// <summary>
/// Sizes are strings: a whole number and a binary unit, B, KiB, MiB, GiB or TiB ("512B", "16KiB",
/// "10MiB"), or "0". Decimal units (KB, MB) are refused rather than guessed: 1MB and 1MiB differ
/// by 5%, and which one a user meant is not ours to pick.
/// </summary>
internal static class Sizes
{
    public const string Forms = "a whole number with a unit B, KiB, MiB or GiB, e.g. \"512B\", \"16KiB\", \"10MiB\"";

    private static readonly (string Unit, long Bytes)[] Units =
    [
        ("B", 1),
        ("KiB", 1L << 10),
        ("MiB", 1L << 20),
        ("GiB", 1L << 30),
        ("TiB", 1L << 40),
    ];

    private static readonly Dictionary<string, string> Aliases = new(StringComparer.OrdinalIgnoreCase)
    {
        ["b"] = "B", ["bytes"] = "B",
        ["k"] = "KiB", ["kb"] = "KiB", ["kib"] = "KiB",
        ["m"] = "MiB", ["mb"] = "MiB", ["mib"] = "MiB",
        ["g"] = "GiB", ["gb"] = "GiB", ["gib"] = "GiB",
        ["t"] = "TiB", ["tb"] = "TiB", ["tib"] = "TiB",
    };

    public static bool TryParse(string text, out long value, out string problem)
    {
        value = 0;
        problem = "";
        if (text == "0") return true;
        var digits = 0;
        while (digits < text.Length && char.IsAsciiDigit(text[digits])) digits++;
        var unit = text[digits..];
        var index = Array.FindIndex(Units, u => u.Unit == unit);
        if (digits == 0 || index < 0)
        {
            var hint = "";
            var trimmedUnit = unit.Trim();
            if (digits > 0 && (trimmedUnit.Length == 0 || Aliases.ContainsKey(trimmedUnit)))
            {
                hint = $" (did you mean \"{text[..digits]}{(trimmedUnit.Length == 0 ? "B" : Aliases[trimmedUnit])}\"?)";
            }
            problem = $"invalid size \"{text}\"{hint}: expected {Forms}";
            return false;
        }
        if (digits > 15 || !long.TryParse(text.AsSpan(0, digits), NumberStyles.None, CultureInfo.InvariantCulture, out var number)
            || number > long.MaxValue / Units[index].Bytes)
        {
            problem = $"invalid size \"{text}\": too large";
            return false;
        }
        value = number * Units[index].Bytes;
        return true;
    }

    /// <summary>The largest whole unit that fits: 2147483647 -> "2147483647B", 1073741824 -> "1GiB".</summary>
    public static string Format(long bytes)
    {
        for (var i = Units.Length - 1; i > 0; i--)
        {
            if (bytes % Units[i].Bytes == 0) return (bytes / Units[i].Bytes).ToString(CultureInfo.InvariantCulture) + Units[i].Unit;
        }
        return bytes.ToString(CultureInfo.InvariantCulture) + "B";
    }
}
