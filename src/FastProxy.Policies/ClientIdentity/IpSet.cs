using FastProxy.Configuration;

namespace FastProxy.Policies.ClientIdentity;

/// <summary>
/// A set of CIDR blocks, IPv4 and IPv6, matched by binary search over merged, sorted ranges: the cost grows with the
/// logarithm of the list, never with a scan of it, and nothing is allocated per lookup.
/// </summary>
public sealed class IpSet
{
    private readonly UInt128[] _v4Starts, _v4Ends, _v6Starts, _v6Ends;

    public IpSet(IEnumerable<CidrBlock> blocks)
    {
        var v4 = new List<(UInt128 Start, UInt128 End)>();
        var v6 = new List<(UInt128 Start, UInt128 End)>();
        foreach (var block in blocks)
        {
            var network = IpValue.From(block.Network);
            int bits = network.IsV4 ? 32 : 128;
            UInt128 hostMask = block.PrefixLength == 0 ? (network.IsV4 ? uint.MaxValue : UInt128.MaxValue)
                : block.PrefixLength == bits ? UInt128.Zero : (UInt128.One << (bits - block.PrefixLength)) - 1;
            (network.IsV4 ? v4 : v6).Add((network.Bits & ~hostMask, network.Bits | hostMask));
        }
        (_v4Starts, _v4Ends) = Merge(v4);
        (_v6Starts, _v6Ends) = Merge(v6);
        Count = _v4Starts.Length + _v6Starts.Length;
    }

    /// <summary>Merged ranges (adjacent and overlapping blocks count once).</summary>
    public int Count { get; }

    public bool IsEmpty => Count == 0;

    public bool Contains(in IpValue address)
    {
        var starts = address.IsV4 ? _v4Starts : _v6Starts;
        var ends = address.IsV4 ? _v4Ends : _v6Ends;
        // The last range starting at or before the address is the only one that can hold it.
        int lo = 0, hi = starts.Length - 1, found = -1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            if (starts[mid] <= address.Bits) { found = mid; lo = mid + 1; }
            else hi = mid - 1;
        }
        return found >= 0 && address.Bits <= ends[found];
    }

    private static (UInt128[], UInt128[]) Merge(List<(UInt128 Start, UInt128 End)> ranges)
    {
        ranges.Sort((a, b) => a.Start.CompareTo(b.Start));
        var starts = new List<UInt128>();
        var ends = new List<UInt128>();
        foreach (var (start, end) in ranges)
        {
            if (ends.Count > 0 && (ends[^1] == UInt128.MaxValue || start <= ends[^1] + 1))
            {
                if (end > ends[^1]) ends[^1] = end;
                continue;
            }
            starts.Add(start);
            ends.Add(end);
        }
        return ([.. starts], [.. ends]);
    }
}
