using System.Net;
using System.Net.Sockets;
using FastProxy.Configuration.Reading;

namespace FastProxy.Configuration.Values;

/// <summary>CIDR blocks as written in proxy.toml: "10.0.0.0/8", "2001:db8::/32", or a bare address (one host).</summary>
internal static class Cidrs
{
    /// <summary>Reads an array of CIDR strings; each bad entry is reported at its own index.</summary>
    public static List<CidrBlock>? Read(TableReader table, string key)
    {
        var entries = table.Strings(key);
        if (entries is null) return null;
        var list = new List<CidrBlock>();
        foreach (var (text, path) in entries)
        {
            if (TryParse(text, out var block, out var error)) list.Add(block);
            else table.Context.Error(path, error!);
        }
        return list;
    }

    public static bool TryParse(string text, out CidrBlock block, out string? error)
    {
        block = default;
        error = null;
        int slash = text.IndexOf('/');
        var addressText = slash < 0 ? text : text[..slash];
        // IPAddress.TryParse also takes the inet_aton forms ("10" is 0.0.0.10, "010.0.0.1" is 8.0.0.1, "127.1" is
        // 127.0.0.1): in an access list they are typos that would silently name another network, so IPv4 is read
        // strictly, four decimal parts.
        if (!IPAddress.TryParse(addressText, out var address) || addressText.Contains('%')
            || (!addressText.Contains(':') && !IsDottedQuad(addressText)))
        {
            error = $"\"{text}\" is not an IP address or CIDR block (e.g. \"10.0.0.0/8\", \"2001:db8::/32\")";
            return false;
        }
        int max = address.AddressFamily == AddressFamily.InterNetwork ? 32 : 128;
        int prefix = max;
        if (slash >= 0 && (!int.TryParse(text.AsSpan(slash + 1), System.Globalization.NumberStyles.None, null, out prefix) || prefix > max))
        {
            error = $"\"{text}\": the prefix length must be between 0 and {max}";
            return false;
        }
        if (address.IsIPv4MappedToIPv6 && prefix >= 96)
        {
            // ::ffff:10.0.0.0/104 is 10.0.0.0/8: clients are matched as IPv4 (mapped addresses are converted).
            address = address.MapToIPv4();
            prefix -= 96;
        }
        var network = Mask(address, prefix);
        if (!network.Equals(address))
        {
            // 10.0.0.1/8 is almost always a typo for one host or for 10.0.0.0/8: say which was meant rather than guess.
            error = $"\"{text}\" has host bits set: write \"{network}/{prefix}\" for the network, or \"{address}\" for the one address";
            return false;
        }
        block = new CidrBlock(network, prefix);
        return true;
    }

    private static bool IsDottedQuad(string text)
    {
        var parts = text.Split('.');
        if (parts.Length != 4) return false;
        foreach (var part in parts)
        {
            if (part.Length is 0 or > 3 || (part.Length > 1 && part[0] == '0') || !part.All(char.IsAsciiDigit)) return false;
        }
        return true; // each part <= 255 is IPAddress.TryParse's check
    }

    private static IPAddress Mask(IPAddress address, int prefix)
    {
        var bytes = address.GetAddressBytes();
        for (int i = 0; i < bytes.Length; i++)
        {
            int keep = Math.Clamp(prefix - i * 8, 0, 8);
            bytes[i] &= (byte)(0xFF << (8 - keep));
        }
        return new IPAddress(bytes);
    }
}
