namespace FastProxy.Configuration;

/// <summary>The whole of a validated proxy.toml. Immutable once loaded; a reload builds a new one.</summary>
public sealed class ProxyConfig
{
    /// <summary>The file this was loaded from, as given on the command line.</summary>
    public required string SourcePath { get; init; }
    /// <summary>The directory relative file names in the config were resolved against (the config file's directory).</summary>
    public string BaseDirectory { get; init; } = "";
    public GlobalConfig Global { get; init; } = new();
    /// <summary>Absent section: no admin listener.</summary>
    public AdminConfig? Admin { get; init; }
    /// <summary>The [limits] defaults; each listener carries its effective (merged) copy in <see cref="ListenerConfig.Limits"/>.</summary>
    public LimitsConfig Limits { get; init; } = new();
    public IReadOnlyList<ListenerConfig> Listeners { get; init; } = [];
    /// <summary>In file order: the first route that matches wins.</summary>
    public IReadOnlyList<RouteConfig> Routes { get; init; } = [];
    /// <summary>In file order.</summary>
    public IReadOnlyList<UpstreamConfig> Upstreams { get; init; } = [];
    public IReadOnlyList<PolicyConfig> Policies { get; init; } = [];
    /// <summary>[client_ip]: who the client is when requests come through trusted proxies. Default: the peer is the client.</summary>
    public ClientIpConfig ClientIp { get; init; } = new();
    /// <summary>[consumers.NAME], in file order: the identities authentication policies resolve to.</summary>
    public IReadOnlyList<ConsumerConfig> Consumers { get; init; } = [];
    /// <summary>[metrics]: what /metrics exports beyond the defaults.</summary>
    public MetricsConfig Metrics { get; init; } = new();
    /// <summary>[access_log]; absent section: off (<see cref="AccessLogConfig.Enabled"/> false).</summary>
    public AccessLogConfig AccessLog { get; init; } = new();
    /// <summary>[tracing]: span export over OTLP/HTTP and sampling. Default: nothing exported (trace context still propagated).</summary>
    public TracingConfig Tracing { get; init; } = new();
    /// <summary>The file's TOML table as parsed (before defaults), for /config's sections the model does not describe; null when built in code.</summary>
    internal Tomlyn.Model.TomlTable? Document { get; init; }
    /// <summary>[redis]: the server shared rate-limit state lives in; null: none configured.</summary>
    public RedisConfig? Redis { get; init; }
    /// <summary>[dns]: the name servers upstream host names are resolved with; null: the system resolver.</summary>
    public DnsConfig? Dns { get; init; }
    /// <summary>Things that are valid but worth telling the operator (e.g. a section that is accepted but not implemented yet).</summary>
    public IReadOnlyList<ConfigDiagnostic> Warnings { get; init; } = [];

    public UpstreamConfig? FindUpstream(string name)
    {
        foreach (var u in Upstreams)
        {
            if (string.Equals(u.Name, name, StringComparison.Ordinal)) return u;
        }
        return null;
    }
}

/// <summary>Where a key stands in the source file (1-based line and column). Default: unknown.</summary>
public readonly record struct SourceLocation(string File, int Line, int Column)
{
    public override string ToString() => Line > 0 ? $"{File}:{Line}:{Column}" : File;
}

/// <summary>One problem or warning: <c>file:line:col: key: message</c>.</summary>
public sealed record ConfigDiagnostic(SourceLocation Location, string Key, string Message)
{
    public override string ToString() => Key.Length == 0 ? $"{Location}: {Message}" : $"{Location}: {Key}: {Message}";
}

public sealed class GlobalConfig
{
    public TimeSpan ShutdownTimeout { get; init; } = TimeSpan.FromSeconds(30);
    public int MaxConnections { get; init; } = 100_000;
}

