using System.Text;
using System.Text.RegularExpressions;

namespace FastProxy.Policies.Types.Rewrite;

/// <summary>
/// A rewrite with captures, without Regex.Match, for the common shape of pattern: a literal, ONE capture group, a literal
/// (<c>^/api/(.*)$</c>, <c>/old/(?&lt;rest&gt;.+)</c>, <c>^/v1/([^/]+)/orders</c>). A match of such a pattern is the first
/// literal, then the group, then the last literal, so <see cref="Regex.EnumerateMatches(ReadOnlySpan{char})"/>'s
/// index and length (no allocation) give the group too: it starts a prefix's length after the match and ends a
/// suffix's length before its end, whatever engine matched it. Any other pattern (two groups, a quantifier or class
/// outside the group, an optional group, inline options...) is not this shape: <see cref="TryCreate"/> returns null and
/// the policy uses Regex.Replace.
/// </summary>
internal sealed class CaptureSplice
{
    /// <summary>A piece of the replacement: literal bytes, or a group (0: the whole match, 1: the group).</summary>
    private readonly (byte[]? Literal, int Group)[] _parts;
    private readonly Regex _regex;
    private readonly int _prefix;
    private readonly int _suffix;

    private CaptureSplice(Regex regex, int prefix, int suffix, (byte[]?, int)[] parts)
    {
        _regex = regex;
        _prefix = prefix;
        _suffix = suffix;
        _parts = parts;
        foreach (var (literal, _) in parts)
        {
            if (literal is null) GroupReferences++;
            else LiteralBytes += literal.Length;
        }
    }

    /// <summary>Octets of literal text in the replacement; <see cref="GroupReferences"/>: $N and ${name} in it.</summary>
    public int LiteralBytes { get; }
    public int GroupReferences { get; }

    /// <summary>The splice for <paramref name="regex"/> and <paramref name="replacement"/> (checked at load: $N, ${name}, $$ only), or null when the pattern is not the one-group shape.</summary>
    public static CaptureSplice? TryCreate(Regex regex, string replacement)
    {
        if ((regex.Options & (RegexOptions.IgnoreCase | RegexOptions.IgnorePatternWhitespace | RegexOptions.RightToLeft
            | RegexOptions.ExplicitCapture | RegexOptions.Multiline | RegexOptions.Singleline)) != 0) return null;
        if (regex.GetGroupNumbers() is not [0, 1]) return null;
        string pattern = regex.ToString();
        int at = 0;
        if (pattern.StartsWith('^')) at = 1;
        else if (pattern.StartsWith("\\A", StringComparison.Ordinal)) at = 2;
        if (Literal(pattern, ref at, '(') is not { } prefix) return null;
        // The capture: "(" then not "?", or a named one "(?<name>" / "(?'name'" (not a lookbehind "(?<=", "(?<!").
        if (at >= pattern.Length || pattern[at] != '(') return null;
        if (at + 1 < pattern.Length && pattern[at + 1] == '?')
        {
            if (at + 3 >= pattern.Length || pattern[at + 2] is not ('<' or '\'') || pattern[at + 3] is '=' or '!') return null;
        }
        int close = CloseOf(pattern, at);
        if (close < 0) return null;
        at = close + 1;
        if (Literal(pattern, ref at, '$') is not { } suffix) return null;
        // What may follow the last literal: nothing, or an end anchor.
        string rest = pattern[at..];
        if (rest is not ("" or "$")) return null;
        if (Parts(replacement, regex.GroupNameFromNumber(1)) is not { } parts) return null;
        return new CaptureSplice(regex, prefix, suffix, parts);
    }

    /// <summary>
    /// Reads plain literal characters (anything but <c>\^$.|?*+()[]{}</c>, or a backslash before punctuation) from
    /// <paramref name="at"/>; stops before <paramref name="stop"/>. Returns how many characters they match, or null
    /// when something else comes first.
    /// </summary>
    private static int? Literal(string pattern, ref int at, char stop)
    {
        int count = 0;
        while (at < pattern.Length && pattern[at] != stop)
        {
            char c = pattern[at];
            if (c == '\\')
            {
                // \. \/ \- ... are the character; \d, \w, \b, \u0041, \1 ... are not plain.
                if (at + 1 >= pattern.Length || char.IsAsciiLetterOrDigit(pattern[at + 1]) || pattern[at + 1] > 0x7E) return null;
                at += 2;
            }
            else if (c is '^' or '$' or '.' or '|' or '?' or '*' or '+' or '(' or ')' or '[' or ']' or '{' or '}' or '#' || char.IsWhiteSpace(c))
            {
                return null;
            }
            else
            {
                at++;
            }
            count++;
        }
        return count;
    }

