using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using FastProxy.Configuration;

namespace FastProxy.Tls;

/// <summary>
/// How the proxy speaks TLS to the servers of an upstream with <c>tls = true</c>: which name it sends (SNI) and checks
/// the certificate against, and which roots it trusts (the system store, or the <c>ca</c> bundle alone).
/// </summary>
internal static class UpstreamTls
{
    /// <summary>
    /// The client options for one server, built once per configuration generation and shared by its connections.
    /// Null when the upstream is plain.
    /// </summary>
    public static SslClientAuthenticationOptions? For(UpstreamConfig upstream, ServerConfig server, X509Certificate2Collection? trust)
    {
        if (!upstream.Tls) return null;
        // The name to send and verify: `sni`, else the server's host as written. An IP literal is no server name
        // (RFC 6066 §3): nothing is sent, and the certificate must then name the address.
        var host = upstream.Sni ?? server.Host.Trim('[', ']');
        var options = new SslClientAuthenticationOptions
        {
            TargetHost = host,
            EnabledSslProtocols = TlsServer.Protocols,
            // protocol = "h2": HTTP/2 only, which the server must select (checked after the handshake); else HTTP/1.1.
            ApplicationProtocols = upstream.Protocol == UpstreamProtocol.H2 ? [SslApplicationProtocol.Http2] : [SslApplicationProtocol.Http11],
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            AllowTlsResume = true,
        };
        if (upstream.InsecureSkipVerify)
        {
            // Development only; the config loader already warned.
            options.RemoteCertificateValidationCallback = static (_, _, _, _) => true;
        }
        else if (trust is not null)
        {
            // Only the configured CA: an internal CA must not widen to the system store, nor the reverse.
            options.CertificateChainPolicy = new X509ChainPolicy
            {
                TrustMode = X509ChainTrustMode.CustomRootTrust,
                RevocationMode = X509RevocationMode.NoCheck,
                DisableCertificateDownloads = true,
            };
            options.CertificateChainPolicy.CustomTrustStore.AddRange(trust);
        }
        return options;
    }

    /// <summary>
    /// The TLS stream for a handshake with a server, with a <see cref="ServerCertificateCheck"/> (out) that keeps why
    /// its certificate was refused, if it is: the runtime's exception then only says a callback refused it. None when
    /// the options decide themselves (insecure_skip_verify).
    /// </summary>
    public static SslStream CreateStream(Stream inner, bool leaveInnerStreamOpen, SslClientAuthenticationOptions options, out ServerCertificateCheck? check)
    {
        check = options.RemoteCertificateValidationCallback is null ? new ServerCertificateCheck(options.TargetHost ?? "") : null;
        return new SslStream(inner, leaveInnerStreamOpen, check is null ? null : check.Validate);
    }

    /// <summary>Why a handshake made with <see cref="CreateStream"/> failed, for the log.</summary>
    public static string Reason(Exception ex, ServerCertificateCheck? check) => check?.Problem ?? TlsFailure.Describe(ex, "server");

    /// <summary>The upstream's <c>ca</c> bundle, loaded once for all its servers; null for the system store.</summary>
    public static X509Certificate2Collection? LoadTrust(UpstreamConfig upstream)
    {
        if (!upstream.Tls || upstream.Ca is null || upstream.InsecureSkipVerify) return null;
        var trust = new X509Certificate2Collection();
        try
        {
            trust.ImportFromPemFile(upstream.Ca);
        }
        catch (Exception e) when (e is System.Security.Cryptography.CryptographicException or IOException or UnauthorizedAccessException)
        {
            throw new TlsLoadException($"{upstream.Location}: upstreams.{upstream.Name}.ca: cannot load {upstream.Ca}: {e.Message}");
        }
        return trust;
    }
}
