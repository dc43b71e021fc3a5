using System.Text;
using FastProxy.Configuration;
using FastProxy.Policies.Pipeline;

namespace FastProxy.Policies.Types.Headers;

/// <summary>
/// One side's edits (request or response) compiled at load: names as bytes, values as <see cref="CompiledTemplate"/>s.
/// Applied in a fixed order, remove, rename, set, add (as Kong's transformers), so a config reads the same whatever
/// order its keys are written in.
/// </summary>
internal sealed class HeaderEditor
{
    private readonly byte[][] _remove;
    private readonly (byte[] From, byte[] To)[] _rename;
    private readonly (byte[] Name, CompiledTemplate Value)[] _set;
    private readonly (byte[] Name, CompiledTemplate Value)[] _add;
    private readonly HeaderSkips _skips;

    public HeaderEditor(HeaderEdits edits, HeaderSkips skips)
    {
        _remove = [.. edits.Remove.Select(Bytes)];
        _rename = [.. edits.Rename.Select(r => (Bytes(r.Key), Bytes(r.Value)))];
        _set = [.. edits.Set.Select(s => (Bytes(s.Key), new CompiledTemplate(s.Value)))];
        _add = [.. edits.Add.Select(a => (Bytes(a.Key), new CompiledTemplate(a.Value)))];
        _skips = skips;
        IsEmpty = edits.IsEmpty;
    }

    public bool IsEmpty { get; }

    public HeaderSkips Skips => _skips;

    private static byte[] Bytes(string name) => Encoding.ASCII.GetBytes(name);

    /// <summary>Edits the request the upstream receives. {header.NAME} reads the request as the client sent it.</summary>
    public void ApplyToRequest(PolicyContext context)
    {
        foreach (var name in _remove) context.RemoveHeaders(name);
        foreach (var (from, to) in _rename)
        {
            for (int i = context.FindHeader(from); i >= 0; i = context.FindHeader(from, i + 1))
            {
                context.RemoveHeader(i);
                if (!context.AddRequestHeader(to, context.HeaderValue(i))) _skips.Unsafe();
            }
        }
        foreach (var (name, value) in _set)
        {
            // The client's fields go whether or not the new value can be written: an upstream trusting this header must
            // never see the client's version of it.
            context.RemoveHeaders(name);
            Count(value.AddLine(context, name, response: false));
        }
        foreach (var (name, value) in _add) Count(value.AddLine(context, name, response: false));
    }

    /// <summary>Edits the response the client receives: the upstream's fields are dropped through the context, lines added to it.</summary>
    public void ApplyToResponse(PolicyContext context, ResponseView response)
    {
        foreach (var name in _remove) context.RemoveResponseHeader(name);
        foreach (var (from, to) in _rename)
        {
            bool any = false;
            for (int i = 0; i < response.HeaderCount; i++)
            {
                var fieldName = response.HeaderName(i);
                if (fieldName.Length != from.Length || !Ascii.EqualsIgnoreCase(fieldName, from)) continue;
                any = true;
                if (!context.AddResponseHeader(to, response.HeaderValue(i))) _skips.Unsafe();
            }
            if (any) context.RemoveResponseHeader(from);
        }
        foreach (var (name, value) in _set)
        {
            context.RemoveResponseHeader(name);
            Count(value.AddLine(context, name, response: true));
        }
        foreach (var (name, value) in _add) Count(value.AddLine(context, name, response: true));
    }

    private void Count(Expansion result)
    {
        if (result == Expansion.Unsafe) _skips.Unsafe();
        else if (result == Expansion.Missing) _skips.Missing();
    }
}

/// <summary>Lines a headers policy did not write: a value with CR, LF, NUL or a control in it, or a variable with no value.</summary>
public sealed class HeaderSkips
{
    private long _unsafe;
    private long _missing;

    /// <summary>Values refused because a variable's value would have broken the line (header injection attempts among them).</summary>
    public long UnsafeCount => Volatile.Read(ref _unsafe);

    /// <summary>Lines left out because a variable had no value for the request (no consumer, no such claim or header).</summary>
    public long MissingCount => Volatile.Read(ref _missing);

    internal void Unsafe() => Interlocked.Increment(ref _unsafe);

    internal void Missing() => Interlocked.Increment(ref _missing);
}
