using System.Text;

namespace FastProxy.Http2.HPack;

/// <summary>The static table of RFC 7541 Appendix A: indexes 1..61, before the dynamic table's 62.. (§2.3.3).</summary>
public static class HPackStaticTable
{
    public const int Count = 61;

    private static readonly byte[][] s_names;
    private static readonly byte[][] s_values;

    static HPackStaticTable()
    {
        (string Name, string Value)[] entries =
        [
            (":authority", ""), (":method", "GET"), (":method", "POST"), (":path", "/"), (":path", "/index.html"),
            (":scheme", "http"), (":scheme", "https"), (":status", "200"), (":status", "204"), (":status", "206"),
            (":status", "304"), (":status", "400"), (":status", "404"), (":status", "500"), ("accept-charset", ""),
            ("accept-encoding", "gzip, deflate"), ("accept-language", ""), ("accept-ranges", ""), ("accept", ""),
            ("access-control-allow-origin", ""), ("age", ""), ("allow", ""), ("authorization", ""), ("cache-control", ""),
            ("content-disposition", ""), ("content-encoding", ""), ("content-language", ""), ("content-length", ""),
            ("content-location", ""), ("content-range", ""), ("content-type", ""), ("cookie", ""), ("date", ""),
            ("etag", ""), ("expect", ""), ("expires", ""), ("from", ""), ("host", ""), ("if-match", ""),
            ("if-modified-since", ""), ("if-none-match", ""), ("if-range", ""), ("if-unmodified-since", ""),
            ("last-modified", ""), ("link", ""), ("location", ""), ("max-forwards", ""), ("proxy-authenticate", ""),
            ("proxy-authorization", ""), ("range", ""), ("referer", ""), ("refresh", ""), ("retry-after", ""),
            ("server", ""), ("set-cookie", ""), ("strict-transport-security", ""), ("transfer-encoding", ""),
            ("user-agent", ""), ("vary", ""), ("via", ""), ("www-authenticate", ""),
        ];
        s_names = new byte[Count + 1][];
        s_values = new byte[Count + 1][];
        s_names[0] = s_values[0] = [];
        for (int i = 0; i < Count; i++)
        {
            s_names[i + 1] = Encoding.ASCII.GetBytes(entries[i].Name);
            s_values[i + 1] = Encoding.ASCII.GetBytes(entries[i].Value);
        }
        s_byNameLength = BuildByNameLength();
    }

    /// <summary>Name of entry <paramref name="index"/>, 1..61.</summary>
    public static ReadOnlySpan<byte> Name(int index) => s_names[index];

    public static ReadOnlySpan<byte> Value(int index) => s_values[index];

    /// <summary>
    /// The lowest index whose name is <paramref name="name"/> (0 if none), and in <paramref name="fullMatch"/> the
    /// index of the entry with this value too (0 if none). Same-named entries are adjacent in the table.
    /// </summary>
    public static int Find(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value, out int fullMatch)
    {
        fullMatch = 0;
        if ((uint)name.Length >= (uint)s_byNameLength.Length) return 0;
        // Only the few names of the same length are compared (at most 8 share one), in index order.
        foreach (int i in s_byNameLength[name.Length])
        {
            if (!name.SequenceEqual(s_names[i])) continue;
            for (int j = i; j <= Count && name.SequenceEqual(s_names[j]); j++)
            {
                if (value.SequenceEqual(s_values[j]))
                {
                    fullMatch = j;
                    break;
                }
            }
            return i;
        }
        return 0;
    }

    /// <summary>For each name length, the indexes of the first entry of each name of that length.</summary>
    private static readonly int[][] s_byNameLength;

    private static int[][] BuildByNameLength()
    {
        int longest = 0;
        for (int i = 1; i <= Count; i++) longest = Math.Max(longest, s_names[i].Length);
        var lists = new List<int>[longest + 1];
        for (int n = 0; n <= longest; n++) lists[n] = [];
        for (int i = 1; i <= Count; i++)
        {
            if (i > 1 && s_names[i].AsSpan().SequenceEqual(s_names[i - 1])) continue; // same name: found through the first
            lists[s_names[i].Length].Add(i);
        }
        var result = new int[longest + 1][];
        for (int n = 0; n <= longest; n++) result[n] = [.. lists[n]];
        return result;
    }
}
