using System.Buffers;
using System.Text;
using FastProxy.Configuration;
using FastProxy.Policies.Pipeline;

namespace FastProxy.Policies.Types.Headers;

/// <summary>How expanding a template went.</summary>
internal enum Expansion : byte
{
    Done = 0,
    /// <summary>A variable has no value for this request (no consumer, no such claim or header): nothing is written.</summary>
    Missing,
    /// <summary>A variable's value holds CR, LF, NUL or another control: the line is never written (no header injection).</summary>
    Unsafe,
}

/// <summary>
/// A header value template compiled at load: literal bytes and variables, in order. Expanding copies the literal bytes
/// and each variable's value into a caller's buffer; nothing is allocated or parsed per request.
/// </summary>
internal sealed class CompiledTemplate
{
    /// <summary>Values expand on the stack up to this; a longer one (a large claim, say) in a pooled array.</summary>
    private const int StackLimit = 512;

    private readonly Segment[] _segments;
    private readonly byte[]? _literal;

    public CompiledTemplate(HeaderTemplate template)
    {
        _segments = new Segment[template.Parts.Count];
        for (int i = 0; i < _segments.Length; i++)
        {
            var part = template.Parts[i];
            _segments[i] = new Segment(part.Variable, Encoding.ASCII.GetBytes(part.Text));
        }
        // A value with no variables is written as it is: no copy at all.
        if (_segments.Length == 0) _literal = [];
        else if (_segments is [{ Variable: TemplateVariable.Literal } only]) _literal = only.Bytes;
    }

    private readonly record struct Segment(TemplateVariable Variable, byte[] Bytes);

    /// <summary>
    /// Expands the template for <paramref name="context"/> and adds the line <paramref name="name"/>: value to the
    /// upstream's request or to the client's response. Nothing is added unless it says <see cref="Expansion.Done"/>.
    /// </summary>
    public Expansion AddLine(PolicyContext context, byte[] name, bool response)
    {
        if (_literal is not null) return Add(context, name, _literal, response);
        Span<byte> stack = stackalloc byte[StackLimit];
        var result = TryExpand(context, stack, out int length);
        if (result != Expansion.Done) return result;
        if (length <= stack.Length) return Add(context, name, stack[..length], response);
        byte[] rented = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            result = TryExpand(context, rented, out length);
            return result == Expansion.Done ? Add(context, name, rented.AsSpan(0, length), response) : result;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    private static Expansion Add(PolicyContext context, byte[] name, ReadOnlySpan<byte> value, bool response)
    {
        // The context checks again (a CR, LF or NUL never becomes a line): the variables were checked one by one already.
        bool added = response ? context.AddResponseHeader(name, value) : context.AddRequestHeader(name, value);
        return added ? Expansion.Done : Expansion.Unsafe;
    }

    /// <summary>Writes as much as fits; <paramref name="length"/> is the whole value's length, so a caller can tell it did not fit.</summary>
    internal Expansion TryExpand(PolicyContext context, Span<byte> destination, out int length)
    {
        length = 0;
        foreach (var segment in _segments)
        {
            ReadOnlySpan<byte> value;
            if (segment.Variable == TemplateVariable.Literal)
            {
                value = segment.Bytes;
            }
            else
            {
                if (!TryGetValue(context, segment, out value)) return Expansion.Missing;
                if (!HeaderText.IsFieldValue(value)) return Expansion.Unsafe;
            }
            if (length + value.Length <= destination.Length) value.CopyTo(destination[length..]);
            length += value.Length;
        }
        return Expansion.Done;
    }

    private static bool TryGetValue(PolicyContext context, Segment segment, out ReadOnlySpan<byte> value)
        => TryGetVariable(context, segment.Variable, segment.Bytes, out value);

    /// <summary>
    /// A template variable's value for this request (for every kind of template: header values, json_body's strings);
    /// false when it has none (no consumer, no such claim or header). <paramref name="name"/> is the claim or header
    /// name, or a literal's own bytes.
    /// </summary>
    internal static bool TryGetVariable(PolicyContext context, TemplateVariable variable, byte[] name, out ReadOnlySpan<byte> value)
    {
        switch (variable)
        {
            case TemplateVariable.Literal:
                value = name;
                return true;
            case TemplateVariable.ClientIp:
                value = context.ClientText;
                return true;
            case TemplateVariable.Consumer:
                value = context.Consumer is { } consumer ? consumer.NameBytes : default;
                return context.Consumer is not null;
            case TemplateVariable.RequestId:
                value = context.RequestId;
                return true;
            case TemplateVariable.Claim:
                value = default;
                return context.Claims is { } claims && claims.TryGetText(name, out value);
            case TemplateVariable.Header:
                return context.TryGetHeader(name, out value);
            default:
                value = default;
                return false;
        }
    }
}
