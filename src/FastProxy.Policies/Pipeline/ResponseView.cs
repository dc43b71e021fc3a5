using System.Text;
using FastProxy.Http1;

namespace FastProxy.Policies.Pipeline;

/// <summary>The response head on its way back to the client, as response-side policies see it (read only; changes go through the context).</summary>
public readonly ref struct ResponseView(ResponseHead head, ReadOnlySpan<byte> bytes)
{
    private readonly ReadOnlySpan<byte> _bytes = bytes;

    public int Status => head.StatusCode;

    /// <summary>The upstream's field lines, in order (for a policy that reads every field of a name, e.g. a rename).</summary>
    public int HeaderCount => head.FieldCount;
    public ReadOnlySpan<byte> HeaderName(int index) => head.Fields[index].Name(_bytes);
    public ReadOnlySpan<byte> HeaderValue(int index) => head.Fields[index].Value(_bytes);

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
