namespace FastProxy.Configuration;

/// <summary>
/// [policies.NAME] type = "aggregate": the request is answered by the proxy with one JSON object merged from several
/// upstream requests made in parallel, a member per part in config order whatever order they finish in.
/// </summary>
public sealed class AggregateOptions : PolicyOptions
{
    /// <summary>The whole answer's deadline (KrakenD's default too): parts still running then count as failed.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(2);

    /// <summary>1 MiB: a part's body beyond it is a failed part, so one aggregate holds at most this times the parts.</summary>
    public const long DefaultMaxPartBody = 1024 * 1024;

    public required IReadOnlyList<AggregatePart> Parts { get; init; }
    public TimeSpan Timeout { get; init; } = DefaultTimeout;
    public AggregatePartial Partial { get; init; } = AggregatePartial.Omit;
    public long MaxPartBody { get; init; } = DefaultMaxPartBody;
}

/// <summary>What happens to the answer when a part fails (error, non-2xx, not JSON, too large, too slow).</summary>
public enum AggregatePartial : byte
{
    /// <summary>The part's member is left out and the answer says <c>x-aggregate-partial: true</c>.</summary>
    Omit = 0,
    /// <summary>The client gets 502 naming the part.</summary>
    Fail,
}

/// <summary>One upstream request of an aggregate, and the member its JSON body becomes.</summary>
public sealed class AggregatePart
{
    /// <summary>The member name in the answer; unique in the policy.</summary>
    public required string Name { get; init; }
    /// <summary>The [upstreams.NAME] the request goes to (its pool, balancer, health and timeouts).</summary>
    public required string Upstream { get; init; }
    /// <summary>Where <c>upstream</c> was written (policies.NAME.parts[i].upstream), for the reference check's error.</summary>
    public required string UpstreamKeyPath { get; init; }
    /// <summary>The request target, a path (and query) template; substituted values are percent-encoded.</summary>
    public required PathTemplate Path { get; init; }
    public string Method { get; init; } = "GET";
    /// <summary>Client request headers copied to the part's request, lower-case (x-request-id and traceparent always go).</summary>
    public IReadOnlyList<string> Headers { get; init; } = [];
    /// <summary>This part's own deadline; null: the policy's <see cref="AggregateOptions.Timeout"/>.</summary>
    public TimeSpan? Timeout { get; init; }
}

/// <summary>What a path template's variable stands for (the header templates' variables, plus the request's path and query).</summary>
public enum PathVariable : byte
{
    Literal = 0,
    ClientIp,
    Consumer,
    RequestId,
    /// <summary>{claim.NAME}</summary>
    Claim,
    /// <summary>{header.NAME}</summary>
    Header,
    /// <summary>{query.NAME}: the first query parameter of that name, percent-decoded before it is encoded again.</summary>
    Query,
    /// <summary>{path}: the client's path (normalised), '/' kept as segment separators, each segment encoded.</summary>
    Path,
}

public readonly record struct PathTemplatePart(PathVariable Variable, string Text);

/// <summary>A request target as written in the config, split into literal text and variables at load.</summary>
public sealed class PathTemplate(string source, IReadOnlyList<PathTemplatePart> parts)
{
    public string Source { get; } = source;
    public IReadOnlyList<PathTemplatePart> Parts { get; } = parts;
}
