using FastProxy.Configuration.Reading;

namespace FastProxy.Configuration.Validation.Policies;

/// <summary>
/// type = "redirect": <c>scheme</c> ("http"/"https"), <c>host</c>, <c>port</c>, <c>path</c> (a literal path, or
/// "$path" to keep the request's), <c>status</c> (301, 302, 307 or 308; 308 by default). At least one part must change.
/// </summary>
internal sealed class RedirectPolicyType : IPolicyType
{
    public string Name => "redirect";

    public IReadOnlyList<string> Keys { get; } = ["scheme", "host", "port", "path", "status"];

    public bool AlwaysAnswers => true;

    public PolicyOptions? Read(TableReader policy)
    {
        var scheme = policy.String("scheme");
        if (scheme is not null && scheme is not ("http" or "https"))
        {
            policy.Error("scheme", $"expected \"http\" or \"https\", got \"{scheme}\"");
        }
        var host = policy.String("host");
        if (host is not null && !IsHost(host))
        {
            policy.Error("host", $"\"{host}\" is not a host name or IP address (letters, digits, '-', '.', an IPv6 address in [brackets]; the port goes in port)");
        }
        int? port = policy.Int("port", 1, 65535);
        var path = policy.String("path");
        if (path == "$path") path = null;
        else if (path is not null && !IsPath(path))
        {
            policy.Error("path", "expected \"$path\" (keep the request's) or a path starting with '/' without spaces, controls, '#' or non-ASCII characters (percent-encode them)");
        }
        int status = 308;
        if (policy.Integer("status") is long given)
        {
            if (given is 301 or 302 or 307 or 308) status = (int)given;
            else policy.Error("status", $"a redirect status is 301, 302, 307 or 308 (got {given}); 307 and 308 keep the method and body, 301 and 302 may turn a POST into a GET");
        }
        if (scheme is null && host is null && port is null && path is null)
        {
            policy.TableError("this redirect changes nothing and would send clients back to the same URL: give it scheme, host, port or path");
        }
        return new RedirectOptions { Scheme = scheme, Host = host, Port = port, Path = path, Status = status };
    }

    internal static bool IsHost(string host)
    {
        if (host.Length == 0 || host.Length > 255) return false;
        if (host[0] == '[') return host[^1] == ']' && System.Net.IPAddress.TryParse(host[1..^1], out var v6) && v6.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6;
        foreach (char c in host)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_')) return false;
        }
        return true;
    }

    internal static bool IsPath(string path)
    {
        if (path.Length == 0 || path[0] != '/') return false;
        foreach (char c in path)
        {
            if (c <= ' ' || c >= 0x7F || c == '#') return false;
        }
        return true;
    }
}
