using System.Runtime.CompilerServices;
using FastProxy.Async;

namespace FastProxy.Tcp;

internal sealed partial class TcpConnection
{
    private readonly ClientHelloReader _hello = new();

    /// <summary>
    /// Reads until the client's first TLS handshake message is complete (or is not one), within header_timeout,
    /// without consuming anything: every byte read stays in the pipe and is forwarded as it came, ClientHello
    /// included. TLS is not terminated; only the record and handshake framing and the extensions are looked at.
    /// </summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    private async ValueTask<HelloError> ReadClientHelloAsync()
    {
        var input = _client!.Input;
        _phase = Phase.Hello;
        Arm(_runtime.HeaderTimeoutMs);
        HelloError error;
        try
        {
            while (true)
            {
                var result = await input.ReadAsync();
                var buffer = result.Buffer;
                var status = _hello.Advance(buffer);
                if (status != HelloStatus.NeedMore)
                {
                    // Nothing consumed or examined: the relay's first read gets these bytes at once.
                    input.AdvanceTo(buffer.Start);
                    error = _hello.Error;
                    break;
                }
                // Consumed: nothing. Examined: everything, so the next read waits for more bytes.
                input.AdvanceTo(buffer.Start, buffer.End);
                if (result.IsCanceled || result.IsCompleted)
                {
                    // Cancelled: the deadline fired (checked below). Completed: the client gave up first.
                    error = HelloError.Closed;
                    break;
                }
            }
        }
        catch (Exception)
        {
            // Reset by the client.
            error = HelloError.Closed;
        }
        if (!Disarm()) error = HelloError.TimedOut;
        return error;
    }
}
