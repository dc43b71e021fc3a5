using System.Buffers;
using System.Text;

namespace FastProxy.Policies.Pipeline;

/// <summary>
/// The changes policies ask for, recorded for the forwarder: request fields to drop, field lines to add to the
/// request and to the response, query parameters to drop. Every value is checked before it is taken: a CR, LF or NUL
/// from a token, a claim or a header never becomes a line of its own.
/// </summary>
public sealed partial class PolicyContext
{
    private const int MaxRemoved = 64;
    private const int MaxQueryRemovals = 16;

    private readonly int[] _removed = new int[MaxRemoved];
    private int _removedCount;
    private byte[] _requestLines = new byte[256];
    private int _requestLinesLength;
    private byte[] _responseLines = new byte[256];
    private int _responseLinesLength;
    private readonly Range[] _queryRemovals = new Range[MaxQueryRemovals];
    private int _queryRemovalCount;
    // Names of upstream response fields to drop, back to back; grown (once per connection at most in practice) when a
    // chain removes more than these hold.
    private Range[] _responseRemovals = new Range[8];
    private byte[] _responseRemovalNames = new byte[128];
    private int _responseRemovalCount;
    private int _responseRemovalNamesLength;

    private void ResetEdits()
    {
        _removedCount = 0;
        _requestLinesLength = 0;
        _responseLinesLength = 0;
        _queryRemovalCount = 0;
        _responseRemovalCount = 0;
        _responseRemovalNamesLength = 0;
        ResetBody();
        ResetTarget();
        if (_activeCount > 0) EndStages(completed: false); // (a response that failed before its stages were told)
    }

    /// <summary>Indices of request fields not to forward, ascending.</summary>
    public ReadOnlySpan<int> RemovedHeaders => _removed.AsSpan(0, _removedCount);

    /// <summary>Field lines (each ending in CRLF) to add to the request the upstream receives.</summary>
    public ReadOnlySpan<byte> RequestLines => _requestLines.AsSpan(0, _requestLinesLength);

    /// <summary>Field lines to add to the response the client receives (forwarded or answered by a policy).</summary>
    public ReadOnlySpan<byte> ResponseLines => _responseLines.AsSpan(0, _responseLinesLength);

    public bool HasRequestEdits => _removedCount > 0 || _requestLinesLength > 0 || QueryEdited || PathSet;

    /// <summary>Drops the request field at <paramref name="index"/> from what the upstream receives.</summary>
    public void RemoveHeader(int index)
    {
        int at = 0;
        while (at < _removedCount && _removed[at] < index) at++;
        if (at < _removedCount && _removed[at] == index) return;
        if (_removedCount == MaxRemoved) return; // beyond max_headers' default; the field simply stays
        Array.Copy(_removed, at, _removed, at + 1, _removedCount - at);
        _removed[at] = index;
        _removedCount++;
    }

    /// <summary>Drops every request field named <paramref name="name"/>.</summary>
    public void RemoveHeaders(ReadOnlySpan<byte> name)
    {
        for (int i = FindHeader(name); i >= 0; i = FindHeader(name, i + 1)) RemoveHeader(i);
    }

    /// <summary>Adds a field line to the upstream request. False (nothing added) when the value holds CR, LF or NUL.</summary>
    public bool AddRequestHeader(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value) => Append(ref _requestLines, ref _requestLinesLength, name, value);

    /// <summary>Replaces every request field of that name with one line.</summary>
    public bool SetRequestHeader(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        if (!HeaderText.IsFieldValue(value)) return false;
        RemoveHeaders(name);
        return AddRequestHeader(name, value);
    }

    /// <summary>Adds a field line to the response the client receives.</summary>
    public bool AddResponseHeader(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value) => Append(ref _responseLines, ref _responseLinesLength, name, value);

