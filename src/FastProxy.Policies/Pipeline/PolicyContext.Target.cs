using System.Buffers;

namespace FastProxy.Policies.Pipeline;

/// <summary>
/// Edits of the target the upstream receives: a new path (replacing strip_prefix's result) and query parameters set.
/// Both are kept in per-context buffers (grown once per connection at most in practice) and written by the forwarder's
/// request-line writer. What goes in is checked: a path must start with '/' and hold no CR, LF or NUL; whatever may not
/// stand in a target as it is (a space, '#', a non-ASCII byte...) is percent-encoded, so nothing a policy computes can
/// split the request line or end the target early.
/// </summary>
public sealed partial class PolicyContext
{
    private const int MaxQuerySets = 16;

    private byte[] _path = new byte[128];
    private int _pathLength = -1;
    // Set parameters, each "name=value" (encoded), back to back without separators.
    private byte[] _querySets = new byte[128];
    private int _querySetsLength;
    private readonly Range[] _querySetEntries = new Range[MaxQuerySets];
    private readonly int[] _querySetNameLengths = new int[MaxQuerySets];
    private int _querySetCount;

    private void ResetTarget()
    {
        _pathLength = -1;
        _querySetsLength = 0;
        _querySetCount = 0;
    }

    /// <summary>A policy set the path the upstream receives (<see cref="EditedPath"/>).</summary>
    public bool PathSet => _pathLength >= 0;

    /// <summary>The path a policy set (encoded, starting with '/'); empty when none did.</summary>
    public ReadOnlySpan<byte> EditedPath => _pathLength >= 0 ? _path.AsSpan(0, _pathLength) : default;

    /// <summary>The path as the chain has it so far: the one a policy set, else the client's (normal form, before strip_prefix).</summary>
    public ReadOnlySpan<byte> CurrentPath => _pathLength >= 0 ? _path.AsSpan(0, _pathLength) : Path;

    /// <summary>
    /// Sets the path the upstream receives, replacing the client's (and strip_prefix's result); the query stays as edited.
    /// False (nothing changed) unless it starts with '/' and holds no CR, LF or NUL. Bytes a path may not hold as they are
    /// (controls, space, '"', '#', '?', '&lt;', '&gt;', '\', '^', '`', '{', '|', '}', non-ASCII, a '%' that does not start
    /// an escape) are percent-encoded; escapes already there stay.
    /// </summary>
    public bool SetPath(ReadOnlySpan<byte> path)
    {
        if (path.IsEmpty || path[0] != (byte)'/' || path.IndexOfAny((byte)'\r', (byte)'\n', (byte)0) >= 0) return false;
        int length = 0;
        for (int i = 0; i < path.Length; i++) length += PathByteKept(path, i) ? 1 : 3;

        byte[]? rented = null;
        if (path.Overlaps(_path))
        {
            // The caller handed back our own path (CurrentPath): copy it out before writing over it.
            rented = ArrayPool<byte>.Shared.Rent(path.Length);
            path.CopyTo(rented);
            path = rented.AsSpan(0, path.Length);
        }
        if (length > _path.Length) _path = new byte[Math.Max(length, _path.Length * 2)];
        var span = _path.AsSpan();
        int w = 0;
        for (int i = 0; i < path.Length; i++)
        {
            if (PathByteKept(path, i)) span[w++] = path[i];
            else w += Escape(path[i], span[w..]);
        }
        _pathLength = w;
        if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
        return true;
    }

    /// <summary>
    /// Sets a query parameter of the target the upstream receives: every occurrence the client sent goes, and
    /// name=value is appended (a second set of the same name replaces the first). Both are taken as plain text and
    /// percent-encoded (all but RFC 3986's unreserved characters and a few sub-delimiters safe in a query).
    /// False (nothing changed) for an empty name, or past 16 set parameters.
    /// </summary>
    public bool SetQueryParameter(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        if (name.IsEmpty) return false;
        int nameLength = EncodedQueryLength(name);
        int needed = nameLength + 1 + EncodedQueryLength(value);

        // The encoded name, apart: earlier sets of it are dropped first (which moves the buffer's contents).
        byte[]? rented = nameLength > 256 ? ArrayPool<byte>.Shared.Rent(nameLength) : null;
        Span<byte> encodedName = rented is null ? stackalloc byte[256] : rented;
        encodedName = encodedName[..EncodeQuery(name, encodedName)];
        DropQuerySets(encodedName);
        RemoveQueryParameter(encodedName);
        bool added = false;
        if (_querySetCount < MaxQuerySets)
        {
            Grow(ref _querySets, _querySetsLength + needed);
            var span = _querySets.AsSpan(_querySetsLength);
            encodedName.CopyTo(span);
            int w = encodedName.Length;
            span[w++] = (byte)'=';
            w += EncodeQuery(value, span[w..]);
            _querySetEntries[_querySetCount] = new Range(_querySetsLength, _querySetsLength + w);
            _querySetNameLengths[_querySetCount] = nameLength;
            _querySetCount++;
            _querySetsLength += w;
            added = true;
        }
        if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
        return added;
    }

