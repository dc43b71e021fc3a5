using System.Buffers;
using System.Text.Unicode;

namespace FastProxy.StaticFiles;

/// <summary>
/// Turns a request path into a file path under the route's root, or refuses it. The path arrives in normal form
/// (PathNormalizer: unreserved escapes decoded, dot segments removed), then this removes the route's prefix and decodes
/// the remaining escapes ("%20", "%C3%A9"). Refused, so that nothing outside the root can be named: a "." or ".."
/// segment (possible again once a prefix is cut: "/assets../x" under path_prefix "/assets"), an encoded '/' or '\',
/// a raw '\', NUL or another control character, bytes that are not strict UTF-8 (overlong forms such as "%C0%AE" are
/// invalid), and names starting with '.' unless dotfiles are allowed. Empty segments ("a//b") are merged, as nginx does.
/// Symbolic links are not this type's concern: the resolved file is checked to be under the root (StaticSite).
/// </summary>
internal static class StaticPath
{
    /// <summary>Longer decoded paths are refused (Linux's PATH_MAX is 4096 for the whole absolute path).</summary>
    public const int MaxLength = 2048;

    /// <summary>
    /// Writes the file path relative to the root ("css/site.css", "docs/" for a directory's path, "" for the root itself)
    /// into <paramref name="destination"/> (at least <see cref="MaxLength"/> chars). False: the path is refused (404).
    /// A trailing '/' is kept: it asks for the directory's index file rather than a redirect.
    /// <paramref name="bareRoot"/>: the path is the prefix itself without a final '/' ("/assets" under strip_prefix
    /// "/assets"), the root directory asked for without its slash (redirected, like any directory).
    /// </summary>
    public static bool TryMap(ReadOnlySpan<byte> path, ReadOnlySpan<byte> prefix, bool dotfiles, Span<char> destination, out int length, out bool bareRoot)
    {
        length = 0;
        bareRoot = false;
        if (!prefix.IsEmpty && path.StartsWith(prefix))
        {
            bareRoot = path.Length == prefix.Length && prefix[^1] != (byte)'/';
            path = path[prefix.Length..];
        }
        if (path.Length > MaxLength) return false;

        Span<byte> decoded = stackalloc byte[MaxLength];
        int d = 0;
        for (int i = 0; i < path.Length; i++)
        {
            byte b = path[i];
            if (b == (byte)'%')
            {
                if (i + 2 >= path.Length || !IsHex(path[i + 1]) || !IsHex(path[i + 2])) return false;
                b = (byte)(HexValue(path[i + 1]) << 4 | HexValue(path[i + 2]));
                // An encoded separator is data in a URL but a separator to the file system: refused, never decoded into one.
                if (b is (byte)'/' or (byte)'\\') return false;
                i += 2;
            }
            else if (b == (byte)'\\')
            {
                return false;
            }
            if (b < 0x20 || b == 0x7F) return false;
            decoded[d++] = b;
        }

        Span<char> chars = stackalloc char[MaxLength];
        if (Utf8.ToUtf16(decoded[..d], chars, out _, out int count, replaceInvalidSequences: false) != OperationStatus.Done) return false;
        chars = chars[..count];

        int w = 0;
        int at = 0;
        while (at < chars.Length)
        {
            int next = chars[at..].IndexOf('/');
            int end = next < 0 ? chars.Length : at + next;
            var segment = chars[at..end];
            at = end + 1;
            if (segment.IsEmpty) continue;
            if (segment is "." or "..") return false;
            if (segment[0] == '.' && !dotfiles) return false;
            if (w > 0) destination[w++] = '/';
            segment.CopyTo(destination[w..]);
            w += segment.Length;
        }
        // "dir/" (and "" for the root's own path "/"): the directory's index.
        if (chars.Length > 0 && chars[^1] == '/' && w > 0) destination[w++] = '/';
        length = w;
        return true;
    }

    /// <summary>Whether a mapped path names a directory's index ("" is the root's).</summary>
    public static bool IsDirectoryPath(ReadOnlySpan<char> mapped) => mapped.IsEmpty || mapped[^1] == '/';

    private static bool IsHex(byte b) => (uint)(b - '0') <= 9 || (uint)((b | 0x20) - 'a') <= 5;

    private static int HexValue(byte b) => (uint)(b - '0') <= 9 ? b - '0' : (b | 0x20) - 'a' + 10;
}
