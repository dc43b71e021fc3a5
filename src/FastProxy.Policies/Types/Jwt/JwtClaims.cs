using System.Text.Json;
using FastProxy.Policies.Pipeline;

namespace FastProxy.Policies.Types.Jwt;

/// <summary>
/// A verified token's claims, read once from its payload and kept with the cached token: every name (members of
/// objects reached by a dotted path, "realm_access.roles") with its text, unescaped: a string as such, a number as
/// written, true/false, a list's elements (strings, numbers, booleans) each and joined with ",". Lookups scan a small
/// array and compare bytes: nothing is allocated after the payload was read.
/// </summary>
internal sealed class JwtClaims : IClaims
{
    /// <summary>Objects are flattened this deep ("a.b.c"); deeper members are not reachable by name.</summary>
    private const int MaxFlattenDepth = 4;
    /// <summary>More names than this is not a token a gateway should parse (it is also past any usual size).</summary>
    public const int MaxClaims = 256;

    private readonly byte[] _arena;
    private readonly Claim[] _claims;
    private readonly Range[] _items;

    private JwtClaims(byte[] arena, Claim[] claims, Range[] items)
    {
        _arena = arena;
        _claims = claims;
        _items = items;
    }

    private enum Kind : byte { Text, Number, Boolean, List, Object }

    private readonly record struct Claim(Range Name, Range Text, int FirstItem, int ItemCount, Kind Kind);

    public int Count => _claims.Length;

    public bool TryGetText(ReadOnlySpan<byte> name, out ReadOnlySpan<byte> value)
    {
        int index = Find(name);
        if (index < 0 || _claims[index].Kind == Kind.Object)
        {
            value = default;
            return false;
        }
        value = _arena.AsSpan(_claims[index].Text);
        return true;
    }

    public bool Contains(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        int index = Find(name);
        if (index < 0) return false;
        var claim = _claims[index];
        switch (claim.Kind)
        {
            case Kind.List:
                for (int i = 0; i < claim.ItemCount; i++)
                {
                    if (_arena.AsSpan(_items[claim.FirstItem + i]).SequenceEqual(value)) return true;
                }
                return false;
            case Kind.Text when name.SequenceEqual("scope"u8) || name.SequenceEqual("scp"u8):
                // RFC 8693 §4.2 (and RFC 6749 §3.3): scope is a space-separated list in one string (Azure AD's "scp" too).
                foreach (var range in _arena.AsSpan(claim.Text).Split((byte)' '))
                {
                    if (_arena.AsSpan(claim.Text)[range].SequenceEqual(value)) return true;
                }
                return false;
            case Kind.Object:
                return false;
            default:
                return _arena.AsSpan(claim.Text).SequenceEqual(value);
        }
    }

    /// <summary>The elements of a list claim (or the one value of a scalar), each unescaped.</summary>
    public bool TryGetList(ReadOnlySpan<byte> name, out ReadOnlySpan<Range> items, out ReadOnlySpan<byte> arena)
    {
        int index = Find(name);
        arena = _arena;
        if (index < 0 || _claims[index].Kind != Kind.List)
        {
            items = default;
            return false;
        }
        items = _items.AsSpan(_claims[index].FirstItem, _claims[index].ItemCount);
        return true;
    }

    public bool Has(ReadOnlySpan<byte> name) => Find(name) >= 0;

    /// <summary>A number claim's text as written; false when absent, <paramref name="present"/> tells a claim of another type.</summary>
    public bool TryGetNumber(ReadOnlySpan<byte> name, out ReadOnlySpan<byte> text, out bool present)
    {
        int index = Find(name);
        present = index >= 0;
        bool number = present && _claims[index].Kind == Kind.Number;
        text = number ? _arena.AsSpan(_claims[index].Text) : default;
        return number;
    }

    private int Find(ReadOnlySpan<byte> name)
    {
        var claims = _claims;
        for (int i = 0; i < claims.Length; i++)
        {
            if (_arena.AsSpan(claims[i].Name).SequenceEqual(name)) return i;
        }
        return -1;
    }

