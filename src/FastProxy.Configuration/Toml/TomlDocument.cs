using System.Text.RegularExpressions;
using FastProxy.Configuration.Reading;
using Tomlyn;
using Tomlyn.Model;
using Tomlyn.Parsing;
using Tomlyn.Syntax;

namespace FastProxy.Configuration.Toml;

/// <summary>
/// Turns TOML text into the untyped document plus a <see cref="SourceMap"/>, or into clean
/// one-line syntax errors. The syntax pass runs first because it reports every error with its
/// position (the deserializer stops at the first and wraps it in converter noise) and rejects
/// duplicate keys and tables, which the deserializer would silently let the last one win.
/// </summary>
internal static partial class TomlDocument
{
    public static (TomlTable Root, SourceMap Map)? Parse(string text, string sourceName, DiagnosticBag diagnostics)
    {
        DocumentSyntax syntax;
        try
        {
            syntax = SyntaxParser.Parse(text, sourceName, validate: true);
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

        var map = SourceMap.Build(syntax, sourceName);
        var options = new TomlSerializerOptions { SourceName = sourceName, DuplicateKeyHandling = TomlDuplicateKeyHandling.Error };
        try
        {
            var root = TomlSerializer.Deserialize(text, new TomlModelContext(options).TomlTable);
            return root is null ? null : (root, map);
        }
        catch (TomlException e)
        {
            // Not expected once the syntax pass is clean; still a config error, never a stack trace.
            diagnostics.Error(new SourceLocation(sourceName, e.Line ?? 0, e.Column ?? 0), "", Clean(InnermostReason(e.Message)));
            return null;
        }
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
    internal static string Clean(string message)
    {
        message = TokenKindRegex().Replace(message, "");
        message = RedefinedRegex().Replace(message, "already defined at line $1 and cannot be redefined");
        message = message.Replace("`<eof>`", "end of file", StringComparison.Ordinal)
            .Replace("`␤`", "end of line", StringComparison.Ordinal).Replace("␤", " ", StringComparison.Ordinal);
        message = message.ReplaceLineEndings(" ").Trim();
        if (message.EndsWith('.')) message = message[..^1];
        return message.Length == 0 ? "invalid TOML" : char.ToLowerInvariant(message[0]) + message[1..];
    }

    private static string InnermostReason(string message)
    {
        var cut = message.LastIndexOf(" : error : ", StringComparison.Ordinal);
        return cut < 0 ? message : message[(cut + " : error : ".Length)..];
    }

    // " (token: `newline`)": the parser's internal token names add nothing for a reader.
    [GeneratedRegex(@" \(token: `[^`]*`\)")]
    private static partial Regex TokenKindRegex();

    // "already defined at (1,1) with `a = 1` and cannot be redefined": the quoted text may span lines.
    [GeneratedRegex(@"already defined at \((\d+),\d+\) with `[^`]*` and cannot be redefined", RegexOptions.Singleline)]
    private static partial Regex RedefinedRegex();
}
