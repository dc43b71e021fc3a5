using System.Runtime.CompilerServices;
using FastProxy.Async;
using FastProxy.Hosting;
using FastProxy.Http1;

namespace FastProxy.Forwarding;

/// <summary>The answers the proxy gives itself on a client connection: respond routes, 404, and failed exchanges (502, 503, 504).</summary>
internal sealed partial class Http1Connection
{
    /// <summary>Connection handling of a response written to this client: HTTP/1.0 keep-alive must be said out loud.</summary>
    private ConnectionHeader ClientConnectionHeader(bool keepAlive)
    {
        if (!keepAlive) return ConnectionHeader.Close;
        return _request.Version == HttpVersion.Http10 ? ConnectionHeader.KeepAlive : ConnectionHeader.None;
    }

    /// <summary>
    /// The listener's own response fields for the request in progress ([listeners.hsts]: "Strict-Transport-Security:
    /// ...\r\n"), set when its head starts; null on listeners without (every writer then copies nothing).
    /// </summary>
    private byte[]? _listenerLines;

    /// <summary>See <see cref="_listenerLines"/>: what every head writer gets as its listener lines.</summary>
    private ReadOnlySpan<byte> ListenerLines => _listenerLines;

    /// <summary>Sends a canned response (a respond route, a 404) and consumes the request; the request body, if any, is skipped.</summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    private async ValueTask<bool> RespondAsync(CannedResponse response, ListenerRuntime runtime)
    {
        // A body that was read whole can be skipped and the connection kept; a streaming one cannot.
        bool keepAlive = _request.KeepAlive && _bodyComplete && !_services.Draining;
        // (A body read whole for a body policy left the pipe already: no receive buffer.)
        if (!_requestBuffer.IsEmpty) _input.AdvanceTo(_requestBuffer.GetPosition(_request.HeadLength + (_bodyComplete ? _bodyAvailable : 0)));
        _requestBuffer = default;
        response.WriteTo(_output, ClientConnectionHeader(keepAlive), _request.Method == HttpMethod.Head, _trace, ListenerLines);
        if (_recording)
        {
            _record!.Status = response.Status;
            _record.BytesOut = response.Length(ClientConnectionHeader(keepAlive), _request.Method == HttpMethod.Head) + ListenerLines.Length;
        }
        var flush = await _output.FlushAsync();
        return keepAlive && !flush.IsCompleted;
    }

    /// <summary>
    /// The exchange failed before a response reached the client: answer with the proxy's own status. The client
    /// connection survives only when its request was fully read (nothing of it is left in the pipe to misparse).
    /// </summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    private async ValueTask<Exchange> FailExchangeAsync(int status)
    {
        bool keepAlive = await FailAsync(status);
        return keepAlive ? Exchange.KeepAlive : Exchange.Close;
    }

    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    private async ValueTask<bool> FailAsync(int status)
    {
        bool whole = _bodyComplete;
        if (!_requestConsumed)
        {
            ConsumeRequest();
        }
        bool keepAlive = whole && _request.KeepAlive && !_services.Draining;
        bool headRequest = _request.Method == HttpMethod.Head;
        long written;
        if (FindErrorPage(status) is { } page)
        {
            // error_pages: the same status, the policy's page for a body (.ErrorPages).
            written = ErrorPageWriter.WriteOwn(_output, status, page, ClientConnectionHeader(keepAlive), headRequest, _trace, ListenerLines);
        }
        else
        {
            var answer = ProxyResponses.For(status);
            answer.WriteTo(_output, ClientConnectionHeader(keepAlive), headRequest, _trace, ListenerLines);
            written = answer.Length(ClientConnectionHeader(keepAlive), headRequest) + ListenerLines.Length;
        }
        if (_recording)
        {
            RecordOwnAnswer(status, DefaultReason(status));
            _record!.BytesOut = written;
        }
        var flush = await _output.FlushAsync();
        return keepAlive && !flush.IsCompleted;
    }
}
