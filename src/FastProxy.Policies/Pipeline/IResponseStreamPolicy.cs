using System.Buffers;

namespace FastProxy.Policies.Pipeline;

/// <summary>
/// A response-side policy that sees the body as it streams, and may transform it (compress) or only observe it (the
/// cache's capture). Unlike <see cref="IResponseBodyPolicy"/> nothing is held back: each piece the upstream sends goes
/// through the stages and on to the client, and a pause of the upstream (a read that leaves nothing more to read) is
/// a flush point, so server-sent events and long polls are not delayed. A chain without such a policy pays nothing.
/// </summary>
/// <remarks>
/// Order: every transforming stage runs before every observing one, whatever the order listed (so a cache stores what
/// the client receives: the compressed variant). Transforming stages run in chain order, each on what the previous
/// one wrote. Per-response state lives in a <see cref="ResponseStage"/> the policy makes once per client connection
/// (<see cref="CreateStage"/>), kept by the connection's <see cref="PolicyContext"/> and reused for every response it
/// carries: no allocation per response in the steady state.
/// </remarks>
public interface IResponseStreamPolicy
{
    /// <summary>True: the stage only observes the bytes the client receives and writes nothing (it runs after the transforming ones).</summary>
    bool ObservesOnly { get; }

    /// <summary>A new stage for one client connection (called the first time that connection needs one for this policy).</summary>
    ResponseStage CreateStage();
}

/// <summary>What the forwarder knows of a response body before it reads it.</summary>
public readonly struct ResponseBodyInfo(long contentLength, bool http10Client)
{
    /// <summary>The upstream's Content-Length; -1 when the body is chunked or ends with the connection.</summary>
    public long ContentLength { get; } = contentLength;

    /// <summary>The client speaks HTTP/1.0: a transformed body is sent without chunked framing, ended by closing.</summary>
    public bool Http10Client { get; } = http10Client;
}

/// <summary>
/// One policy's state for the responses of one client connection, reused response after response. The forwarder
/// calls <see cref="Begin"/> once the head is in (only for a response with a body: never HEAD, 1xx, 204, 304), then,
/// if it returned true, <see cref="Write"/> per piece of body (de-chunked), <see cref="Flush"/> when the upstream
/// paused, <see cref="Complete"/> when the body ended whole, and <see cref="End"/> exactly once whatever happened.
/// Bytes a transforming stage writes to the output go to the client (the next stage first); an observing stage
/// writes nothing.
/// </summary>
public abstract class ResponseStage : IDisposable
{
    /// <summary>
    /// Takes this response (true) or leaves it alone. Runs after <see cref="IResponsePolicy.OnResponse"/>; an observing
    /// stage runs after every transforming one, so the head edits it sees on <paramref name="context"/> are final.
    /// A transforming stage that takes the response records its head edits on <paramref name="context"/>
    /// (Content-Encoding, Vary, ETag); the forwarder itself drops Content-Length and Transfer-Encoding and sends the
    /// body chunked (HTTP/1.1; DATA frames on HTTP/2), or ended by closing to an HTTP/1.0 client.
    /// </summary>
    public abstract bool Begin(PolicyContext context, ResponseView response, in ResponseBodyInfo info);

    /// <summary>A piece of the body, in order (as the previous transforming stage left it).</summary>
    public abstract void Write(ReadOnlySpan<byte> data, IBufferWriter<byte> output);

    /// <summary>The upstream paused: whatever this stage holds must be written now, for the client to get it at once.</summary>
    public abstract void Flush(IBufferWriter<byte> output);

    /// <summary>The body ended whole: write what is left (a compressor's last block).</summary>
    public abstract void Complete(IBufferWriter<byte> output);

    /// <summary>The response is over: after <see cref="Complete"/>, or cut short (<paramref name="completed"/> false). Forget it; keep what can be reused.</summary>
    public abstract void End(bool completed);

    /// <summary>The connection (or a reload) lets go of the stage: free native resources.</summary>
    public virtual void Dispose()
    {
    }
}