public sealed class TracingConfig
{
    /// <summary>The collector's OTLP/HTTP base URL (spans go to /v1/traces); null: no export.</summary>
    public Uri? OtlpEndpoint { get; init; }
    /// <summary>The share of traces the proxy starts that it samples (0 to 1); a client's sampled flag is followed as it is.</summary>
    public double Sample { get; init; } = 0.01;
    /// <summary>The resource's service.name.</summary>
    public string ServiceName { get; init; } = "fastproxy";
    /// <summary>Spans per export request at most.</summary>
    public int BatchSize { get; init; } = 512;
    /// <summary>How often the queue is sent when it does not fill a batch first.</summary>
    public TimeSpan ExportInterval { get; init; } = TimeSpan.FromSeconds(5);
    /// <summary>Spans waiting for export at most; beyond, new spans are dropped and counted.</summary>
    public int QueueSize { get; init; } = 2048;
}

public sealed class AdminConfig
{
    public required string Bind { get; init; }
    public required System.Net.IPEndPoint EndPoint { get; init; }
    /// <summary>
    /// token: the SHA-256 of the bearer token that state-changing admin requests (POST) must carry; null: none set
    /// (then only a loopback admin listener accepts them). Only the digest is kept, compared in constant time.
    /// </summary>
    public byte[]? TokenHash { get; init; }
    /// <summary>Where the token came from, for /config: "env:NAME", or null when it was written in the file (shown redacted).</summary>
    public string? TokenSource { get; init; }
}

public sealed class LimitsConfig
{
    public TimeSpan HeaderTimeout { get; init; } = TimeSpan.FromSeconds(10);
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromSeconds(60);
    public int MaxRequestLine { get; init; } = 8 * 1024;
    public int MaxHeaderBytes { get; init; } = 32 * 1024;
    public int MaxHeaders { get; init; } = 100;
    /// <summary>0 means unlimited.</summary>
    public long MaxBody { get; init; } = 10L * 1024 * 1024;
}

public enum ListenerProtocol { Http, Tcp }

public sealed class ListenerConfig
{
    public required string Name { get; init; }
    public required string Bind { get; init; }
    /// <summary>Parsed from <see cref="Bind"/>; port 0 asks the OS for a free port (tests use this).</summary>
    public required System.Net.IPEndPoint EndPoint { get; init; }
    public ListenerProtocol Protocol { get; init; } = ListenerProtocol.Http;
    /// <summary>tcp listeners only: the upstream every connection goes to (unless routed by SNI).</summary>
    public string? Upstream { get; init; }
    public IReadOnlyList<TlsCertificateConfig> Tls { get; init; } = [];
    /// <summary>[listeners.hsts] (TLS http listeners): Strict-Transport-Security on every final response. Null: none.</summary>
    public HstsConfig? Hsts { get; init; }
    /// <summary>
    /// reuse_port: true sets SO_REUSEPORT so several processes may share the port on purpose (the kernel spreads new
    /// connections across them). False (default): a port someone else holds is "address already in use".
    /// </summary>
    public bool ReusePort { get; init; }
    /// <summary>Policies run for every request on this listener, before the route's own (http listeners).</summary>
    public IReadOnlyList<string> Policies { get; init; } = [];
    /// <summary>proxy_protocol: a PROXY protocol v1/v2 header from a trusted proxy names the client.</summary>
    public bool ProxyProtocol { get; init; }
    /// <summary>Effective limits: [limits] overridden by [listeners.limits].</summary>
    public LimitsConfig Limits { get; init; } = new();
    public SourceLocation Location { get; init; }
}

public sealed class TlsCertificateConfig
{
    /// <summary>Absolute path of the PEM certificate (chain), resolved against the config file's directory.</summary>
    public required string Cert { get; init; }
    /// <summary>Absolute path of the PEM private key (unencrypted), resolved like <see cref="Cert"/>.</summary>
    public required string Key { get; init; }
    /// <summary>Null: the names in the certificate.</summary>
    public IReadOnlyList<string>? Sni { get; init; }
    /// <summary>Absolute path of the PEM CA bundle that client certificates must chain to; null: no client certificates asked.</summary>
    public string? ClientCa { get; init; }
    public SourceLocation Location { get; init; }
}

