using System.Runtime.CompilerServices;
using FastProxy.Async;
using FastProxy.Hosting;
using FastProxy.Http1;
using FastProxy.Policies.Pipeline;

namespace FastProxy.Forwarding;

/// <summary>
/// The request-body hook of the gateway (<see cref="IRequestBodyPolicy"/>): on a route whose chain holds a body policy
/// (validate's json_schema, a JSON body transform), the body is read whole into <see cref="BufferedRequestBody"/>
/// (request_buffering's machinery) before anything goes upstream, the body policies see it, and it is then forwarded
/// with a Content-Length: the client's bytes as they came, or a policy's replacement. Other routes never come here.
/// </summary>
internal sealed partial class Http1Connection
{
    /// <summary>The answer a body policy gave (or its 413), for the main loop to send; null: forward.</summary>
    private PolicyAnswer? _bodyAnswer;

    /// <summary>
    /// Reads the body whole (up to the chain's cap, and the listener's max_body) and runs the chain's body policies.
    /// <see cref="Intake.Ready"/>: go on, with <see cref="_bodyAnswer"/> to send when a policy answered (the body
    /// passing the cap is such an answer: 413, the connection then closes since the rest of the body is unread).
    /// </summary>
    [AsyncMethodBuilder(typeof(PooledValueTaskMethodBuilder<>))]
    private async ValueTask<Intake> RunBodyPoliciesAsync(PolicyChain chain, ListenerRuntime runtime)
    {
        _bodyAnswer = null;
        var context = _policyContext!;
        long cap = chain.MaxBody;
        if (runtime.MaxBody > 0 && (cap == 0 || runtime.MaxBody < cap)) cap = runtime.MaxBody;
        if (_request.HasBody)
        {
            if (!_request.IsChunked && cap > 0 && _request.ContentLength > cap)
            {
                // Refused before a byte of the body is read (and before a 100 Continue invites it).
                return TooLarge(chain, context);
            }
            var intake = await BufferBodyAsync(runtime, cap);
            if (intake == Intake.Reject && _rejectStatus == 413) return TooLarge(chain, context);
            if (intake != Intake.Ready) return intake;
            // The head now lives in the scratch copy (BufferBodyAsync kept it); the receive buffer is gone.
            context.MoveHead(RequestHeadMemory);
        }
        var body = _bufferedBody ??= new BufferedRequestBody();
        _bodyAnswer = chain.RunBody(context, body.AsSequence());
        if (_bodyAnswer is null && context.BodyReplaced)
        {
            body.Release();
            body.Append(context.ReplacedBody.Span);
        }
        // Forwarded with a Content-Length from the buffered body (an empty one included: the length is then 0).
        if (_request.HasBody)
        {
            _bodyBuffered = true;
        }
        else if (context.BodyReplaced && _bodyAnswer is null)
        {
            // A body where the client sent none: the head leaves the pipe as a buffered body's does.
            TakeHeadOut(context);
            _bodyBuffered = true;
        }
        return Intake.Ready;
    }

    /// <summary>The body passed the cap: the policy's own 413 when it has one (sent, then the connection closes), else the plain 413.</summary>
    private Intake TooLarge(PolicyChain chain, PolicyContext context)
    {
        if (chain.TooLarge(context) is not { } answer) return Reject(413, HeadError.None);
        // What was read of the body is dropped; the rest is never read (the connection closes after the answer).
        KeepHead();
        context.MoveHead(RequestHeadMemory);
        if (!_requestBuffer.IsEmpty) _input.AdvanceTo(_requestBuffer.End);
        _requestBuffer = default;
        _bodyComplete = false;
        _bodyAnswer = answer;
        return Intake.Ready;
    }

    /// <summary>Consumes the head from the receive pipe, keeping it in the scratch copy the policy view then reads.</summary>
    private void TakeHeadOut(PolicyContext context)
    {
        KeepHead();
        context.MoveHead(RequestHeadMemory);
        _input.AdvanceTo(_requestBuffer.GetPosition(_request.HeadLength));
        _requestBuffer = default;
    }
}
