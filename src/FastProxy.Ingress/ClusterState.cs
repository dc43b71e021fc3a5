using FastProxy.Ingress.Model;

namespace FastProxy.Ingress;

/// <summary>
/// What the controller knows of the cluster at one moment: the objects it watches, by "namespace/name" (IngressClass by
/// name). The watch loop keeps one up to date and hands the translator a copy; tests build one from YAML fixtures.
/// </summary>
public sealed class ClusterState
{
    public Dictionary<string, IngressClass> IngressClasses { get; } = new(StringComparer.Ordinal);
    public Dictionary<string, Model.Ingress> Ingresses { get; } = new(StringComparer.Ordinal);
    public Dictionary<string, Service> Services { get; } = new(StringComparer.Ordinal);
    public Dictionary<string, EndpointSlice> EndpointSlices { get; } = new(StringComparer.Ordinal);
    public Dictionary<string, Secret> Secrets { get; } = new(StringComparer.Ordinal);

    public static ClusterState From(IEnumerable<KubeObject> objects)
    {
        var state = new ClusterState();
        foreach (var obj in objects) state.Put(obj);
        return state;
    }

    /// <summary>Adds or replaces an object (ADDED, MODIFIED).</summary>
    public void Put(KubeObject obj)
    {
        var key = obj.Metadata.Key;
        switch (obj)
        {
            case IngressClass c: IngressClasses[key] = c; break;
            case Model.Ingress i: Ingresses[key] = i; break;
            case Service s: Services[key] = s; break;
            case EndpointSlice e: EndpointSlices[key] = e; break;
            case Secret s: Secrets[key] = s; break;
        }
    }

    /// <summary>Removes an object (DELETED).</summary>
    public void Remove(KubeObject obj)
    {
        var key = obj.Metadata.Key;
        switch (obj)
        {
            case IngressClass: IngressClasses.Remove(key); break;
            case Model.Ingress: Ingresses.Remove(key); break;
            case Service: Services.Remove(key); break;
            case EndpointSlice: EndpointSlices.Remove(key); break;
            case Secret: Secrets.Remove(key); break;
        }
    }

    /// <summary>A copy whose dictionaries the caller may read while this one changes (the objects are shared, never mutated).</summary>
    public ClusterState Snapshot()
    {
        var copy = new ClusterState();
        foreach (var (k, v) in IngressClasses) copy.IngressClasses[k] = v;
        foreach (var (k, v) in Ingresses) copy.Ingresses[k] = v;
        foreach (var (k, v) in Services) copy.Services[k] = v;
        foreach (var (k, v) in EndpointSlices) copy.EndpointSlices[k] = v;
        foreach (var (k, v) in Secrets) copy.Secrets[k] = v;
        return copy;
    }
}