public sealed class RouteConfig
{
    /// <summary>Given, or "routes[i]" when absent.</summary>
    public required string Name { get; init; }
    /// <summary>Null: every http listener.</summary>
    public IReadOnlyList<string>? Listeners { get; init; }
    /// <summary>Exactly one of Upstream and Respond is set.</summary>
    public string? Upstream { get; init; }
    public RespondConfig? Respond { get; init; }
    public string? StripPrefix { get; init; }
    /// <summary>grpc_web = true: gRPC-Web requests (binary and text framings) are converted to gRPC for the upstream (h2c/h2 only).</summary>
    public bool GrpcWeb { get; init; }
    /// <summary>static = { root = "public", ... }: the route serves files from a directory (no upstream, no respond).</summary>
    public StaticConfig? Static { get; init; }
    public IReadOnlyList<string> Policies { get; init; } = [];
    public MatchConfig Match { get; init; } = new();
    public SourceLocation Location { get; init; }
}

public sealed class RespondConfig
{
    public int Status { get; init; } = 200;
    public string Body { get; init; } = "";
    /// <summary>In file order.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Headers { get; init; } = [];
}

public sealed class MatchConfig
{
    /// <summary>Exact ("api.example.com") or wildcard ("*.example.com"), lower-cased, compared without port.</summary>
    public string? Host { get; init; }
    /// <summary>A "*." <see cref="Host"/> matches one label only ("a.example.com", not "a.b.example.com"), as Kubernetes Ingress hosts do. Not a proxy.toml key: set by the ingress controller.</summary>
    public bool WildcardOneLabel { get; init; }
    /// <summary>At most one of Path and PathPrefix.</summary>
    public string? Path { get; init; }
    public string? PathPrefix { get; init; }
    /// <summary>path_regex: must match the path (normal form, without the query) too; compiled at load (Validation.PathRegex).</summary>
    public System.Text.RegularExpressions.Regex? PathRegex { get; init; }
    /// <summary>query = { name = "value" }: each parameter present with exactly that value (percent-decoded), in file order.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Query { get; init; } = [];
    /// <summary>Upper-case method names; null: any.</summary>
    public IReadOnlyList<string>? Methods { get; init; }
    /// <summary>Header name (lower-cased) and exact value, in file order.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Headers { get; init; } = [];
    /// <summary>tcp listeners only: TLS ClientHello server name, exact or "*.".</summary>
    public string? Sni { get; init; }
}

public enum BalanceKind { RoundRobin, LeastConn, IpHash, Weighted, ConsistentHash, PowerOfTwoChoices }

public enum UpstreamProtocol { Http1, H2c, H2 }

public sealed class UpstreamConfig
{
    public required string Name { get; init; }
    public BalanceKind Balance { get; init; } = BalanceKind.RoundRobin;
    /// <summary>consistent_hash's key (hash_key); ip by default.</summary>
    public HashKeyConfig HashKey { get; init; } = HashKeyConfig.Default;
    /// <summary>Cookie-based sticky sessions (sticky = { cookie = ... }); null: none.</summary>
    public StickyConfig? Sticky { get; init; }
    public IReadOnlyList<ServerConfig> Servers { get; init; } = [];
    public UpstreamProtocol Protocol { get; init; } = UpstreamProtocol.Http1;
    public bool Tls { get; init; }
    /// <summary>Absolute path of the PEM CA bundle for server certificates; null: the system store.</summary>
    public string? Ca { get; init; }
    public string? Sni { get; init; }
    public bool InsecureSkipVerify { get; init; }
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(2);
    public TimeSpan ResponseTimeout { get; init; } = TimeSpan.FromSeconds(30);
    /// <summary>The longest wait for the server between response body reads; null: <see cref="ResponseTimeout"/>.</summary>
    public TimeSpan? ReadTimeout { get; init; }
    /// <summary>Overall deadline of a request, from its forwarding to the end of the response, retries included; zero: none.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.Zero;
    /// <summary>
    /// The most idle keep-alive connections kept per server; null (the default): as many as the recent peak of requests
    /// in flight to the server, decaying slowly when the load falls, within a share of the file-descriptor limit.
    /// </summary>
    public int? MaxIdlePerServer { get; init; }
    /// <summary>
    /// A chunked request body is read whole (up to the listener's max_body) and sent with a Content-Length, for servers
    /// that cannot read chunked bodies (nginx's proxy_request_buffering on). False: streamed as it arrives.
    /// </summary>
    public bool RequestBuffering { get; init; }
    public HealthCheckConfig? Health { get; init; }
    public PassiveHealthConfig? Passive { get; init; }
    public RetryConfig? Retry { get; init; }
    public UpstreamLimitsConfig? Limits { get; init; }
    /// <summary>How often the host names of servers are resolved again (each address a server); zero: only at load and reload.</summary>
    public TimeSpan ResolveInterval { get; init; } = TimeSpan.FromSeconds(30);
    /// <summary>servers_file: the absolute path the servers were read from (watched and re-read at run time); null: servers written inline.</summary>
    public string? ServersFile { get; init; }
    public SourceLocation Location { get; init; }
}

