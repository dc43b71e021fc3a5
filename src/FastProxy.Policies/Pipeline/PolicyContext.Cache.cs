namespace FastProxy.Policies.Pipeline;

public sealed partial class PolicyContext
{
    /// <summary>
    /// What the cache policy keeps about the request in progress between its request and response sides (the key, the
    /// fill it leads); made the first time a cache runs on this context, then reused (reset by <see cref="Begin"/>).
    /// </summary>
    internal Types.Cache.CacheExchange? CacheExchange { get; set; }

    /// <summary>
    /// The forwarder's call when a request is over, however it ended (answered, forwarded, failed, cut off): a cache
    /// fill this request led and that nothing ended yet (its response was taken by json_body, error_pages, gRPC-Web,
    /// or never came) ends now, so the requests waiting for the same URL go on at once instead of after lock_timeout.
    /// </summary>
    public void EndRequest() => CacheExchange?.EndFill();
}
