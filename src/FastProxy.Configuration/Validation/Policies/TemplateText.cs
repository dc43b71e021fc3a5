using System.Text;

namespace FastProxy.Configuration.Validation.Policies;

/// <summary>
/// The one scanner of template text (header values, aggregate paths, json_body values): literal text and variables in
/// braces, in order. <c>{{</c> is a literal <c>{</c>; a <c>}</c> outside a variable is literal. What a variable may
/// name, and what the literal text may hold, is each template kind's own rule.
/// </summary>
internal static class TemplateText
{
    /// <summary>The segments of <paramref name="text"/> (adjacent literal text joined), or null with the problem (an unclosed '{').</summary>
    public static List<(string Text, bool IsVariable)>? Split(string text, out string? problem)
    {
        var segments = new List<(string, bool)>();
        var literal = new StringBuilder();
        int i = 0;
        while (i < text.Length)
        {
            char c = text[i];
            if (c != '{')
            {
                literal.Append(c);
                i++;
                continue;
            }
            if (i + 1 < text.Length && text[i + 1] == '{')
            {
                literal.Append('{');
                i += 2;
                continue;
            }
            int close = text.IndexOf('}', i + 1);
            if (close < 0)
            {
                problem = $"unclosed '{{' at character {i + 1} (a literal '{{' is written '{{{{')";
                return null;
            }
            if (literal.Length > 0)
            {
                segments.Add((literal.ToString(), false));
                literal.Clear();
            }
            segments.Add((text[(i + 1)..close], true));
            i = close + 1;
        }
        if (literal.Length > 0) segments.Add((literal.ToString(), false));
        problem = null;
        return segments;
    }
}
