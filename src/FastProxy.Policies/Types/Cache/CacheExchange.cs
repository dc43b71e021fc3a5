namespace FastProxy.Policies.Types.Cache;

/// <summary>
/// The cache's view of the request in progress, kept between its request side and its response side: which policy
/// and store, the key, whether the response is to be stored (and the fill it leads), or an unsafe method's URL to
/// invalidate. One per PolicyContext, reused; <see cref="Reset"/> runs when the context begins a request.
/// </summary>
internal sealed class CacheExchange
{
    public CachePolicy? Policy;
    /// <summary>A GET miss: the response is stored if it may be.</summary>
    public bool Capture;
    /// <summary>The head said store it: the body is wanted.</summary>
    public bool CaptureBody;
    /// <summary>An unsafe method: a success invalidates its URL.</summary>
    public bool Invalidate;
    public string? Consumer;
    public bool Authorized;
    public int EncodingFlags;
    public int Hash;
    /// <summary>The fill this request leads (others wait for its response); ended whatever happens.</summary>
    public CacheStore.Fill? Fill;
    public CacheStore? Store;

    public void EndFill()
    {
        if (Fill is { } fill)
        {
            Fill = null;
            Store!.EndFill(fill);
        }
    }

    public void Reset()
    {
        // A fill whose response never came back to the policy (the upstream failed): the waiters go on.
        EndFill();
        Policy = null;
        Store = null;
        Capture = CaptureBody = Invalidate = false;
        Consumer = null;
    }
}