    /// <summary>Reads a payload (a JSON object). Null when it is not one, repeats a name (RFC 7519 §4) or holds too many claims.</summary>
    public static JwtClaims? Parse(ReadOnlySpan<byte> payload)
    {
        var builder = new Builder();
        var reader = new Utf8JsonReader(payload, new JsonReaderOptions { MaxDepth = 32 });
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return null;
            if (!builder.ReadObject(ref reader, prefix: default, depth: 1)) return null;
            // Nothing may follow the object.
            if (reader.Read()) return null;
        }
        catch (JsonException)
        {
            return null;
        }
        return builder.Build();
    }

    private sealed class Builder
    {
        private byte[] _arena = new byte[256];
        private int _length;
        private readonly List<Claim> _claims = [];
        private readonly List<Range> _items = [];

        public JwtClaims Build() => new(_arena[.._length], [.. _claims], [.. _items]);

        public bool ReadObject(ref Utf8JsonReader reader, Range prefix, int depth)
        {
            while (reader.Read())
            {
                if (reader.TokenType == JsonTokenType.EndObject) return true;
                if (reader.TokenType != JsonTokenType.PropertyName) return false;
                // The full (dotted) name, written to the arena.
                int nameStart = _length;
                if (prefix.End.Value > prefix.Start.Value)
                {
                    Append(_arena.AsSpan(prefix));
                    Append("."u8);
                }
                AppendString(ref reader);
                var name = new Range(nameStart, _length);
                if (IsDuplicate(name) || _claims.Count >= MaxClaims) return false;
                if (!reader.Read()) return false;
                switch (reader.TokenType)
                {
                    case JsonTokenType.String:
                    case JsonTokenType.Number:
                    case JsonTokenType.True:
                    case JsonTokenType.False:
                    {
                        var kind = KindOf(reader.TokenType);
                        int start = _length;
                        AppendScalar(ref reader);
                        _claims.Add(new Claim(name, new Range(start, _length), 0, 0, kind));
                        break;
                    }
                    case JsonTokenType.Null:
                        // A null claim is as good as absent; the name is still taken (no duplicate can follow).
                        _claims.Add(new Claim(name, new Range(_length, _length), 0, 0, Kind.Object));
                        break;
                    case JsonTokenType.StartArray:
                        if (!ReadList(ref reader, name)) return false;
                        break;
                    case JsonTokenType.StartObject:
                        _claims.Add(new Claim(name, new Range(_length, _length), 0, 0, Kind.Object));
                        if (depth < MaxFlattenDepth)
                        {
                            if (!ReadObject(ref reader, name, depth + 1)) return false;
                        }
                        else
                        {
                            reader.Skip();
                        }
                        break;
                    default:
                        return false;
                }
            }
            return false;
        }

        private bool ReadList(ref Utf8JsonReader reader, Range name)
        {
            int first = _items.Count;
            int textStart = _length;
            // The joined text first, then each element is a range inside it (the commas between are not part of any).
            while (reader.Read())
            {
                switch (reader.TokenType)
                {
                    case JsonTokenType.EndArray:
                        _claims.Add(new Claim(name, new Range(textStart, _length), first, _items.Count - first, Kind.List));
                        return true;
                    case JsonTokenType.String:
                    case JsonTokenType.Number:
                    case JsonTokenType.True:
                    case JsonTokenType.False:
                        if (_items.Count > first) Append(","u8);
                        int start = _length;
                        AppendScalar(ref reader);
                        _items.Add(new Range(start, _length));
                        break;
                    case JsonTokenType.StartArray:
                    case JsonTokenType.StartObject:
                        // Not representable as text: left out of the list.
                        reader.Skip();
                        break;
                    case JsonTokenType.Null:
                        break;
                    default:
                        return false;
                }
            }
            return false;
        }

        private bool IsDuplicate(Range name)
        {
            var span = _arena.AsSpan(name);
            foreach (var claim in _claims)
            {
                if (_arena.AsSpan(claim.Name).SequenceEqual(span)) return true;
            }
            return false;
        }

        private static Kind KindOf(JsonTokenType type) => type switch
        {
            JsonTokenType.String => Kind.Text,
            JsonTokenType.Number => Kind.Number,
            _ => Kind.Boolean,
        };

        private void AppendScalar(ref Utf8JsonReader reader)
        {
            if (reader.TokenType == JsonTokenType.String) AppendString(ref reader);
            else Append(reader.ValueSpan); // a number as written; true / false
        }

        private void AppendString(ref Utf8JsonReader reader)
        {
            if (!reader.ValueIsEscaped)
            {
                Append(reader.ValueSpan);
                return;
            }
            // Unescaped text is never longer than the escaped form.
            Reserve(reader.ValueSpan.Length);
            _length += reader.CopyString(_arena.AsSpan(_length));
        }

        private void Append(ReadOnlySpan<byte> bytes)
        {
            Reserve(bytes.Length);
            bytes.CopyTo(_arena.AsSpan(_length));
            _length += bytes.Length;
        }

        private void Reserve(int extra)
        {
            if (_length + extra <= _arena.Length) return;
            Array.Resize(ref _arena, Math.Max(_arena.Length * 2, _length + extra));
        }
    }
}

/// <summary>The registered claims a policy checks (RFC 7519 §4.1), read from <see cref="JwtClaims"/>.</summary>
internal static class RegisteredClaims
{
    /// <summary>A NumericDate (seconds since the epoch; a fraction is allowed and dropped). False when present but not a number.</summary>
    public static bool TryGetTime(JwtClaims claims, ReadOnlySpan<byte> name, out long seconds, out bool present)
    {
        seconds = 0;
        if (!claims.TryGetNumber(name, out var text, out present)) return !present;
        var reader = new Utf8JsonReader(text);
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.Number) return false;
            if (reader.TryGetInt64(out seconds)) return true;
            if (reader.TryGetDouble(out double d) && double.IsFinite(d) && Math.Abs(d) < 1e15)
            {
                seconds = (long)Math.Floor(d);
                return true;
            }
        }
        catch (JsonException)
        {
        }
        return false;
    }

    /// <summary>Whether the claim (a string, or a list of strings) holds one of <paramref name="accepted"/>.</summary>
    public static bool HoldsAny(JwtClaims claims, ReadOnlySpan<byte> name, byte[][] accepted)
    {
        foreach (var value in accepted)
        {
            if (claims.Contains(name, value)) return true;
        }
        return false;
    }
}
