using System.Buffers.Binary;

namespace FastProxy.Tcp;

/// <summary>
/// Finds the server name in the body of a TLS ClientHello (the handshake message after its 4-byte header), as a
/// range of the body: no copy, no string. Stateless; the body is whole (see <see cref="ClientHelloReader"/>).
/// </summary>
internal static class ClientHello
{
    /// <summary>RFC 8446 §4.2: ExtensionType server_name(0), defined by RFC 6066 §3.</summary>
    private const ushort ServerNameExtension = 0;

    /// <summary>RFC 6066 §3: NameType host_name(0), the only one defined.</summary>
    private const byte HostNameType = 0;

    private const int LegacyVersionLength = 2;
    private const int RandomLength = 32;
    /// <summary>RFC 8446 §4.1.2: legacy_session_id&lt;0..32&gt;.</summary>
    private const int MaxSessionIdLength = 32;

    /// <summary>RFC 1035 §2.3.4: 253 characters of name (255 octets on the wire with the length bytes); labels of at most 63.</summary>
    private const int MaxHostNameLength = 253;
    private const int MaxLabelLength = 63;

    /// <summary>
    /// Reads the ClientHello body (RFC 8446 §4.1.2, which also covers TLS 1.0-1.2 hellos) and returns where its
    /// host_name is (<paramref name="nameLength"/> 0: the client sent none, which is valid: TLS before 1.3 may omit
    /// extensions altogether). A trailing dot is left out of the range. Any length that runs past its container is
    /// <see cref="HelloError.Malformed"/>.
    /// </summary>
    public static HelloError TryGetServerName(ReadOnlySpan<byte> body, out int nameOffset, out int nameLength)
    {
        nameOffset = 0;
        nameLength = 0;

        // legacy_version (2), random (32).
        int position = LegacyVersionLength + RandomLength;
        // legacy_session_id<0..32>
        if (!TryVector8(body, ref position, out _, out int sessionIdLength) || sessionIdLength > MaxSessionIdLength) return HelloError.Malformed;
        // cipher_suites<2..2^16-2>: two bytes per suite.
        if (!TryVector16(body, ref position, out _, out int suitesLength) || suitesLength < 2 || (suitesLength & 1) != 0) return HelloError.Malformed;
        // legacy_compression_methods<1..2^8-1>
        if (!TryVector8(body, ref position, out _, out int compressionLength) || compressionLength < 1) return HelloError.Malformed;

        // RFC 5246 §7.4.1.2: a hello may end here (no extensions, so no server name).
        if (position == body.Length) return HelloError.None;

        // extensions<8..2^16-1>, up to the end of the message.
        if (!TryVector16(body, ref position, out int extensions, out int extensionsLength) || position != body.Length) return HelloError.Malformed;

        int cursor = extensions;
        int end = extensions + extensionsLength;
        bool seen = false;
        while (cursor < end)
        {
            // struct { ExtensionType extension_type; opaque extension_data<0..2^16-1>; } Extension;
            if (end - cursor < 4) return HelloError.Malformed;
            ushort type = BinaryPrimitives.ReadUInt16BigEndian(body[cursor..]);
            cursor += 2;
            if (!TryVector16(body[..end], ref cursor, out int data, out int dataLength)) return HelloError.Malformed;
            if (type != ServerNameExtension) continue;

            // RFC 8446 §4.2: no more than one extension of the same type.
            if (seen) return HelloError.BadServerName;
            seen = true;
            var error = ReadServerNameList(body, data, dataLength, out nameOffset, out nameLength);
            if (error != HelloError.None) return error;
        }
        return HelloError.None;
    }

    /// <summary>RFC 6066 §3: struct { ServerName server_name_list&lt;1..2^16-1&gt; } ServerNameList.</summary>
    private static HelloError ReadServerNameList(ReadOnlySpan<byte> body, int data, int dataLength, out int nameOffset, out int nameLength)
    {
        nameOffset = 0;
        nameLength = 0;
        var extension = body[..(data + dataLength)];
        int cursor = data;
        if (!TryVector16(extension, ref cursor, out int list, out int listLength) || cursor != extension.Length || listLength == 0) return HelloError.BadServerName;

        cursor = list;
        bool found = false;
        while (cursor < extension.Length)
        {
            // struct { NameType name_type; select (name_type) { case host_name: HostName; } name; } ServerName;
            byte nameType = extension[cursor++];
            // opaque HostName<1..2^16-1>; unknown name types have the same shape (RFC 6066 §3) and are skipped.
            if (!TryVector16(extension, ref cursor, out int name, out int length) || length == 0) return HelloError.BadServerName;
            if (nameType != HostNameType) continue;
            // "The ServerNameList MUST NOT contain more than one name of the same name_type."
            if (found) return HelloError.BadServerName;
            found = true;

            // "represented as a byte string using ASCII encoding without a trailing dot": tolerate one all the same.
            if (extension[name + length - 1] == (byte)'.') length--;
            if (!IsHostName(extension.Slice(name, length))) return HelloError.BadServerName;
            nameOffset = name;
            nameLength = length;
        }
        return HelloError.None;
    }

    /// <summary>
    /// A DNS name (RFC 1123 letters, digits, '-', plus '_' which real names carry): the proxy compares it with route
    /// patterns, so anything else (an IP literal is allowed through: it simply matches no route) would only confuse
    /// matching. Labels are non-empty and at most 63 long.
    /// </summary>
    private static bool IsHostName(ReadOnlySpan<byte> name)
    {
        if (name.IsEmpty || name.Length > MaxHostNameLength) return false;
        int label = 0;
        foreach (byte b in name)
        {
            if (b == '.')
            {
                if (label == 0) return false;
                label = 0;
                continue;
            }
            if (!(char.IsAsciiLetterOrDigit((char)b) || b == '-' || b == '_')) return false;
            if (++label > MaxLabelLength) return false;
        }
        return label > 0;
    }

    /// <summary>A vector with a 1-byte length (RFC 8446 §3.4): its start and length, if it fits in <paramref name="span"/>.</summary>
    private static bool TryVector8(ReadOnlySpan<byte> span, ref int position, out int start, out int length)
    {
        start = 0;
        length = 0;
        if (position + 1 > span.Length) return false;
        length = span[position];
        start = position + 1;
        if (length > span.Length - start) return false;
        position = start + length;
        return true;
    }

    /// <summary>A vector with a 2-byte length (RFC 8446 §3.4): its start and length, if it fits in <paramref name="span"/>.</summary>
    private static bool TryVector16(ReadOnlySpan<byte> span, ref int position, out int start, out int length)
    {
        start = 0;
        length = 0;
        if (position + 2 > span.Length) return false;
        length = BinaryPrimitives.ReadUInt16BigEndian(span[position..]);
        start = position + 2;
        if (length > span.Length - start) return false;
        position = start + length;
        return true;
    }
}
