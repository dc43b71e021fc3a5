using System.IO.Pipelines;
using FastProxy.Http1;
using FastProxy.Policies.Pipeline;

namespace FastProxy.Forwarding;

/// <summary>
/// error_pages on the request path: which policy shapes this request's error answers (the listener's once the head is
/// parsed, then its route's chain's), in which format (the client's Accept, read while the head is at hand), and the
/// answers written with its pages: the proxy's own (FailAsync, RejectAsync, 404), policies' (AnswerPolicyAsync), and
/// with only_proxy_errors = false an upstream's (ExchangeAsync). A request with no error_pages pays one null check.
/// </summary>
internal sealed partial class Http1Connection
{
    /// <summary>The error_pages policy of the request in progress; null: answers keep their own bodies.</summary>
    private IErrorPages? _errorPages;
    /// <summary>The format <see cref="_errorPages"/> chose for this request's client.</summary>
    private int _errorFormat;

    /// <summary>Called with the listener's, then the route chain's error pages; the format is chosen once per policy.</summary>
    private void SelectErrorPages(IErrorPages? pages)
    {
        if (ReferenceEquals(pages, _errorPages)) return;
        _errorPages = pages;
        if (pages is not null) _errorFormat = pages.ChooseFormat(_request, RequestHeadBytes);
    }

    /// <summary>The page <paramref name="status"/> gets for this request; null: none (no policy, or the status is not listed).</summary>
    private ErrorPage? FindErrorPage(int status) => _errorPages?.Find(status, _errorFormat);

    /// <summary>
    /// A 404 for a request no route matched, with the listener's page (FailAsync consumes the request like RespondAsync).
    /// The request is not consumed yet, whatever the previous request on this pooled state left in the flag.
    /// </summary>
    private ValueTask<bool> FailUnroutedAsync()
    {
        _requestConsumed = false;
        return FailAsync(404);
    }

    /// <summary>
    /// An upstream's error answer gets the page (only_proxy_errors = false): its status and fields go on, its body does
    /// not. A body that came whole with the head (Content-Length, or chunked and complete) is skipped and the upstream
    /// connection kept; one still arriving (a large or streaming body, or one delimited by the close) is never waited
    /// for: returns true, and the caller closes the upstream connection instead of reading it.
    /// </summary>
    private bool ReplaceUpstreamBody(ErrorPage page, PipeReader input, BodyKind bodyKind, ConnectionHeader connection)
    {
        long skip = -1;
        long inBuffer = _responseBuffer.Length - _response.HeadLength;
        if (bodyKind == BodyKind.None) skip = 0;
        else if (bodyKind == BodyKind.ContentLength && inBuffer >= _response.ContentLength) skip = _response.ContentLength;
        else if (bodyKind == BodyKind.Chunked) skip = WholeChunkedBody(inBuffer);
        // The response side of the chain already ran (ForwardAsync's PreparePolicyResponse, before the body is chosen).
        int written = ErrorPageWriter.WriteUpstream(_output, _response, ResponseHeadBytes, page, ResponsePolicies, connection,
            _request.Method == HttpMethod.Head, _trace, ListenerLines);
        if (_recording) _record!.BytesOut = written;
        input.AdvanceTo(_responseBuffer.GetPosition(_response.HeadLength + Math.Max(skip, 0)));
        ReleaseResponseScratch();
        return skip < 0;
    }

    /// <summary>The length of the chunked body after the head when all of it (trailers included) is already in the buffer; else -1.</summary>
    private long WholeChunkedBody(long inBuffer)
    {
        var decoder = new ChunkedDecoder(maxBody: 0, ResponseLimits.MaxHeaderBytes, ResponseLimits.MaxHeaders);
        var validate = default(ValidateChunks);
        return decoder.Decode(_responseBuffer.Slice(_response.HeadLength, inBuffer), ref validate, out long consumed) == ChunkedStep.Done ? consumed : -1;
    }
}
