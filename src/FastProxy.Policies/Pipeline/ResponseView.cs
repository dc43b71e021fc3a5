using System.Text;
using FastProxy.Http1;

namespace FastProxy.Policies.Pipeline;

/// <summary>The response head on its way back to the client, as response-side policies see it (read only; changes go through the context).</summary>
public readonly ref struct ResponseView(ResponseHead head, ReadOnlySpan<byte> bytes)
{
    private readonly ReadOnlySpan<byte> _bytes = bytes;

    public int Status => head.StatusCode;

    public bool TryGetHeader(ReadOnlySpan<byte> name, out ReadOnlySpan<byte> value)
    {
        foreach (ref readonly var field in head.Fields)
        {
            if (field.NameLength == name.Length && Ascii.EqualsIgnoreCase(field.Name(_bytes), name))
            {
                value = field.Value(_bytes);
                return true;
            }
        }
        value = default;
        return false;
    }
}