    /// <summary>The index of the ')' closing the '(' at <paramref name="open"/>; -1 when unbalanced. Escapes and character classes are skipped.</summary>
    private static int CloseOf(string pattern, int open)
    {
        int depth = 0;
        for (int i = open; i < pattern.Length; i++)
        {
            char c = pattern[i];
            if (c == '\\')
            {
                i++;
            }
            else if (c == '[')
            {
                // A class ends at the first unescaped ']' that is not its first character (after an optional '^').
                int j = i + 1;
                if (j < pattern.Length && pattern[j] == '^') j++;
                if (j < pattern.Length && pattern[j] == ']') j++;
                while (j < pattern.Length && pattern[j] != ']') j += pattern[j] == '\\' ? 2 : 1;
                if (j >= pattern.Length) return -1;
                i = j;
            }
            else if (c == '(')
            {
                depth++;
            }
            else if (c == ')' && --depth == 0)
            {
                return i;
            }
        }
        return -1;
    }

    /// <summary>The replacement as literal runs and group references; null for anything the load check would not have let through.</summary>
    private static (byte[]?, int)[]? Parts(string replacement, string groupName)
    {
        var parts = new List<(byte[]?, int)>();
        var literal = new StringBuilder();
        void Flush()
        {
            if (literal.Length == 0) return;
            parts.Add((Encoding.ASCII.GetBytes(literal.ToString()), -1));
            literal.Clear();
        }
        for (int i = 0; i < replacement.Length; i++)
        {
            char c = replacement[i];
            if (c > 0x7E) return null;
            if (c != '$')
            {
                literal.Append(c);
                continue;
            }
            if (i + 1 >= replacement.Length) return null;
            char next = replacement[i + 1];
            string reference;
            if (next == '$')
            {
                literal.Append('$');
                i++;
                continue;
            }
            if (char.IsAsciiDigit(next))
            {
                int end = i + 1;
                while (end < replacement.Length && char.IsAsciiDigit(replacement[end])) end++;
                reference = replacement[(i + 1)..end];
                i = end - 1;
            }
            else if (next == '{')
            {
                int close = replacement.IndexOf('}', i + 2);
                if (close < 0) return null;
                reference = replacement[(i + 2)..close];
                i = close;
            }
            else
            {
                return null;
            }
            int group = reference == "0" ? 0 : reference == "1" || reference == groupName ? 1 : -1;
            if (group < 0) return null;
            Flush();
            parts.Add((null, group));
        }
        Flush();
        return [.. parts];
    }

    /// <summary>
    /// The most octets a rewrite of a path of <paramref name="pathLength"/> with <paramref name="matches"/> matches can take:
    /// matches do not overlap, so all of them (and all their groups) together are at most the path, once per reference.
    /// </summary>
    public int Bound(int pathLength, int matches) => pathLength + matches * LiteralBytes + GroupReferences * pathLength;

    /// <summary>
    /// Writes <paramref name="path"/> with every match replaced into <paramref name="result"/> (at least <see cref="Bound"/>
    /// long); <paramref name="chars"/> is the path as characters (one per octet). Returns the length written.
    /// </summary>
    public int Splice(ReadOnlySpan<char> chars, ReadOnlySpan<byte> path, Span<byte> result)
    {
        int w = 0, last = 0;
        foreach (var match in _regex.EnumerateMatches(chars))
        {
            path[last..match.Index].CopyTo(result[w..]);
            w += match.Index - last;
            foreach (var (literal, group) in _parts)
            {
                ReadOnlySpan<byte> piece = literal is not null ? literal
                    : group == 0 ? path.Slice(match.Index, match.Length)
                    : path.Slice(match.Index + _prefix, match.Length - _prefix - _suffix);
                piece.CopyTo(result[w..]);
                w += piece.Length;
            }
            last = match.Index + match.Length;
        }
        path[last..].CopyTo(result[w..]);
        return w + path.Length - last;
    }
}
