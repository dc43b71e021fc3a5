using FastProxy.Hosting;
using FastProxy.Http1;
using FastProxy.Observability;
using FastProxy.Policies.Pipeline;

namespace FastProxy.Forwarding;

/// <summary>
/// The request record (Observability/RequestRecord): opened at a request's first byte when some observer is
/// registered (metrics, access log, tracing), filled along the path, and completed exactly once per request, however
/// it ends. With no observer, each step is one bool test (<see cref="_recording"/>) and nothing else.
/// </summary>
internal sealed partial class Http1Connection
{
    /// <summary>Made the first time this pooled instance records a request, then reused for every request it serves.</summary>
    private RequestRecord? _record;

    /// <summary>A request is being recorded on <see cref="_record"/> (opened, not yet completed).</summary>
    private bool _recording;

    /// <summary>The listener's metrics when the connection opened (null while metrics are off), and what it counts as.</summary>
    private Observability.Metrics.ListenerSeries? _connectionMetrics;
    private Observability.Metrics.ConnectionProtocol _connectionProtocol;
    private bool _connectionTls;

    /// <summary>The request's first byte arrived: a record starts if anyone observes requests.</summary>
    private void OpenRecord(ListenerRuntime runtime)
    {
        if (!_services.Observability.Enabled) return;
        var record = _record ??= new RequestRecord();
        record.Begin(runtime, _streamMode ? RequestProtocol.H2 : RequestProtocol.Http1, runtime.Tls is not null);
        _recording = true;
    }

    /// <summary>The head is parsed and routed: what the record keeps of it (its text only when an observer reads it).</summary>
    private void RecordHead(Routing.Route? route)
    {
        var record = _record!;
        bool text = _services.Observability.WantsText;
        record.CaptureHead(_request, RequestHeadBytes, text);
        record.Route = route;
        record.Upstream = route?.Upstream;
        if (!text) return;
        if (_resolvedAddressLength > 0)
        {
            record.Client = _resolvedClient;
            record.SetClientText(_resolvedAddress.AsSpan(0, _resolvedAddressLength));
        }
        else
        {
            record.Client = Peer;
            record.SetClientText(ClientAddress);
        }
        record.HasClient = true;
    }

    /// <summary>A status the proxy answers itself, with why (unless a more precise reason was recorded already).</summary>
    private void RecordOwnAnswer(int status, RequestFlags why)
    {
        if (!_recording) return;
        var record = _record!;
        record.Status = status;
        if ((record.Flags & FailureFlags) == 0) record.Flags |= why;
    }

    /// <summary>The flags that say why a request failed: the first one recorded wins over the status's default.</summary>
    private const RequestFlags FailureFlags = RequestFlags.NoRoute | RequestFlags.UpstreamTimeout | RequestFlags.UpstreamReset
        | RequestFlags.UpstreamConnectFailed | RequestFlags.NoServer | RequestFlags.CircuitOpen | RequestFlags.Malformed
        | RequestFlags.BodyTooLarge | RequestFlags.ClientTimeout | RequestFlags.PolicyAnswer;

    /// <summary>Why the proxy itself answers with <paramref name="status"/>, when nothing more precise is known.</summary>
    private static RequestFlags DefaultReason(int status) => status switch
    {
        400 => RequestFlags.Malformed,
        408 => RequestFlags.ClientTimeout,
        413 => RequestFlags.BodyTooLarge,
        431 or 414 or 501 or 505 => RequestFlags.Malformed,
        502 => RequestFlags.UpstreamReset,
        503 => RequestFlags.NoServer,
        504 => RequestFlags.UpstreamTimeout,
        _ => RequestFlags.None,
    };

    private void RecordFlag(RequestFlags flag)
    {
        if (_recording) _record!.Flags |= flag;
    }

    private void RecordPolicyAnswer(PolicyAnswer answer)
    {
        if (!_recording) return;
        var record = _record!;
        record.Status = answer.Status;
        record.AnsweredBy = answer.Counter;
        record.Flags |= RequestFlags.PolicyAnswer | answer.Status switch
        {
            401 or 403 => RequestFlags.AuthRefused,
            429 => RequestFlags.RateLimited,
            _ => RequestFlags.None,
        };
    }

    /// <summary>The one completion call of the request (a no-op when it is not being recorded, or was completed already).</summary>
    private void CompleteRecord()
    {
        if (!_recording) return;
        _recording = false;
        var record = _record!;
        if (_request is { } request && request.HeadLength > 0)
        {
            long body = request.ContentLength > 0 ? request.ContentLength : _bodyAvailable;
            record.BytesIn = request.HeadLength + body;
        }
        if (_chain is not null && _policyContext is { } context)
        {
            record.Consumer = context.Consumer;
        }
        // The id the upstream and the client got (the policy chain was handed the same one).
        if (_trace.Active)
        {
            record.Trace = _trace;
            if (record.HasText)
            {
                Span<byte> id = stackalloc byte[RequestIds.MaxLength];
                record.SetRequestId(id[.._trace.WriteRequestId(id)]);
            }
        }
        _services.Observability.Complete(record);
        record.Clear();
    }
}
