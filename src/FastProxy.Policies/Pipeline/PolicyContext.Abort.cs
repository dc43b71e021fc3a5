namespace FastProxy.Policies.Pipeline;

/// <summary>
/// The request's end from the client's side: a policy that waits on other servers (aggregate) ends its calls when
/// the client goes away (an HTTP/2 stream reset, the connection cut at the end of a stop). The token's source is made
/// only when a policy asks for it, so requests whose policies never wait pay nothing.
/// </summary>
public sealed partial class PolicyContext
{
    private CancellationTokenSource? _abort;
    private volatile bool _aborted;

    /// <summary>Cancelled when the forwarder learns the client is gone (see <see cref="AbortRequest"/>).</summary>
    public CancellationToken RequestAborted
    {
        get
        {
            var source = Volatile.Read(ref _abort);
            if (source is null)
            {
                var made = new CancellationTokenSource();
                source = Interlocked.CompareExchange(ref _abort, made, null) ?? made;
                if (source != made) made.Dispose();
            }
            // An abort that came before the source existed (or raced with its making) is not lost.
            if (_aborted) source.Cancel();
            return source.Token;
        }
    }

    /// <summary>The forwarder's call when the request is cut (any thread).</summary>
    public void AbortRequest()
    {
        _aborted = true;
        try
        {
            Volatile.Read(ref _abort)?.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The request ended meanwhile.
        }
    }

    private void ResetAbort()
    {
        _aborted = false;
        if (_abort is null) return;
        Interlocked.Exchange(ref _abort, null)?.Dispose();
    }
}
