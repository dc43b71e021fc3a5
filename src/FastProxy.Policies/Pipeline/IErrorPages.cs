using FastProxy.Http1;

namespace FastProxy.Policies.Pipeline;

/// <summary>
/// What the forwarder asks of an error_pages policy: the body (and Content-Type) an error answer gets instead of its own.
/// A chain exposes the one that applies (<see cref="PolicyChain.ErrorPages"/>: the route's, else the listener's), so a
/// request no route matched (404) uses the listener's. Everything is built at load: looking a page up allocates nothing.
/// </summary>
public interface IErrorPages
{
    /// <summary>True: only the proxy's own answers (a failed exchange, no route, a policy's refusal) get a page; an upstream's never.</summary>
    bool OnlyProxyErrors { get; }

    /// <summary>The format this request gets (the client's Accept decides when the policy negotiates); read while the head is still at hand.</summary>
    int ChooseFormat(RequestHead request, ReadOnlySpan<byte> head);

    /// <summary>The page for <paramref name="status"/> in <paramref name="format"/>; null: the answer keeps its own body.</summary>
    ErrorPage? Find(int status, int format);
}

/// <summary>
/// One status's page in one format, built at load: its Content-Type line and body. A problem+json page can carry the
/// request's id as its "instance" member, written into the body as it is sent (<see cref="Length"/>, <see cref="Write"/>).
/// </summary>
public sealed class ErrorPage
{
    /// <param name="instanceOpen">problem+json: the body without its closing brace plus <c>,"instance":"</c>; null for a page without a request id.</param>
    public ErrorPage(int status, string contentType, byte[] body, byte[]? instanceOpen = null)
    {
        Status = status;
        ContentTypeLine = System.Text.Encoding.ASCII.GetBytes($"Content-Type: {contentType}\r\n");
        Body = body;
        InstanceOpen = instanceOpen;
        IsProblem = contentType == "application/problem+json";
    }

    /// <summary>An RFC 9457 problem page: a policy's answer that is a problem already (validate's, naming the failing field) keeps its own.</summary>
    public bool IsProblem { get; }

    public int Status { get; }

    /// <summary>"Content-Type: ...\r\n".</summary>
    public byte[] ContentTypeLine { get; }

    /// <summary>The body without a request id.</summary>
    public byte[] Body { get; }

    /// <summary>Non-null when the body can carry the request id (problem+json's "instance").</summary>
    public byte[]? InstanceOpen { get; }

    private static ReadOnlySpan<byte> InstanceClose => "\"}"u8;

    /// <summary>The body's length with <paramref name="requestId"/> (empty: none) in it.</summary>
    public int Length(ReadOnlySpan<byte> requestId)
    {
        if (InstanceOpen is null || requestId.IsEmpty) return Body.Length;
        int escapes = 0;
        foreach (var b in requestId)
        {
            if (b is (byte)'"' or (byte)'\\') escapes++;
        }
        return InstanceOpen.Length + requestId.Length + escapes + InstanceClose.Length;
    }

    /// <summary>Writes the body (<see cref="Length"/> octets) into <paramref name="destination"/>; returns its length.</summary>
    public int Write(Span<byte> destination, ReadOnlySpan<byte> requestId)
    {
        if (InstanceOpen is null || requestId.IsEmpty)
        {
            Body.CopyTo(destination);
            return Body.Length;
        }
        InstanceOpen.CopyTo(destination);
        int w = InstanceOpen.Length;
        // A request id is visible ASCII (RequestIds.IsUsable): only '"' and '\' need escaping in a JSON string.
        foreach (var b in requestId)
        {
            if (b is (byte)'"' or (byte)'\\') destination[w++] = (byte)'\\';
            destination[w++] = b;
        }
        InstanceClose.CopyTo(destination[w..]);
        return w + InstanceClose.Length;
    }
}
