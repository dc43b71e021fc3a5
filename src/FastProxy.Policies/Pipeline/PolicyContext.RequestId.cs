using System.Buffers.Binary;
using System.Security.Cryptography;

namespace FastProxy.Policies.Pipeline;

/// <summary>
/// The request's id, for templates ({request_id}) and whoever else wants one (the access log): the client's
/// X-Request-Id when it sent a usable one, otherwise generated on first use. Either way it is written into a buffer of
/// this context, so reading it allocates nothing. The rules and the generator are <see cref="RequestIds"/>'s, which the
/// forwarder uses for every request (policies or not); it then hands its id over with <see cref="SetRequestId"/>.
/// </summary>
public sealed partial class PolicyContext
{
    /// <summary>A longer X-Request-Id is not taken (a generated one is 32 characters).</summary>
    public const int MaxRequestIdLength = RequestIds.MaxLength;

    private readonly byte[] _requestId = new byte[MaxRequestIdLength];
    private int _requestIdLength;

    /// <summary>The request's id; resolved on first use (the client's X-Request-Id or a generated one), then kept for the request.</summary>
    public ReadOnlySpan<byte> RequestId
    {
        get
        {
            if (_requestIdLength == 0) ResolveRequestId();
            return _requestId.AsSpan(0, _requestIdLength);
        }
    }

    /// <summary>True once the id was resolved or set for this request.</summary>
    public bool HasRequestId => _requestIdLength > 0;

    /// <summary>Sets the id (e.g. the host's own, when it makes one before the chain runs). False when it is empty, too long or not visible ASCII.</summary>
    public bool SetRequestId(ReadOnlySpan<byte> id)
    {
        if (!RequestIds.IsUsable(id)) return false;
        id.CopyTo(_requestId);
        _requestIdLength = id.Length;
        return true;
    }

    private void ResolveRequestId()
    {
        if (TryGetHeader("x-request-id"u8, out var sent) && SetRequestId(sent)) return;
        _requestIdLength = RequestIds.Format(RequestIds.Next(), _requestId);
    }
}

/// <summary>
/// Request ids: which X-Request-Id a client may set, and the generator of the others. 16 hex characters drawn once
/// per process, then a 16-hex-character counter: unique within the process (the counter does not wrap in practice),
/// unlikely to repeat across restarts (64 random bits), sortable by arrival within one process, and cheap (one
/// interlocked increment, no randomness per request). A generated id is kept as its counter value (a ulong) until
/// it is written, so holding one costs no buffer.
/// </summary>
public static class RequestIds
{
    /// <summary>A longer X-Request-Id is not taken.</summary>
    public const int MaxLength = 128;

    /// <summary>The length of a generated id.</summary>
    public const int GeneratedLength = 32;

    private static readonly byte[] s_prefix = RandomPrefix();
    private static long s_counter;

    /// <summary>Numbers a thread takes from the shared counter at once: one atomic add per block, not per request.</summary>
    private const int Block = 1024;

    [ThreadStatic] private static ulong t_next;
    [ThreadStatic] private static ulong t_end;

    /// <summary>
    /// The next generated id's number (never 0, so 0 can mean "none"). Unique in the process: each thread hands out a
    /// block of numbers it reserved from the shared counter, so requests on different cores do not fight over one
    /// cache line.
    /// </summary>
    public static ulong Next()
    {
        if (t_next == t_end)
        {
            t_end = (ulong)Interlocked.Add(ref s_counter, Block) + 1;
            t_next = t_end - Block;
        }
        return t_next++;
    }

    /// <summary>Writes generated id <paramref name="n"/> (<see cref="GeneratedLength"/> characters) into <paramref name="destination"/>; returns its length.</summary>
    public static int Format(ulong n, Span<byte> destination)
    {
        s_prefix.CopyTo(destination);
        WriteHex(destination[16..GeneratedLength], n);
        return GeneratedLength;
    }

    /// <summary>
    /// <paramref name="value"/>'s low digits as lowercase hex filling <paramref name="destination"/> (zero-padded), from
    /// a 16-byte table: several times cheaper than ulong.TryFormat("x16") on the request path. Trace ids use it too.
    /// </summary>
    public static void WriteHex(Span<byte> destination, ulong value)
    {
        if (destination.Length == 16)
        {
            // The usual case (ids, trace and span ids): eight digits at a time, no table and no loop.
            BinaryPrimitives.WriteUInt64LittleEndian(destination, HexDigits8((uint)(value >> 32)));
            BinaryPrimitives.WriteUInt64LittleEndian(destination[8..], HexDigits8((uint)value));
            return;
        }
        ReadOnlySpan<byte> digits = "0123456789abcdef"u8;
        for (int i = destination.Length - 1; i >= 0; i--)
        {
            destination[i] = digits[(int)(value & 0xF)];
            value >>= 4;
        }
    }

    /// <summary>
    /// The eight lowercase hex digits of <paramref name="value"/>, most significant first once stored little-endian:
    /// its nibbles spread one per byte (SWAR), byte order reversed, then '0'-'9' or 'a'-'f' added to all eight at once.
    /// </summary>
    private static ulong HexDigits8(uint value)
    {
        ulong v = value;
        v = (v | (v << 16)) & 0x0000FFFF0000FFFFUL;
        v = (v | (v << 8)) & 0x00FF00FF00FF00FFUL;
        v = (v | (v << 4)) & 0x0F0F0F0F0F0F0F0FUL;
        // Byte i holds nibble i (least significant first): the first character must be the most significant.
        v = BinaryPrimitives.ReverseEndianness(v);
        // 1 in each byte whose nibble is 10 or more; those get 'a' - '0' - 10 = 39 more.
        ulong letters = ((v + 0x0606060606060606UL) >> 4) & 0x0101010101010101UL;
        return v + 0x3030303030303030UL + letters * 39;
    }

    /// <summary>Visible ASCII only (no spaces), 1 to <see cref="MaxLength"/> characters: an id goes into logs and header values as it is.</summary>
    public static bool IsUsable(ReadOnlySpan<byte> id)
    {
        if (id.IsEmpty || id.Length > MaxLength) return false;
        foreach (var b in id)
        {
            if (b is <= 0x20 or >= 0x7F) return false;
        }
        return true;
    }

    private static byte[] RandomPrefix()
    {
        Span<byte> random = stackalloc byte[8];
        RandomNumberGenerator.Fill(random);
        var hex = new byte[16];
        WriteHex(hex, BitConverter.ToUInt64(random));
        return hex;
    }
}
