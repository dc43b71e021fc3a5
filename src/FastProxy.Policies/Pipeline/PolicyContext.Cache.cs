namespace FastProxy.Policies.Pipeline;

public sealed partial class PolicyContext
{
    /// <summary>
    /// What the cache policy keeps about the request in progress between its request and response sides (the key, the
    /// fill it leads); made the first time a cache runs on this context, then reused (reset by <see cref="Begin"/>).
    /// </summary>
    internal Types.Cache.CacheExchange? CacheExchange { get; set; }
}
