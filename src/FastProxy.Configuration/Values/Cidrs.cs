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
        if (!IPAddress.TryParse(addressText, out var address) || addressText.Contains('%'))
        {
            error = $"\"{text}\" is not an IP address or CIDR block (e.g. \"10.0.0.0/8\", \"2001:db8::/32\")";
            return false;
        }
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        int max = address.AddressFamily == AddressFamily.InterNetwork ? 32 : 128;
        int prefix = max;
        if (slash >= 0 && (!int.TryParse(text.AsSpan(slash + 1), System.Globalization.NumberStyles.None, null, out prefix) || prefix > max))
        {
            error = $"\"{text}\": the prefix length must be between 0 and {max}";
            return false;
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
