using System.Buffers.Text;
using System.Diagnostics;
using System.Text;

namespace FastProxy.Observability.AccessLog;

/// <summary>
/// Writes one access log line into a fixed buffer (a queue slot) without ever overflowing it: the constant parts
/// (keys, punctuation, numbers, flags) fit in <see cref="TailReserve"/>, which variable text never takes; a field
/// longer than its own cap, or than what is left, is cut (at a character boundary) and ends with "...".
/// </summary>
internal ref struct LineWriter
{
    /// <summary>
    /// More than every constant part of a line put together: the JSON keys and punctuation (~260 bytes), a time and
    /// six numbers (~130), with room to spare. The flags are written like text (each name whole, or not at all).
    /// Checked by a unit test that fills every field.
    /// </summary>
    public const int TailReserve = 512;

    private const byte Ellipsis = (byte)'.';
    private static readonly long TicksPerMicrosecond = Math.Max(1, Stopwatch.Frequency / 1_000_000);
    private static readonly bool ExactMicroseconds = Stopwatch.Frequency % 1_000_000 == 0;

    private readonly Span<byte> _buffer;
    private readonly int _guard;
    private int _position;
    private int _fieldEnd;
    private bool _truncated;

    public LineWriter(Span<byte> buffer)
    {
        _buffer = buffer;
        _guard = buffer.Length - TailReserve;
        _position = 0;
        _fieldEnd = _guard;
    }

    public readonly int Length => _position;

    /// <summary>Constant text: always fits (it is part of the reserve).</summary>
    public void Raw(ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(_buffer[_position..]);
        _position += bytes.Length;
    }

    public void Byte(byte b) => _buffer[_position++] = b;

    /// <summary>Inside a field: whether <paramref name="count"/> more bytes fit (false, and the field marked cut, when not).</summary>
    public bool TryRaw(int count) => Fits(count);

    public void Long(long value)
    {
        Utf8Formatter.TryFormat(value, _buffer[_position..], out int written);
        _position += written;
    }

    /// <summary>Stopwatch ticks as milliseconds with three decimals: "12.345".</summary>
    public void Milliseconds(long ticks)
    {
        long micros = ExactMicroseconds ? ticks / TicksPerMicrosecond : (long)(ticks * 1_000_000.0 / Stopwatch.Frequency);
        if (micros < 0) micros = 0;
        Long(micros / 1000);
        int fraction = (int)(micros % 1000);
        Byte((byte)'.');
        Byte((byte)('0' + fraction / 100));
        Byte((byte)('0' + fraction / 10 % 10));
        Byte((byte)('0' + fraction % 10));
    }

    public void Digits2(int value)
    {
        Byte((byte)('0' + value / 10));
        Byte((byte)('0' + value % 10));
    }

    public void Digits3(int value)
    {
        Byte((byte)('0' + value / 100));
        Digits2(value % 100);
    }

    public void Digits4(int value)
    {
        Digits2(value / 100);
        Digits2(value % 100);
    }

    /// <summary>Starts a variable field of at most <paramref name="cap"/> bytes (escapes included).</summary>
    public void BeginField(int cap)
    {
        _fieldEnd = (int)Math.Min((long)_position + cap, _guard);
        _truncated = false;
    }

    /// <summary>Ends the field: "..." when something was cut (unless <paramref name="ellipsis"/> is false).</summary>
    public void EndField(bool ellipsis = true)
    {
        if (_truncated && ellipsis)
        {
            Byte(Ellipsis);
            Byte(Ellipsis);
            Byte(Ellipsis);
        }
        _fieldEnd = _guard;
    }

    /// <summary>
    /// Text inside a JSON string (RFC 8259 §7): '"', '\' and control characters escaped, valid UTF-8 copied,
    /// each invalid byte written as U+FFFD, so the line is valid JSON whatever the client sent.
    /// </summary>
    public void JsonText(ReadOnlySpan<byte> text)
    {
        while (!text.IsEmpty && !_truncated)
        {
            byte b = text[0];
            if (b >= 0x20 && b != (byte)'"' && b != (byte)'\\' && b < 0x80)
            {
                // The common case: a run of plain ASCII copied at once.
                int run = 1;
                while (run < text.Length && text[run] >= 0x20 && text[run] < 0x80 && text[run] != (byte)'"' && text[run] != (byte)'\\') run++;
                int room = _fieldEnd - _position;
                if (run > room)
                {
                    run = room;
                    _truncated = true;
                }
                text[..run].CopyTo(_buffer[_position..]);
                _position += run;
                text = text[run..];
                continue;
            }
            if (b < 0x80)
            {
                // \" \\ \n \r \t, or \u00XX for the other controls.
                ReadOnlySpan<byte> escaped = b switch
                {
                    (byte)'"' => "\\\""u8,
                    (byte)'\\' => "\\\\"u8,
                    (byte)'\n' => "\\n"u8,
                    (byte)'\r' => "\\r"u8,
                    (byte)'\t' => "\\t"u8,
                    _ => default,
                };
                if (!escaped.IsEmpty)
                {
                    if (!Fits(escaped.Length)) return;
                    Raw(escaped);
                }
                else
                {
                    if (!Fits(6)) return;
                    Raw("\\u00"u8);
                    Hex(b);
                }
                text = text[1..];
                continue;
            }
            var status = Rune.DecodeFromUtf8(text, out _, out int consumed);
            if (status == System.Buffers.OperationStatus.Done)
            {
                if (!Fits(consumed)) return;
                Raw(text[..consumed]);
            }
            else
            {
                if (!Fits(6)) return;
                Raw("\\ufffd"u8);
                consumed = Math.Max(consumed, 1);
            }
            text = text[consumed..];
        }
    }

    /// <summary>
    /// Text as nginx escapes it in its default log format: '"', '\' and bytes outside printable ASCII as \xHH,
    /// so a field can neither end its quotes early nor start a new line.
    /// </summary>
    public void NginxText(ReadOnlySpan<byte> text)
    {
        foreach (byte b in text)
        {
            if (b >= 0x20 && b < 0x7f && b != (byte)'"' && b != (byte)'\\')
            {
                if (!Fits(1)) return;
                Byte(b);
            }
            else
            {
                if (!Fits(4)) return;
                Raw("\\x"u8);
                Hex(b);
            }
        }
    }

    private void Hex(byte b)
    {
        const string digits = "0123456789ABCDEF";
        Byte((byte)digits[b >> 4]);
        Byte((byte)digits[b & 0xF]);
    }

    private bool Fits(int count)
    {
        if (_position + count <= _fieldEnd) return true;
        _truncated = true;
        return false;
    }
}