    /// <summary>
    /// Drops every field named <paramref name="name"/> (case-insensitive) from the upstream's response before the client
    /// receives it; lines added with <see cref="AddResponseHeader"/> are not affected (a response-side set is this plus
    /// an added line). The forwarder asks <see cref="IsResponseHeaderRemoved"/> for each field it copies.
    /// </summary>
    public void RemoveResponseHeader(ReadOnlySpan<byte> name)
    {
        if (name.IsEmpty || IsResponseHeaderRemoved(name)) return;
        if (_responseRemovalCount == _responseRemovals.Length) Array.Resize(ref _responseRemovals, _responseRemovals.Length * 2);
        if (_responseRemovalNamesLength + name.Length > _responseRemovalNames.Length)
        {
            Array.Resize(ref _responseRemovalNames, Math.Max(_responseRemovalNamesLength + name.Length, _responseRemovalNames.Length * 2));
        }
        name.CopyTo(_responseRemovalNames.AsSpan(_responseRemovalNamesLength));
        _responseRemovals[_responseRemovalCount++] = new Range(_responseRemovalNamesLength, _responseRemovalNamesLength + name.Length);
        _responseRemovalNamesLength += name.Length;
    }

    /// <summary>Some response fields are to be dropped: only then need the forwarder look at names.</summary>
    public bool HasResponseRemovals => _responseRemovalCount > 0;

    /// <summary>The upstream's response field named <paramref name="name"/> is not to reach the client.</summary>
    public bool IsResponseHeaderRemoved(ReadOnlySpan<byte> name)
    {
        var names = _responseRemovalNames.AsSpan(0, _responseRemovalNamesLength);
        for (int i = 0; i < _responseRemovalCount; i++)
        {
            var removed = names[_responseRemovals[i]];
            if (removed.Length == name.Length && Ascii.EqualsIgnoreCase(removed, name)) return true;
        }
        return false;
    }

    /// <summary>Drops a query parameter (every occurrence) from the target the upstream receives.</summary>
    public void RemoveQueryParameter(ReadOnlySpan<byte> name)
    {
        DropQuerySets(name);
        var query = Query;
        int offset = 0;
        while (_queryRemovalCount < MaxQueryRemovals && offset < query.Length)
        {
            var rest = query[offset..];
            int amp = rest.IndexOf((byte)'&');
            var pair = amp < 0 ? rest : rest[..amp];
            int eq = pair.IndexOf((byte)'=');
            if ((eq < 0 ? pair : pair[..eq]).SequenceEqual(name)) _queryRemovals[_queryRemovalCount++] = new Range(offset, offset + pair.Length);
            if (amp < 0) break;
            offset += amp + 1;
        }
    }

    public bool QueryEdited => _queryRemovalCount > 0 || _querySetCount > 0;

    /// <summary>
    /// The query with the removed parameters left out and the set ones appended (no '?'); returns its length.
    /// <paramref name="destination"/> must hold <see cref="Query"/>'s length plus <see cref="QueryGrowth"/>.
    /// </summary>
    public int CopyEditedQuery(Span<byte> destination)
    {
        var query = Query;
        int w = 0, offset = 0;
        while (offset < query.Length)
        {
            var rest = query[offset..];
            int amp = rest.IndexOf((byte)'&');
            int length = amp < 0 ? rest.Length : amp;
            if (!IsRemoved(offset))
            {
                if (w > 0) destination[w++] = (byte)'&';
                rest[..length].CopyTo(destination[w..]);
                w += length;
            }
            if (amp < 0) break;
            offset += amp + 1;
        }
        return AppendQuerySets(destination, w);
    }

    private bool IsRemoved(int offset)
    {
        for (int i = 0; i < _queryRemovalCount; i++)
        {
            if (_queryRemovals[i].Start.Value == offset) return true;
        }
        return false;
    }

    private static bool Append(ref byte[] buffer, ref int length, ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        if (name.IsEmpty || !HeaderText.IsFieldValue(name) || name.Contains((byte)':') || name.Contains((byte)' ') || !HeaderText.IsFieldValue(value))
        {
            return false;
        }
        value = value.Trim(" \t"u8);
        int needed = length + name.Length + value.Length + 4;
        if (needed > buffer.Length)
        {
            // Grows once per connection at most in practice (claims copied to headers); kept for the next request.
            var larger = new byte[Math.Max(needed, buffer.Length * 2)];
            buffer.AsSpan(0, length).CopyTo(larger);
            buffer = larger;
        }
        var span = buffer.AsSpan(length);
        name.CopyTo(span);
        span[name.Length] = (byte)':';
        span[name.Length + 1] = (byte)' ';
        value.CopyTo(span[(name.Length + 2)..]);
        span[name.Length + 2 + value.Length] = (byte)'\r';
        span[name.Length + 3 + value.Length] = (byte)'\n';
        length = needed;
        return true;
    }
}
