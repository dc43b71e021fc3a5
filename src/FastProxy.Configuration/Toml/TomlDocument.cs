using System.Text.RegularExpressions;
using FastProxy.Configuration.Reading;
using Tomlyn;
using Tomlyn.Model;
using Tomlyn.Parsing;
using Tomlyn.Syntax;

namespace FastProxy.Configuration.Toml;

/// <summary>
/// Turns TOML text into the untyped document plus a <see cref="SourceMap"/>, or into clean one-line errors.
/// Tomlyn's syntax parser reports every syntax error with its position; <see cref="TomlModelBuilder"/> then
/// builds the document from the syntax tree and refuses duplicate keys and tables (a redefinition must never
/// silently win or lose).
/// </summary>
internal static partial class TomlDocument
{
    public static (TomlTable Root, SourceMap Map)? Parse(string text, string sourceName, DiagnosticBag diagnostics)
    {
        DocumentSyntax syntax;
        try
        {
            // validate: false. Tomlyn's validator gets arrays of tables continued after other tables wrong
            // (see TomlModelBuilder); the builder applies TOML's rules on redefinition itself.
            syntax = SyntaxParser.Parse(text, sourceName, validate: false);
        }
        catch (TomlException e)
        {
            diagnostics.Error(new SourceLocation(sourceName, e.Line ?? 0, e.Column ?? 0), "", Clean(e.Message));
            return null;
        }
        if (syntax.HasErrors)
        {
            ReportSyntaxErrors(syntax, sourceName, diagnostics);
            return null;
        }
        return TomlModelBuilder.Build(syntax, sourceName, diagnostics);
    }

    private static void ReportSyntaxErrors(DocumentSyntax syntax, string sourceName, DiagnosticBag diagnostics)
    {
        // One error per line: after the first error on a line the parser resynchronises and the
        // rest are mostly echoes of it.
        var lines = new HashSet<int>();
        foreach (var d in syntax.Diagnostics)
        {
            var location = new SourceLocation(sourceName, d.Span.Start.Line + 1, d.Span.Start.Column + 1);
            if (d.Kind == DiagnosticMessageKind.Warning)
            {
                diagnostics.Warning(location, "", Clean(d.Message));
            }
            else if (lines.Add(location.Line))
            {
                diagnostics.Error(location, "", Clean(d.Message));
            }
        }
    }

    /// <summary>Tomlyn's wording, made to fit one line and our lower-case style.</summary>
    private static string Clean(string message)
    {
        message = TokenKindRegex().Replace(message, "");
        message = message.Replace("`<eof>`", "end of file", StringComparison.Ordinal)
            .Replace("`␤`", "end of line", StringComparison.Ordinal).Replace("␤", " ", StringComparison.Ordinal);
        message = message.ReplaceLineEndings(" ").Trim();
        if (message.EndsWith('.')) message = message[..^1];
        return message.Length == 0 ? "invalid TOML" : char.ToLowerInvariant(message[0]) + message[1..];
    }

    // " (token: `newline`)": the parser's internal token names add nothing for a reader.
    [GeneratedRegex(@" \(token: `[^`]*`\)")]
    private static partial Regex TokenKindRegex();
}
