namespace FastProxy.Http1;

/// <summary>
/// Puts a request path in the normal form of RFC 3986 §6.2.2 before it is routed and forwarded: percent-encoded
/// unreserved characters decoded (§2.3: "%61" is "a", "%2E" is "."), the hex digits of the remaining escapes in
/// upper case (§6.2.2.1), and "." and ".." segments removed (§5.2.4). Without this, "/public/../admin/x" or
/// "/%61dmin/x" would slip past a <c>path_prefix = "/admin/"</c> route that the upstream, which does normalise, would
/// then serve as "/admin/x". nginx normalises before matching locations; Envoy does with <c>normalize_path</c>.
/// The path is forwarded in its normal form, so the upstream sees exactly what was matched.
/// Encoded slashes ("%2F") stay encoded (they are data, not separators), repeated slashes are kept, and the query is
/// left alone. An escape that is not '%' and two hex digits makes the target invalid (400), as in nginx.
/// </summary>
public static class PathNormalizer
{
    /// <summary>
    /// Whether <paramref name="path"/> has anything to normalise: an escape, or a "." or ".." segment. Plain paths,
    /// nearly all of them, are answered by two vectorised searches.
    /// </summary>
    public static bool IsNeeded(ReadOnlySpan<byte> path)
    {
        if (path.Contains((byte)'%')) return true;
        int at = 0;
        while (true)
        {
            int dot = path[at..].IndexOf("/."u8);
            if (dot < 0) return false;
            at += dot + 2;
            // "/." followed by the end, "/", or ".": a dot segment ("/.", "/./", "/..", "/../").
            if (at == path.Length || path[at] == HttpChars.Slash) return true;
            if (path[at] == (byte)'.' && (at + 1 == path.Length || path[at + 1] == HttpChars.Slash)) return true;
        }
    }

    /// <summary>
    /// Normalises the path of <paramref name="request"/> in place in <paramref name="head"/> (the head's own bytes,
    /// writable) and updates the request's path, path-and-query and target lengths; the normal form is never longer.
    /// False: an escape is malformed.
    /// </summary>
    public static bool Normalize(Span<byte> head, RequestHead request)
    {
        if (request.TargetForm == TargetForm.Asterisk || request.PathLength == 0) return true;
        var path = head.Slice(request.PathStart, request.PathLength);
        if (!DecodeUnreserved(path, out int length)) return false;
        length = RemoveDotSegments(path[..length]);

        int removed = request.PathLength - length;
        if (removed > 0)
        {
            // The query (if any) moves up behind the shorter path; what is left behind it is never read again.
            int queryLength = request.PathAndQueryLength - request.PathLength;
            head.Slice(request.PathStart + request.PathLength, queryLength).CopyTo(head[(request.PathStart + length)..]);
            request.PathLength = length;
            request.PathAndQueryLength -= removed;
            request.TargetLength -= removed;
        }
        return true;
    }

    /// <summary>§2.3 and §6.2.2.1 in place: unreserved escapes decoded, other escapes upper-cased.</summary>
    private static bool DecodeUnreserved(Span<byte> path, out int length)
    {
        int w = 0;
        for (int r = 0; r < path.Length; r++)
        {
            byte b = path[r];
            if (b != (byte)'%')
            {
                path[w++] = b;
                continue;
            }
            if (r + 2 >= path.Length || !IsHex(path[r + 1]) || !IsHex(path[r + 2]))
            {
                length = 0;
                return false;
            }
            byte decoded = (byte)(HexValue(path[r + 1]) << 4 | HexValue(path[r + 2]));
            if (IsUnreserved(decoded))
            {
                path[w++] = decoded;
            }
            else
            {
                path[w++] = (byte)'%';
                path[w++] = ToUpperHex(path[r + 1]);
                path[w++] = ToUpperHex(path[r + 2]);
            }
            r += 2;
        }
        length = w;
        return true;
    }

    /// <summary>
    /// RFC 3986 §5.2.4 in place over a path that starts with '/': "." segments vanish, ".." removes the segment
    /// before it (never above the root), and a path ending in a dot segment keeps its trailing '/'. Returns the length.
    /// </summary>
    private static int RemoveDotSegments(Span<byte> path)
    {
        if (path.IsEmpty || path[0] != HttpChars.Slash) return path.Length;
        int w = 0, r = 0;
        while (r < path.Length)
        {
            // path[r] is the '/' that starts a segment.
            int next = path[(r + 1)..].IndexOf(HttpChars.Slash);
            int end = next < 0 ? path.Length : r + 1 + next;
            var segment = path[(r + 1)..end];
            bool last = end == path.Length;
            if (segment.SequenceEqual("."u8))
            {
                if (last) path[w++] = HttpChars.Slash;
            }
            else if (segment.SequenceEqual(".."u8))
            {
                int previous = path[..w].LastIndexOf(HttpChars.Slash);
                w = previous < 0 ? 0 : previous;
                if (last) path[w++] = HttpChars.Slash;
            }
            else
            {
                // w <= r, so this copy moves bytes towards the front (CopyTo handles the overlap).
                path[w++] = HttpChars.Slash;
                segment.CopyTo(path[w..]);
                w += segment.Length;
            }
            r = end;
        }
        if (w == 0) path[w++] = HttpChars.Slash;
        return w;
    }

    private static bool IsHex(byte b) => (uint)(b - '0') <= 9 || (uint)((b | 0x20) - 'a') <= 5;

    private static int HexValue(byte b) => (uint)(b - '0') <= 9 ? b - '0' : (b | 0x20) - 'a' + 10;

    private static byte ToUpperHex(byte b) => (uint)(b - 'a') <= 5 ? (byte)(b - 0x20) : b;

    /// <summary>RFC 3986 §2.3: ALPHA / DIGIT / "-" / "." / "_" / "~".</summary>
    private static bool IsUnreserved(byte b) =>
        (uint)((b | 0x20) - 'a') <= 25 || (uint)(b - '0') <= 9 || b is (byte)'-' or (byte)'.' or (byte)'_' or (byte)'~';
}
