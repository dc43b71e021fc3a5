using System.Globalization;
using System.Net;
using System.Net.Sockets;
using FastProxy.Configuration.Reading;

namespace FastProxy.Configuration.Values;

/// <summary>
/// "host:port" addresses: "0.0.0.0:8080", "[::]:8080", "[::1]:9000", or a host name resolved at load
/// time ("localhost:8080"). A name resolving to both families gives its first IPv4 address, matching
/// what a plain "127.0.0.1" would do; write the literal to choose.
/// </summary>
internal static class EndPoints
{
    public const string Forms = "\"host:port\", e.g. \"127.0.0.1:8080\", \"[::1]:8080\" or \"localhost:8080\"";

    /// <summary>Reports and returns null when <paramref name="text"/> is not a usable address.</summary>
    /// <param name="allowPortZero">Listeners may ask the OS for a free port; servers cannot be reached on port 0.</param>
    public static IPEndPoint? Resolve(LoadContext context, string path, string text, bool allowPortZero, out string host)
    {
        if (!TrySplit(text, allowPortZero, out host, out var port, out var problem))
        {
            context.Error(path, problem);
            return null;
        }
        if (host.StartsWith('['))
        {
            return new IPEndPoint(IPAddress.Parse(host.AsSpan(1, host.Length - 2)), port);
        }
        if (LooksNumeric(host))
        {
            if (IsDottedQuad(host)) return new IPEndPoint(IPAddress.Parse(host), port);
            context.Error(path, $"invalid address \"{text}\": \"{host}\" is not an IPv4 address (expected four numbers 0-255, e.g. 127.0.0.1)");
            return null;
        }
        if (!HostNames.IsValidName(host))
        {
            context.Error(path, $"invalid address \"{text}\": \"{host}\" is not a valid host name; expected {Forms}");
            return null;
        }
        var addresses = context.Resolve(host, out var error);
        if (addresses is null)
        {
            context.Error(path, $"cannot resolve host \"{host}\": {error}");
            return null;
        }
        var chosen = Array.Find(addresses, a => a.AddressFamily == AddressFamily.InterNetwork) ?? addresses[0];
        return new IPEndPoint(chosen, port);
    }

    /// <summary>Splits without resolving; <paramref name="host"/> keeps IPv6 brackets as written.</summary>
    public static bool TrySplit(string text, bool allowPortZero, out string host, out int port, out string problem)
    {
        host = "";
        port = 0;
        problem = "";
        string portText;
        if (text.StartsWith('['))
        {
            var close = text.IndexOf(']', StringComparison.Ordinal);
            if (close < 0 || !IPAddress.TryParse(text.AsSpan(1, close - 1), out var v6) || v6.AddressFamily != AddressFamily.InterNetworkV6)
            {
                problem = $"invalid address \"{text}\": expected an IPv6 address in brackets, e.g. \"[::1]:8080\"";
                return false;
            }
            if (close + 1 >= text.Length || text[close + 1] != ':')
            {
                problem = $"invalid address \"{text}\": missing port, e.g. \"{text[..(close + 1)]}:8080\"";
                return false;
            }
            host = text[..(close + 1)];
            portText = text[(close + 2)..];
        }
        else
        {
            var colon = text.LastIndexOf(':');
            if (colon < 0)
            {
                problem = AllDigits(text)
                    ? $"invalid address \"{text}\": missing host, e.g. \"0.0.0.0:{text}\" (every interface) or \"127.0.0.1:{text}\""
                    : $"invalid address \"{text}\": missing port; expected {Forms}";
                return false;
            }
            if (text.IndexOf(':') != colon)
            {
                problem = $"invalid address \"{text}\": an IPv6 address needs brackets, e.g. \"[::1]:8080\"";
                return false;
            }
            host = text[..colon];
            portText = text[(colon + 1)..];
            if (host.Length == 0)
            {
                problem = $"invalid address \"{text}\": missing host, e.g. \"0.0.0.0{text}\" (every interface) or \"127.0.0.1{text}\"";
                return false;
            }
        }
        var minPort = allowPortZero ? 0 : 1;
        if (portText.Length is 0 or > 5 || !AllDigits(portText)
            || !int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out port) || port < minPort || port > 65535)
        {
            problem = $"invalid address \"{text}\": the port must be a number from {minPort} to 65535";
            return false;
        }
        return true;
    }

    private static bool AllDigits(string s) => s.Length > 0 && s.All(char.IsAsciiDigit);

    private static bool LooksNumeric(string host) => host.All(c => char.IsAsciiDigit(c) || c == '.');

    // IPAddress.TryParse takes "1.2" as 1.0.0.2 (inet_aton rules); a config value that short is a typo.
    private static bool IsDottedQuad(string host)
    {
        var parts = host.Split('.');
        return parts.Length == 4 && parts.All(p => p.Length is > 0 and <= 3 && int.Parse(p, CultureInfo.InvariantCulture) <= 255);
    }
}
