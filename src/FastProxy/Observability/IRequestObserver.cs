namespace FastProxy.Observability;

/// <summary>
/// A sink of finished requests (metrics, access log, tracing). <see cref="OnRequestComplete"/> runs on the request's
/// own thread, once per request, for HTTP/1.1 and HTTP/2 alike: it must not block, lock or allocate, and must copy
/// whatever it keeps (the record is reused for the connection's next request as soon as it returns).
/// </summary>
internal interface IRequestObserver
{
    /// <summary>
    /// True when this observer reads the request's text (host, path, query, user agent, request id): the record then
    /// copies them out of the receive buffer as the head is parsed. Metrics need none of it.
    /// </summary>
    bool WantsText { get; }

    void OnRequestComplete(RequestRecord record);
}
