using System.Text;

namespace FastProxy.Policies.Pipeline;

/// <summary>
/// A response a policy gives instead of forwarding (401, 403, 429, a preflight's 204, ...). Built once at load for
/// every fixed answer; a policy that relays someone else's answer (forward_auth) builds one per request.
/// The forwarder writes it with the Date, framing and connection handling, plus the lines the chain added for the
/// response (<see cref="PolicyContext.ResponseLines"/>, e.g. CORS headers), on HTTP/1.1 and HTTP/2 alike.
/// </summary>
public sealed class PolicyAnswer
{
    public PolicyAnswer(int status, RejectionCounter counter, IEnumerable<KeyValuePair<string, string>>? headers = null, string? body = null,
        string contentType = "text/plain; charset=utf-8")
        : this(status, counter, Lines(headers, body is null ? null : contentType), body is null ? [] : Encoding.UTF8.GetBytes(body))
    {
    }

    /// <param name="headerLines">Complete field lines, each ending in CRLF; no framing or Date fields.</param>
    public PolicyAnswer(int status, RejectionCounter counter, byte[] headerLines, byte[] body)
    {
        Status = status;
        Counter = counter;
        HeaderLines = headerLines;
        Body = body;
    }

    public int Status { get; }

    /// <summary>
    /// The answer is someone else's, relayed (forward_auth's auth service): error_pages treats it as an upstream's answer,
    /// so its body is replaced only with only_proxy_errors = false.
    /// </summary>
    public bool Relayed { get; init; }

    public byte[] HeaderLines { get; }
    public byte[] Body { get; }
    /// <summary>Counts the answers given for this policy and reason (exported as policy rejections).</summary>
    public RejectionCounter Counter { get; }

    private static byte[] Lines(IEnumerable<KeyValuePair<string, string>>? headers, string? contentType)
    {
        var sb = new StringBuilder();
        foreach (var (name, value) in headers ?? [])
        {
            if (!HeaderText.IsToken(name) || !HeaderText.IsFieldValue(value)) throw new ArgumentException($"invalid header {name}");
            sb.Append(name).Append(": ").Append(value).Append("\r\n");
        }
        if (contentType is not null) sb.Append("Content-Type: ").Append(contentType).Append("\r\n");
        return Encoding.UTF8.GetBytes(sb.ToString());
    }
}

/// <summary>How many times one policy answered for one reason; the metrics exporter reads every counter through <see cref="All"/>.</summary>
public sealed class RejectionCounter
{
    private static readonly List<RejectionCounter> s_all = [];
    private long _count;

    private RejectionCounter(string policy, string type, string reason)
    {
        Policy = policy;
        Type = type;
        Reason = reason;
    }

    public string Policy { get; }
    public string Type { get; }
    public string Reason { get; }
    public long Count => Volatile.Read(ref _count);

    public void Increment() => Interlocked.Increment(ref _count);

    /// <summary>
    /// The counter of <paramref name="policy"/> for <paramref name="reason"/>: the same object across reloads while the
    /// policy keeps its name and type, so counts run on like Prometheus counters should.
    /// </summary>
    public static RejectionCounter For(string policy, string type, string reason)
    {
        lock (s_all)
        {
            foreach (var c in s_all)
            {
                if (c.Policy == policy && c.Type == type && c.Reason == reason) return c;
            }
            var counter = new RejectionCounter(policy, type, reason);
            s_all.Add(counter);
            return counter;
        }
    }

    /// <summary>
    /// A counter for answers that are not refusals (the cache's hits, counted by fastproxy_cache_requests_total): it
    /// counts like the others but is not listed by <see cref="All"/>, so it is not exported as a rejection.
    /// </summary>
    public static RejectionCounter Unlisted(string policy, string type, string reason) => new(policy, type, reason);

    public static RejectionCounter[] All()
    {
        lock (s_all) return [.. s_all];
    }
}

/// <summary>Checks for text that goes into header fields: nothing a client or a config can use to inject a line.</summary>
public static class HeaderText
{
    /// <summary>An RFC 9110 token (field names).</summary>
    public static bool IsToken(ReadOnlySpan<char> text)
    {
        if (text.IsEmpty) return false;
        foreach (var c in text)
        {
            if (c > 0x7E || c <= 0x20 || "\"(),/:;<=>?@[\\]{}".Contains(c)) return false;
        }
        return true;
    }

    /// <summary>A field value: visible characters, spaces and tabs, no CR, LF or NUL (RFC 9110 §5.5).</summary>
    public static bool IsFieldValue(ReadOnlySpan<char> text)
    {
        foreach (var c in text)
        {
            if (c is '\r' or '\n' or '\0' || (c < 0x20 && c != '\t') || c == 0x7F) return false;
        }
        return true;
    }

    public static bool IsFieldValue(ReadOnlySpan<byte> text)
    {
        foreach (var c in text)
        {
            if (c is (byte)'\r' or (byte)'\n' or 0 || (c < 0x20 && c != (byte)'\t') || c == 0x7F) return false;
        }
        return true;
    }
}