    /// <summary>How many bytes the edited query may take beyond the client's (the set parameters and their '&amp;'s).</summary>
    public int QueryGrowth => _querySetsLength + _querySetCount;

    /// <summary>Room the upstream's target may need beyond the client's: a set path and the set parameters.</summary>
    public int TargetGrowth => (_pathLength < 0 ? 0 : _pathLength + 1) + QueryGrowth;

    /// <summary>Drops parameters an earlier <see cref="SetQueryParameter"/> added under <paramref name="encodedName"/>.</summary>
    private void DropQuerySets(ReadOnlySpan<byte> encodedName)
    {
        for (int i = 0; i < _querySetCount; i++)
        {
            var entry = _querySetEntries[i];
            var bytes = _querySets.AsSpan(entry.Start.Value, _querySetNameLengths[i]);
            if (!bytes.SequenceEqual(encodedName)) continue;
            int start = entry.Start.Value, removed = entry.End.Value - start;
            // Close the gap and shift later entries.
            _querySets.AsSpan(entry.End.Value, _querySetsLength - entry.End.Value).CopyTo(_querySets.AsSpan(start));
            _querySetsLength -= removed;
            for (int j = i + 1; j < _querySetCount; j++)
            {
                var e = _querySetEntries[j];
                _querySetEntries[j - 1] = new Range(e.Start.Value - removed, e.End.Value - removed);
                _querySetNameLengths[j - 1] = _querySetNameLengths[j];
            }
            _querySetCount--;
            i--;
        }
    }

    /// <summary>The set parameters, '&amp;'-separated, after <paramref name="w"/> bytes of the query already written.</summary>
    private int AppendQuerySets(Span<byte> destination, int w)
    {
        for (int i = 0; i < _querySetCount; i++)
        {
            if (w > 0) destination[w++] = (byte)'&';
            var entry = _querySets.AsSpan()[_querySetEntries[i]];
            entry.CopyTo(destination[w..]);
            w += entry.Length;
        }
        return w;
    }

    private static void Grow(ref byte[] buffer, int needed)
    {
        if (needed <= buffer.Length) return;
        var larger = new byte[Math.Max(needed, buffer.Length * 2)];
        buffer.CopyTo(larger, 0);
        buffer = larger;
    }

    private static bool IsUnreserved(byte b) => (uint)((b | 0x20) - 'a') <= 'z' - 'a' || (uint)(b - '0') <= 9 || b is (byte)'-' or (byte)'.' or (byte)'_' or (byte)'~';

    private static bool IsHex(byte b) => (uint)(b - '0') <= 9 || (uint)((b | 0x20) - 'a') <= 'f' - 'a';

    /// <summary>RFC 3986 pchar or '/', and '%' only as the start of an escape.</summary>
    private static bool PathByteKept(ReadOnlySpan<byte> path, int i)
    {
        byte b = path[i];
        if (IsUnreserved(b)) return true;
        return b switch
        {
            (byte)'/' or (byte)':' or (byte)'@' or (byte)'!' or (byte)'$' or (byte)'&' or (byte)'\'' or (byte)'(' or (byte)')'
                or (byte)'*' or (byte)'+' or (byte)',' or (byte)';' or (byte)'=' => true,
            (byte)'%' => i + 2 < path.Length && IsHex(path[i + 1]) && IsHex(path[i + 2]),
            _ => false,
        };
    }

    /// <summary>Kept as it is in a query name or value: unreserved and the sub-delimiters that separate nothing there.</summary>
    private static bool QueryByteKept(byte b) => IsUnreserved(b) || b is (byte)'!' or (byte)'$' or (byte)'\'' or (byte)'(' or (byte)')' or (byte)'*'
        or (byte)',' or (byte)';' or (byte)':' or (byte)'@' or (byte)'/';

    private static int EncodedQueryLength(ReadOnlySpan<byte> text)
    {
        int length = 0;
        foreach (var b in text) length += QueryByteKept(b) ? 1 : 3;
        return length;
    }

    private static int EncodeQuery(ReadOnlySpan<byte> text, Span<byte> destination)
    {
        int w = 0;
        foreach (var b in text)
        {
            if (QueryByteKept(b)) destination[w++] = b;
            else w += Escape(b, destination[w..]);
        }
        return w;
    }

    private static int Escape(byte b, Span<byte> destination)
    {
        const string Hex = "0123456789ABCDEF";
        destination[0] = (byte)'%';
        destination[1] = (byte)Hex[b >> 4];
        destination[2] = (byte)Hex[b & 0xF];
        return 3;
    }
}
