using System.Buffers.Binary;
using System.Net;
using System.Text;

namespace FastProxy.DnsClient;

/// <summary>
/// The DNS message format of RFC 1035 section 4.1, for one question of type A (1) or AAAA (28), class IN: a query is
/// written, and an answer is accepted only when it is the response to that query (same ID, QR set, the same question
/// echoed back, RFC 5452 section 9.1) before any address is taken from it.
/// </summary>
internal static class DnsWire
{
    public const ushort TypeA = 1;
    public const ushort TypeCname = 5;
    public const ushort TypeAaaa = 28;
    private const ushort ClassIn = 1;

    /// <summary>Header (12) + name (at most 255) + type and class (4): a query never needs more.</summary>
    public const int MaxQuery = 12 + 255 + 4;

    /// <summary>A pointer chain longer than this is a loop (a name has at most 127 labels).</summary>
    private const int MaxPointers = 128;

    /// <summary>
    /// Writes a recursive query (RD set, RFC 1035 4.1.1) for <paramref name="name"/>; returns its length, or -1 when the
    /// name cannot be encoded (a label longer than 63 bytes, the whole longer than 255: RFC 1035 2.3.4).
    /// </summary>
    public static int WriteQuery(Span<byte> buffer, ushort id, string name, ushort type)
    {
        BinaryPrimitives.WriteUInt16BigEndian(buffer, id);
        BinaryPrimitives.WriteUInt16BigEndian(buffer[2..], 0x0100); // RD: the server resolves recursively
        BinaryPrimitives.WriteUInt16BigEndian(buffer[4..], 1);      // QDCOUNT
        buffer[6..12].Clear();                                      // AN, NS, AR counts
        int at = 12;
        foreach (var label in name.TrimEnd('.').Split('.'))
        {
            if (label.Length is 0 or > 63 || at + 1 + label.Length + 5 > MaxQuery) return -1;
            buffer[at++] = (byte)label.Length;
            foreach (char c in label)
            {
                if (c > 0x7F) return -1;
                buffer[at++] = (byte)c;
            }
        }
        buffer[at++] = 0;
        BinaryPrimitives.WriteUInt16BigEndian(buffer[at..], type);
        BinaryPrimitives.WriteUInt16BigEndian(buffer[(at + 2)..], ClassIn);
        return at + 4;
    }

    /// <summary>What a response said.</summary>
    public enum Outcome { Answer, NameError, ServerFailure, Truncated, NotOurs }

    /// <summary>
    /// Reads a response to the query (<paramref name="id"/>, <paramref name="name"/>, <paramref name="type"/>). The
    /// addresses of type <paramref name="type"/> owned by the name, or by a CNAME it leads to, are added to
    /// <paramref name="addresses"/>; <paramref name="ttl"/> is the smallest TTL among them (and the CNAMEs followed).
    /// NotOurs: malformed, or the answer to another question (ignored; the client keeps waiting for its own).
    /// </summary>
    public static Outcome ReadResponse(ReadOnlySpan<byte> message, ushort id, string name, ushort type, List<IPAddress> addresses, out uint ttl)
    {
        ttl = uint.MaxValue;
        if (message.Length < 12) return Outcome.NotOurs;
        if (BinaryPrimitives.ReadUInt16BigEndian(message) != id) return Outcome.NotOurs;
        ushort flags = BinaryPrimitives.ReadUInt16BigEndian(message[2..]);
        if ((flags & 0x8000) == 0 || (flags & 0x7800) != 0) return Outcome.NotOurs; // QR must be set, OPCODE 0 (QUERY)
        if (BinaryPrimitives.ReadUInt16BigEndian(message[4..]) != 1) return Outcome.NotOurs;
        int answers = BinaryPrimitives.ReadUInt16BigEndian(message[6..]);
        int at = 12;
        if (!TryReadName(message, ref at, out var questionName)) return Outcome.NotOurs;
        if (at + 4 > message.Length) return Outcome.NotOurs;
        if (!SameName(questionName, name)
            || BinaryPrimitives.ReadUInt16BigEndian(message[at..]) != type
            || BinaryPrimitives.ReadUInt16BigEndian(message[(at + 2)..]) != ClassIn) return Outcome.NotOurs;
        at += 4;
        if ((flags & 0x0200) != 0) return Outcome.Truncated; // TC: ask again over TCP (RFC 7766)
        switch (flags & 0x000F)
        {
            case 0: break;
            case 3: return Outcome.NameError; // NXDOMAIN
            default: return Outcome.ServerFailure; // SERVFAIL, REFUSED, ...: another server may do better
        }

        // The owners whose records answer the question: the name, then each CNAME target in turn (RFC 1034 3.6.2).
        var owners = new List<string> { name.TrimEnd('.') };
        for (int i = 0; i < answers; i++)
        {
            if (!TryReadName(message, ref at, out var owner) || at + 10 > message.Length) return Outcome.NotOurs;
            ushort rrType = BinaryPrimitives.ReadUInt16BigEndian(message[at..]);
            ushort rrClass = BinaryPrimitives.ReadUInt16BigEndian(message[(at + 2)..]);
            uint rrTtl = BinaryPrimitives.ReadUInt32BigEndian(message[(at + 4)..]);
            int length = BinaryPrimitives.ReadUInt16BigEndian(message[(at + 8)..]);
            at += 10;
            if (at + length > message.Length) return Outcome.NotOurs;
            var data = message.Slice(at, length);
            int dataStart = at;
            at += length;
            if (rrClass != ClassIn || !owners.Exists(o => SameName(owner, o))) continue;
            // RFC 2181 8: a TTL with the top bit set is taken as zero.
            if (rrTtl > int.MaxValue) rrTtl = 0;
            if (rrType == TypeCname)
            {
                int target = dataStart;
                if (!TryReadName(message, ref target, out var alias)) return Outcome.NotOurs;
                owners.Add(alias);
                ttl = Math.Min(ttl, rrTtl);
            }
            else if (rrType == type && type == TypeA && length == 4 || rrType == type && type == TypeAaaa && length == 16)
            {
                addresses.Add(new IPAddress(data));
                ttl = Math.Min(ttl, rrTtl);
            }
        }
        return Outcome.Answer;
    }

    /// <summary>A name at <paramref name="at"/>, following compression pointers (RFC 1035 4.1.4); <paramref name="at"/> moves past it.</summary>
    private static bool TryReadName(ReadOnlySpan<byte> message, ref int at, out string name)
    {
        var text = new StringBuilder();
        name = "";
        int position = at;
        int end = -1;
        for (int jumps = 0; ;)
        {
            if (position >= message.Length) return false;
            int length = message[position];
            if (length == 0)
            {
                position++;
                break;
            }
            if ((length & 0xC0) == 0xC0)
            {
                if (position + 1 >= message.Length || ++jumps > MaxPointers) return false;
                if (end < 0) end = position + 2;
                position = ((length & 0x3F) << 8) | message[position + 1];
                continue;
            }
            if ((length & 0xC0) != 0 || position + 1 + length > message.Length) return false;
            if (text.Length > 0) text.Append('.');
            foreach (byte b in message.Slice(position + 1, length)) text.Append((char)b);
            if (text.Length > 255) return false;
            position += 1 + length;
        }
        at = end >= 0 ? end : position;
        name = text.ToString();
        return true;
    }

    /// <summary>DNS names compare without regard to ASCII case (RFC 4343).</summary>
    private static bool SameName(string a, string b) => string.Equals(a.TrimEnd('.'), b.TrimEnd('.'), StringComparison.OrdinalIgnoreCase);
}
