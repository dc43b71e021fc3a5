using System.Net;
using System.Net.Sockets;

namespace FastProxy.Configuration.Values;

/// <summary>Host names and host patterns (route hosts, SNI names): RFC 1123 names, optionally with a leading "*." wildcard.</summary>
internal static class HostNames
{
    /// <summary>RFC 1123: labels of 1-63 letters, digits and '-', not starting or ending with '-'; 253 characters at most.</summary>
    public static bool IsValidName(string name)
    {
        if (name.Length is 0 or > 253) return false;
        foreach (var label in name.Split('.'))
        {
            if (label.Length is 0 or > 63 || label[0] == '-' || label[^1] == '-') return false;
            foreach (var c in label)
            {
                if (!char.IsAsciiLetterOrDigit(c) && c != '-') return false;
            }
        }
        return true;
    }

    /// <summary>
    /// Checks an exact name or "*.suffix" pattern and returns it lower-cased (hosts compare
    /// case-insensitively, so matching can compare ordinally). Null with <paramref name="problem"/> set when invalid.
    /// </summary>
    /// <param name="allowIpLiteral">Host headers may carry an IP ("127.0.0.1", "[::1]"); SNI never does (RFC 6066 3).</param>
    public static string? NormalizePattern(string pattern, bool allowIpLiteral, out string problem)
    {
        problem = "";
        var host = pattern.ToLowerInvariant();
        if (host.Length == 0)
        {
            problem = "must not be empty";
            return null;
        }
        if (allowIpLiteral && host.StartsWith('[') && host.EndsWith(']')
            && IPAddress.TryParse(host.AsSpan(1, host.Length - 2), out var v6) && v6.AddressFamily == AddressFamily.InterNetworkV6)
        {
            return host;
        }
        if (host == "*")
        {
            problem = "\"*\" matches every name: leave the condition out instead";
            return null;
        }
        if (host.Contains(':', StringComparison.Ordinal) || host.Contains('/', StringComparison.Ordinal))
        {
            problem = $"invalid host \"{pattern}\": give the name only, without port or scheme (names are compared without port)";
            return null;
        }
        var name = host.StartsWith("*.", StringComparison.Ordinal) ? host[2..] : host;
        if (name.Contains('*', StringComparison.Ordinal))
        {
            problem = $"invalid host \"{pattern}\": a wildcard is only allowed as the whole first label, e.g. \"*.example.com\"";
            return null;
        }
        if (!IsValidName(name))
        {
            problem = $"invalid host \"{pattern}\": expected a name of letters, digits, '-' and '.', e.g. \"api.example.com\" or \"*.example.com\"";
            return null;
        }
        if (!allowIpLiteral && name.Length == host.Length && IPAddress.TryParse(name, out _))
        {
            problem = $"invalid name \"{pattern}\": TLS server names are never IP addresses";
            return null;
        }
        return host;
    }
}
