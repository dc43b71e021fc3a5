namespace FastProxy.Configuration.Values;

/// <summary>HTTP grammar checks for values that end up on the wire (header names and values, methods, paths).</summary>
internal static class HttpSyntax
{
    /// <summary>RFC 9110 5.6.2: token = 1*tchar.</summary>
    public static bool IsToken(string s)
    {
        if (s.Length == 0) return false;
        foreach (var c in s)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || "!#$%&'*+-.^_`|~".Contains(c, StringComparison.Ordinal))) return false;
        }
        return true;
    }

    /// <summary>
    /// RFC 9110 5.5: no control characters but HTAB; a CR or LF would let a config value split a
    /// header into two (response splitting). Non-ASCII is refused too: its bytes on the wire would
    /// depend on an encoding the RFC leaves open. Returns the problem, or null.
    /// </summary>
    public static string? FieldValueProblem(string value)
    {
        foreach (var c in value)
        {
            var problem = c switch
            {
                '\r' => "must not contain a carriage return (CR)",
                '\n' => "must not contain a line feed (LF)",
                '\0' => "must not contain NUL",
                '\t' => null,
                _ when char.IsControl(c) => $"must not contain control characters (U+{(int)c:X4})",
                _ when c > '\x7e' => "must be ASCII",
                _ => null,
            };
            if (problem is not null) return problem;
        }
        return null;
    }

    /// <summary>
    /// Request paths to match or strip: '/' first, as they appear on the wire (RFC 9112 3.2.1 origin-form),
    /// so no spaces or controls, no '?' (the query is not part of the path) and no '#' (never sent).
    /// Returns the problem, or null.
    /// </summary>
    /// <param name="allowQuery">A request target we send (a health check) may carry a query; a path we match never does.</param>
    public static string? PathProblem(string path, bool allowQuery = false)
    {
        if (!path.StartsWith('/')) return $"must start with '/', e.g. \"/{path}\"";
        foreach (var c in path)
        {
            var problem = c switch
            {
                ' ' => "must not contain spaces (percent-encode them as %20)",
                '?' when !allowQuery => "must not contain '?': paths are matched without the query string",
                '#' => "must not contain '#': fragments are never sent to a server",
                _ when char.IsControl(c) => "must not contain control characters",
                _ when c > '\x7e' => "must be ASCII (percent-encode other characters)",
                _ => null,
            };
            if (problem is not null) return problem;
        }
        return null;
    }
}
