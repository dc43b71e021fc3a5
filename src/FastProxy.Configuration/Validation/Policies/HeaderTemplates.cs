using System.Text;
using FastProxy.Configuration.Reading;
using FastProxy.Configuration.Values;

namespace FastProxy.Configuration.Validation.Policies;

/// <summary>
/// Header value templates: literal text with variables in braces, <c>"Bearer {claim.sub}"</c>. Parsed once at load
/// into parts, so the proxy expands a value by copying bytes, never by scanning the text. <c>{{</c> is a literal
/// <c>{</c>; a <c>}</c> outside a variable is literal.
/// </summary>
internal static class HeaderTemplates
{
    public const string Known = "{client_ip}, {consumer}, {request_id}, {claim.NAME}, {header.NAME}";

    /// <summary>The template's parts, or null with <paramref name="problem"/> saying what is wrong.</summary>
    /// <param name="fieldValue">The literal text must be a header field value (ASCII, no controls); false for a JSON
    /// string (json_body), which escapes whatever it holds.</param>
    public static HeaderTemplate? Parse(string text, out string? problem, bool fieldValue = true)
    {
        var segments = TemplateText.Split(text, out problem);
        if (segments is null) return null;
        var parts = new List<TemplatePart>();
        foreach (var (segment, isVariable) in segments)
        {
            if (!isVariable)
            {
                parts.Add(new TemplatePart(TemplateVariable.Literal, segment));
                continue;
            }
            var variable = Variable(segment, out problem);
            if (variable is null) return null;
            parts.Add(variable.Value);
        }
        foreach (var part in parts)
        {
            // The literal text goes on the wire as written: no CR, LF, NUL or other controls, ASCII only.
            if (fieldValue && part.Variable == TemplateVariable.Literal && HttpSyntax.FieldValueProblem(part.Text) is { } bad)
            {
                problem = bad;
                return null;
            }
        }
        problem = null;
        return new HeaderTemplate(text, parts);
    }

    private static TemplatePart? Variable(string inside, out string? problem)
    {
        problem = null;
        switch (inside)
        {
            case "client_ip": return new TemplatePart(TemplateVariable.ClientIp, "");
            case "consumer": return new TemplatePart(TemplateVariable.Consumer, "");
            case "request_id": return new TemplatePart(TemplateVariable.RequestId, "");
        }
        if (inside.StartsWith("claim.", StringComparison.Ordinal))
        {
            var name = inside["claim.".Length..];
            if (name.Length == 0 || !name.All(ch => ch > ' ' && ch < '\x7f'))
            {
                problem = $"{{{inside}}}: a claim name is one or more visible ASCII characters, e.g. {{claim.sub}}";
                return null;
            }
            return new TemplatePart(TemplateVariable.Claim, name);
        }
        if (inside.StartsWith("header.", StringComparison.Ordinal))
        {
            var name = inside["header.".Length..];
            if (!HttpSyntax.IsToken(name))
            {
                problem = $"{{{inside}}}: \"{name}\" is not a header name (letters, digits and !#$%&'*+-.^_`|~)";
                return null;
            }
            return new TemplatePart(TemplateVariable.Header, name.ToLowerInvariant());
        }
        var hint = Suggestions.Closest(inside, ["client_ip", "consumer", "request_id"]) is { } close ? $"did you mean {{{close}}}? " : "";
        problem = $"unknown variable {{{inside}}} ({hint}known: {Known})";
        return null;
    }
}
