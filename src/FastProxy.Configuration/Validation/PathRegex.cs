using System.Text.RegularExpressions;

namespace FastProxy.Configuration.Validation;

/// <summary>
/// Regular expressions on request paths (route path_regex, rewrite pattern), compiled once at load so that no path can
/// make a match slow: the NonBacktracking engine (linear in the path's length) when the pattern uses nothing it lacks,
/// else the backtracking one with <see cref="MatchTimeout"/>. (RegexOptions.Compiled does nothing under native AOT.)
/// </summary>
public static class PathRegex
{
    /// <summary>The bound on one match when the pattern needs the backtracking engine (backreferences, lookarounds).</summary>
    public static readonly TimeSpan MatchTimeout = TimeSpan.FromMilliseconds(50);

    /// <summary>The compiled pattern, or null with the parser's complaint.</summary>
    public static Regex? Compile(string pattern, out string? problem)
    {
        problem = null;
        try
        {
            return new Regex(pattern, RegexOptions.CultureInvariant | RegexOptions.NonBacktracking);
        }
        catch (RegexParseException ex)
        {
            problem = $"invalid regular expression at character {ex.Offset}: {ex.Error}";
            return null;
        }
        catch (NotSupportedException)
        {
            // Backreferences, lookarounds, atomic groups...: the backtracking engine, bounded per match.
        }
        try
        {
            return new Regex(pattern, RegexOptions.CultureInvariant, MatchTimeout);
        }
        catch (ArgumentException ex)
        {
            problem = $"invalid regular expression: {ex.Message}";
            return null;
        }
    }
}