public sealed class ServerConfig
{
    /// <summary>As written: "127.0.0.1:9001", "[::1]:9001" or "localhost:9001".</summary>
    public required string Address { get; init; }
    /// <summary>Resolved at load time (a host name: its first address of the preferred family).</summary>
    public required System.Net.IPEndPoint EndPoint { get; init; }
    /// <summary>The host part as written, for Host/SNI purposes (an IPv6 literal keeps its brackets: "[::1]").</summary>
    public required string Host { get; init; }
    public int Weight { get; init; } = 1;
    /// <summary>
    /// A host name: every address it resolved to at load, of the preferred family (IPv4 when it has any, else IPv6),
    /// each one a server at run time (re-resolved every resolve_interval). Empty for an IP literal.
    /// </summary>
    public IReadOnlyList<System.Net.IPAddress> Resolved { get; init; } = [];
    /// <summary>The host part is a name (re-resolved at run time), not an IP literal.</summary>
    public bool HostIsName => Resolved.Count > 0;
    /// <summary>The server entry as written, for a server expanded from a host name at run time; null: <see cref="Address"/> is as written.</summary>
    public string? Declared { get; init; }
}

/// <summary>[dns]: the name servers host names of servers are resolved with, at load and at run time.</summary>
public sealed class DnsConfig
{
    /// <summary>"ip:port" name servers, asked in order (each once per question).</summary>
    public IReadOnlyList<System.Net.IPEndPoint> Servers { get; init; } = [];
    /// <summary>How long one server gets to answer one question.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(2);
}

public enum HealthCheckType { Http, Tcp }

public sealed class HealthCheckConfig
{
    public HealthCheckType Type { get; init; } = HealthCheckType.Http;
    public string Path { get; init; } = "/";
    public string Method { get; init; } = "GET";
    public TimeSpan Interval { get; init; } = TimeSpan.FromSeconds(2);
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(1);
    public int Unhealthy { get; init; } = 3;
    public int Healthy { get; init; } = 2;
    public int ExpectMin { get; init; } = 200;
    public int ExpectMax { get; init; } = 399;
}

public sealed class PassiveHealthConfig
{
    public int ConsecutiveFailures { get; init; } = 5;
    public TimeSpan Eject { get; init; } = TimeSpan.FromSeconds(30);
    public int MaxEjectedPercent { get; init; } = 50;
}

public sealed class RetryConfig
{
    public int Attempts { get; init; } = 2;
    public int BudgetPercent { get; init; } = 20;
}

public sealed class UpstreamLimitsConfig
{
    public int MaxRequests { get; init; } = 10_000;
    public int MaxPending { get; init; } = 1_000;
}

public sealed class PolicyConfig
{
    public required string Name { get; init; }
    public required string Type { get; init; }
    /// <summary>The kind's validated keys; null only in a config that failed validation.</summary>
    public PolicyOptions? Options { get; init; }
    public SourceLocation Location { get; init; }
}
