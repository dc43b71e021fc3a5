using System.Buffers;
using System.Text;
using System.Text.Json;
using FastProxy.Policies.Pipeline;

namespace FastProxy.Policies.Types.Version;

/// <summary>The 400 answers (RFC 9457 problem+json), and the path the upstream receives.</summary>
internal sealed partial class VersionPolicy
{
    private static readonly byte[] ProblemLines = "Content-Type: application/problem+json\r\n"u8.ToArray();

    /// <summary>What of an unknown version is echoed: enough to see the mistake, never a whole header.</summary>
    private const int MaxEchoed = 64;

    /// <summary>
    /// An unknown version, named in the answer: built per refusal (the version is the client's), so only refused
    /// requests pay for it; the text is JSON-escaped and cut to <see cref="MaxEchoed"/> bytes.
    /// </summary>
    private PolicyAnswer Unknown(ReadOnlySpan<byte> asked)
    {
        if (asked.Length > MaxEchoed) asked = asked[..MaxEchoed];
        var text = Encoding.UTF8.GetString(asked);
        return new PolicyAnswer(400, _unknown, ProblemLines,
            Problem($"Unknown API version \"{text}\"; known versions: {_known}.", text));
    }

    /// <summary>An RFC 9457 problem details object for a 400, with the version asked for as an extension member.</summary>
    private static byte[] Problem(string detail, string? version = null)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("type"u8, "about:blank"u8);
            json.WriteString("title"u8, "Bad Request"u8);
            json.WriteNumber("status"u8, 400);
            json.WriteString("detail"u8, detail);
            if (version is not null) json.WriteString("version"u8, version);
            json.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>
    /// The path the upstream receives: <paramref name="prefix"/> (may be null) then <paramref name="rest"/> ("/" when both
    /// are empty). Copied to the stack first: <paramref name="rest"/> may be the context's own edited path.
    /// </summary>
    private static void SetPath(PolicyContext context, byte[]? prefix, ReadOnlySpan<byte> rest)
    {
        int prefixLength = prefix?.Length ?? 0;
        int length = prefixLength + rest.Length;
        if (length == 0)
        {
            context.SetPath("/"u8);
            return;
        }
        // Paths are bounded by the request head's size (max_header_size), so this stays a stack buffer in practice.
        byte[]? rented = length > 1024 ? ArrayPool<byte>.Shared.Rent(length) : null;
        Span<byte> path = rented is null ? stackalloc byte[1024] : rented;
        prefix.AsSpan().CopyTo(path);
        rest.CopyTo(path[prefixLength..]);
        // A rest without its '/' cannot happen (segments end at one, or the path does); SetPath refuses it anyway.
        context.SetPath(path[..length]);
        if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
    }
}
