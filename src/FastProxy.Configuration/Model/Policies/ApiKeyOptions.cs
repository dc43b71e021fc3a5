using FastProxy.Configuration.Reading;
using FastProxy.Configuration.Validation;

namespace FastProxy.Configuration;

/// <summary>[policies.NAME] type = "api_key": the caller presents a key, the key's SHA-256 names a consumer.</summary>
public sealed class ApiKeyOptions : PolicyOptions, IConsumerReferences
{
    /// <summary>The request field that carries the key; null: keys are not read from a header.</summary>
    public string? Header { get; init; } = "x-api-key";

    /// <summary>The query parameter that carries the key; null (the default): keys are not read from the query.</summary>
    public string? Query { get; init; }

    /// <summary>The key's header field is not forwarded (a query key never is, whatever this says).</summary>
    public bool Hide { get; init; } = true;

    /// <summary>The realm named in WWW-Authenticate.</summary>
    public string Realm { get; init; } = "api";

    void IConsumerReferences.Check(LoadContext context, string path, IReadOnlyList<ConsumerConfig> consumers)
    {
        foreach (var consumer in consumers)
        {
            if (consumer.ApiKeyHashes.Count > 0) return;
        }
        // Every request would be refused: surely not what was meant.
        context.Error(path, "no [consumers.NAME] has api_keys, so this policy would refuse every request (add api_keys = [\"sha256:HEX\"] to a consumer)");
    }
}
