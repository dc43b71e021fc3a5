namespace FastProxy.Configuration.Reading;

/// <summary>"Did you mean" for typos: a key or name close to a known one is almost always a typo of it.</summary>
internal static class Suggestions
{
    /// <summary>The closest candidate within a small edit distance, or null when nothing is plausibly meant.</summary>
    public static string? Closest(string input, IEnumerable<string> candidates)
    {
        var normalized = Normalize(input);
        string? best = null;
        var bestDistance = int.MaxValue;
        foreach (var candidate in candidates)
        {
            var target = Normalize(candidate);
            // Case and '-' vs '_' slips ("Max-Body") are the same key to a human.
            var distance = target == normalized ? 0 : Distance(normalized, target);
            // Allow about one edit per three characters, at least one, at most three:
            // "nmae" -> "name", "upstream" -> "upstreams", but not "tls" -> "sni".
            var allowed = Math.Clamp(target.Length / 3, 1, 3);
            if (distance <= allowed && distance < bestDistance)
            {
                best = candidate;
                bestDistance = distance;
            }
        }
        return best ?? ByPrefix(normalized, candidates);
    }

    // Abbreviation or spelled out ("certificate" for "cert", "health_check" for "health"):
    // too many edits for the distance rule, but one name clearly contains the other.
    private static string? ByPrefix(string normalized, IEnumerable<string> candidates)
    {
        string? best = null;
        foreach (var candidate in candidates)
        {
            var target = Normalize(candidate);
            if (Math.Min(target.Length, normalized.Length) < 3) continue;
            if (!target.StartsWith(normalized, StringComparison.Ordinal) && !normalized.StartsWith(target, StringComparison.Ordinal)) continue;
            if (best is null || Math.Abs(candidate.Length - normalized.Length) < Math.Abs(best.Length - normalized.Length)) best = candidate;
        }
        return best;
    }

    /// <summary>" (did you mean "x"?)" or "", ready to append to a message.</summary>
    public static string DidYouMean(string input, IEnumerable<string> candidates)
    {
        var closest = Closest(input, candidates);
        return closest is null ? "" : $" (did you mean \"{closest}\"?)";
    }

    public static string KnownList(IEnumerable<string> names)
    {
        var list = string.Join(", ", names);
        return list.Length == 0 ? "none" : list;
    }

    private static string Normalize(string s) => s.ToLowerInvariant().Replace('-', '_');

    // Optimal string alignment distance: Levenshtein plus adjacent transpositions ("nmae").
    private static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (var i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (var j = 0; j <= b.Length; j++) d[0, j] = j;
        for (var i = 1; i <= a.Length; i++)
        {
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                {
                    d[i, j] = Math.Min(d[i, j], d[i - 2, j - 2] + 1);
                }
            }
        }
        return d[a.Length, b.Length];
    }
}
