using System.Net;

namespace FastProxy.Configuration;

/// <summary>
/// The validated keys of one policy kind. Each kind has a sealed subclass, read by its validator
/// (<c>Validation/Policies</c>) and turned into a running policy by the gateway (<c>FastProxy.Policies</c>).
/// </summary>
public abstract class PolicyOptions
{
}

/// <summary>An address range: a network address and a prefix length (IPv4 addresses are kept as IPv4).</summary>
public readonly record struct CidrBlock(IPAddress Network, int PrefixLength)
{
    public override string ToString() => $"{Network}/{PrefixLength}";
}

/// <summary>How the client's address is told when requests come through proxies ([client_ip]).</summary>
public enum ForwardedHeader : byte
{
    /// <summary>X-Forwarded-For: a comma-separated list, the nearest hop last.</summary>
    XForwardedFor = 0,
    /// <summary>RFC 7239 Forwarded: the for= parameters, the nearest hop last.</summary>
    Forwarded,
}

public sealed class ClientIpConfig
{
    /// <summary>Peers whose forwarding headers (and PROXY protocol headers) are believed. Empty: none.</summary>
    public IReadOnlyList<CidrBlock> TrustedProxies { get; init; } = [];
    public ForwardedHeader Header { get; init; } = ForwardedHeader.XForwardedFor;
}

/// <summary>[consumers.NAME]: someone who calls the API, identified by a credential.</summary>
public sealed class ConsumerConfig
{
    public required string Name { get; init; }
    /// <summary>SHA-256 digests of the consumer's API keys (from "sha256:HEX" or the hash of an "env:NAME" key).</summary>
    public IReadOnlyList<byte[]> ApiKeyHashes { get; init; } = [];
    public IReadOnlyList<string> Groups { get; init; } = [];
    /// <summary>The rate-limit tier; null: none.</summary>
    public string? Plan { get; init; }
    /// <summary>A JWT whose consumer claim equals this identifies the consumer; null: none.</summary>
    public string? JwtSubject { get; init; }
    /// <summary>basic_password_hash: an htpasswd-style hash (bcrypt $2y$/$2b$/$2a$, or {SHA}); null: no basic auth.</summary>
    public string? BasicPasswordHash { get; init; }
    public SourceLocation Location { get; init; }
}
