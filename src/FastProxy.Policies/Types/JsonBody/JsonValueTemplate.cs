using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using FastProxy.Configuration;
using FastProxy.Policies.Pipeline;

namespace FastProxy.Policies.Types.JsonBody;

/// <summary>
/// An added member's value, compiled at load: fixed JSON written as it is, or a template whose expansion is written as
/// a JSON string by Utf8JsonWriter (so a header or claim value is escaped, never spliced into the document).
/// </summary>
internal sealed class JsonValueTemplate
{
    private const int StackLimit = 512;

    private readonly byte[]? _json;
    private readonly (TemplateVariable Variable, byte[] Bytes)[] _parts = [];

    private JsonValueTemplate(byte[]? json, (TemplateVariable, byte[])[] parts)
    {
        _json = json;
        _parts = parts;
    }

    public static JsonValueTemplate Literal(string json) => new(Encoding.UTF8.GetBytes(json), []);

    public static JsonValueTemplate From(HeaderTemplate template)
        => new(null, [.. template.Parts.Select(p => (p.Variable, Encoding.UTF8.GetBytes(p.Text)))]);

    /// <summary>
    /// Writes the value. A variable without a value for this request (no consumer, no such header or claim) makes the
    /// member null: the member is still the policy's, whatever the body held under that name.
    /// </summary>
    public void Write(Utf8JsonWriter writer, PolicyContext context)
    {
        if (_json is not null)
        {
            writer.WriteRawValue(_json, skipInputValidation: true);
            return;
        }
        int length = 0;
        foreach (var (variable, bytes) in _parts)
        {
            if (!TryGetValue(context, variable, bytes, out var value))
            {
                writer.WriteNullValue();
                return;
            }
            length += value.Length;
        }
        byte[]? rented = null;
        Span<byte> buffer = length <= StackLimit ? stackalloc byte[StackLimit] : (rented = ArrayPool<byte>.Shared.Rent(length));
        try
        {
            int w = 0;
            foreach (var (variable, bytes) in _parts)
            {
                TryGetValue(context, variable, bytes, out var value);
                value.CopyTo(buffer[w..]);
                w += value.Length;
            }
            var text = buffer[..w];
            if (Utf8.IsValid(text))
            {
                writer.WriteStringValue(text);
            }
            else
            {
                // A header may carry obs-text (RFC 9110 5.5) that is not UTF-8: each octet as the Latin-1 character.
                Span<char> chars = w <= StackLimit ? stackalloc char[StackLimit] : new char[w];
                int n = Encoding.Latin1.GetChars(text, chars);
                writer.WriteStringValue(chars[..n]);
            }
        }
        finally
        {
            if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
        }
    }

    private static bool TryGetValue(PolicyContext context, TemplateVariable variable, byte[] name, out ReadOnlySpan<byte> value)
        => Headers.CompiledTemplate.TryGetVariable(context, variable, name, out value);
}
