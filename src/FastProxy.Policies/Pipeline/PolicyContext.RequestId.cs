using System.Security.Cryptography;

namespace FastProxy.Policies.Pipeline;

/// <summary>
/// The request's id, for templates ({request_id}) and whoever else wants one (the access log): the client's
/// X-Request-Id when it sent a usable one, otherwise generated on first use. Either way it is written into a buffer of
/// this context, so reading it allocates nothing.
/// </summary>
public sealed partial class PolicyContext
{
    /// <summary>A longer X-Request-Id is not taken (a generated one is 32 characters).</summary>
    public const int MaxRequestIdLength = 128;

    /// <summary>
    /// 16 hex characters drawn once per process, then a 16-hex-character counter: unique within the process (the
    /// counter does not wrap in practice), unlikely to repeat across restarts (64 random bits), sortable by arrival
    /// within one process, and cheap (one interlocked increment, no randomness per request).
    /// </summary>
    private static readonly byte[] s_requestIdPrefix = RandomPrefix();
    private static long s_requestIdCounter;

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
        if (!IsUsableRequestId(id)) return false;
        id.CopyTo(_requestId);
        _requestIdLength = id.Length;
        return true;
    }

    private void ResolveRequestId()
    {
        if (TryGetHeader("x-request-id"u8, out var sent) && SetRequestId(sent)) return;
        s_requestIdPrefix.CopyTo(_requestId, 0);
        ulong n = (ulong)Interlocked.Increment(ref s_requestIdCounter);
        n.TryFormat(_requestId.AsSpan(16), out _, "x16");
        _requestIdLength = 32;
    }

    /// <summary>Visible ASCII only (no spaces): an id goes into logs and header values as it is.</summary>
    private static bool IsUsableRequestId(ReadOnlySpan<byte> id)
    {
        if (id.IsEmpty || id.Length > MaxRequestIdLength) return false;
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
        BitConverter.ToUInt64(random).TryFormat(hex, out _, "x16");
        return hex;
    }
}
