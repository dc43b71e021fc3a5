using FastProxy.Async;
using System.Runtime.CompilerServices;
using FastProxy.Upstreams;

namespace FastProxy.Forwarding;

internal sealed partial class Http1Connection
{
    /// <summary>
    /// After 101 Switching Protocols (RFC 9110 §15.2.2) the connection is no longer HTTP: bytes are relayed both
    /// ways until each side has finished, each direction closing on its own (half-close).
    /// </summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    private async ValueTask<Exchange> TunnelAsync(UpstreamConnection connection)
    {
        _tunnelled = true;
        if (!_requestConsumed) ConsumeRequest();
        Forwarding.ResponseHeadWriter.Write(_output, _response, ResponseHeadBytes, ConnectionHeader.None, false, upgrade: true);
        connection.Input.AdvanceTo(_responseBuffer.GetPosition(_response.HeadLength));
        ReleaseResponseScratch();
        var flush = await _output.FlushAsync();
        if (flush.IsCompleted)
        {
            connection.Dispose();
            return Exchange.Close;
        }

        var up = CopyRawAsync(_input, connection.Output);
        var down = CopyRawAsync(connection.Input, _output);
        await up;
        await down;
        connection.Dispose();
        return Exchange.Close;
    }
}
