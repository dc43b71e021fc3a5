using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using FastProxy.Configuration;

namespace FastProxy.Tls;

/// <summary>
/// The TLS side of one listener with [[listeners.tls]]: its certificates, picked per handshake by the ClientHello's
/// server name. Built once per configuration generation, so every handshake reuses the same
/// <see cref="SslServerAuthenticationOptions"/> and <see cref="SslStreamCertificateContext"/>: on Linux the runtime
/// keeps one OpenSSL SSL_CTX per certificate context, and that shared context is what makes session resumption
/// (tickets, RFC 8446 §2.2 / RFC 5077) work across connections.
/// </summary>
internal sealed class TlsServer
{
    /// <summary>Only TLS 1.2 and 1.3: older versions are broken (RFC 8996).</summary>
    public const SslProtocols Protocols = SslProtocols.Tls12 | SslProtocols.Tls13;

    private readonly SslServerAuthenticationOptions _default;
    private readonly Dictionary<string, SslServerAuthenticationOptions>.AlternateLookup<ReadOnlySpan<char>> _exact;
    /// <summary>"*.example.com" is kept as ".example.com".</summary>
    private readonly Dictionary<string, SslServerAuthenticationOptions>.AlternateLookup<ReadOnlySpan<char>> _suffixes;

    private TlsServer(SslServerAuthenticationOptions @default, Dictionary<string, SslServerAuthenticationOptions> exact,
        Dictionary<string, SslServerAuthenticationOptions> suffixes, long handshakeTimeoutMs)
    {
        _default = @default;
        _exact = exact.GetAlternateLookup<ReadOnlySpan<char>>();
        _suffixes = suffixes.GetAlternateLookup<ReadOnlySpan<char>>();
        HandshakeTimeoutMs = handshakeTimeoutMs;
    }

    /// <summary>The whole handshake must be done within this (the listener's header_timeout), or the connection is closed.</summary>
    public long HandshakeTimeoutMs { get; }

    /// <summary>For <see cref="SslStream.AuthenticateAsServerAsync(ServerOptionsSelectionCallback, object?, CancellationToken)"/>, with the TlsServer as state.</summary>
    public static readonly ServerOptionsSelectionCallback SelectOptions =
        static (_, hello, state, _) => ValueTask.FromResult(((TlsServer)state!).Select(hello.ServerName));

    /// <summary>
    /// Loads the certificates of a listener. The files were checked by the config loader; one that changed since
    /// fails here with a <see cref="TlsLoadException"/> naming it.
    /// </summary>
    /// <param name="alpn">Protocols offered by ALPN; null (tcp listeners): none, the stream is opaque.</param>
    public static TlsServer Load(ListenerConfig listener, List<SslApplicationProtocol>? alpn)
    {
        var exact = new Dictionary<string, SslServerAuthenticationOptions>(StringComparer.OrdinalIgnoreCase);
        var suffixes = new Dictionary<string, SslServerAuthenticationOptions>(StringComparer.OrdinalIgnoreCase);
        SslServerAuthenticationOptions? first = null;
        foreach (var entry in listener.Tls)
        {
            var (options, names) = LoadEntry(listener, entry, alpn);
            first ??= options;
            // The first entry naming a name keeps it (file order, as everywhere in proxy.toml).
            foreach (var name in names)
            {
                if (name.StartsWith("*.", StringComparison.Ordinal)) suffixes.TryAdd(name[1..], options);
                else exact.TryAdd(name, options);
            }
        }
        if (first is null) throw new TlsLoadException($"listener \"{listener.Name}\": no [[listeners.tls]] entry");
        return new TlsServer(first, exact, suffixes, (long)listener.Limits.HeaderTimeout.TotalMilliseconds);
    }

    /// <summary>
    /// The options for a server name: an exact name first, then the most specific wildcard (for "a.b.example.com":
    /// "*.b.example.com", then "*.example.com"; a wildcard covers one label or several, as route hosts and SNI routes
    /// do), else the first entry (also for a hello without a name). Case-insensitive; a trailing dot is ignored.
    /// </summary>
    public SslServerAuthenticationOptions Select(string? serverName)
    {
        if (string.IsNullOrEmpty(serverName)) return _default;
        var name = serverName.AsSpan().TrimEnd('.');
        if (_exact.TryGetValue(name, out var options)) return options;
        for (int dot = name.IndexOf('.'); dot >= 0; dot = NextDot(name, dot))
        {
            if (dot > 0 && _suffixes.TryGetValue(name[dot..], out options)) return options;
        }
        return _default;
    }

    private static int NextDot(ReadOnlySpan<char> name, int dot)
    {
        int next = name[(dot + 1)..].IndexOf('.');
        return next < 0 ? -1 : dot + 1 + next;
    }

    private static (SslServerAuthenticationOptions, List<string>) LoadEntry(ListenerConfig listener, TlsCertificateConfig entry, List<SslApplicationProtocol>? alpn)
    {
        X509Certificate2 leaf;
        var chain = new X509Certificate2Collection();
        try
        {
            leaf = X509Certificate2.CreateFromPemFile(entry.Cert, entry.Key);
            // Intermediates after the leaf in the same file are sent with it.
            chain.ImportFromPemFile(entry.Cert);
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException or IOException or UnauthorizedAccessException)
        {
            throw new TlsLoadException($"{entry.Location}: listeners.{listener.Name}.tls: cannot load {entry.Cert} with {entry.Key}: {e.Message}");
        }
        var intermediates = new X509Certificate2Collection();
        foreach (var certificate in chain)
        {
            if (certificate.Thumbprint != leaf.Thumbprint) intermediates.Add(certificate);
            else certificate.Dispose();
        }

        var options = new SslServerAuthenticationOptions
        {
            // offline: never fetch missing intermediates or OCSP responses from the network at start.
            ServerCertificateContext = SslStreamCertificateContext.Create(leaf, intermediates, offline: true),
            EnabledSslProtocols = Protocols,
            ApplicationProtocols = alpn,
            AllowTlsResume = true,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
        };
        if (entry.ClientCa is not null)
        {
            var trust = new X509Certificate2Collection();
            try
            {
                trust.ImportFromPemFile(entry.ClientCa);
            }
            catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException)
            {
                throw new TlsLoadException($"{entry.Location}: listeners.{listener.Name}.tls.client_ca: cannot load {entry.ClientCa}: {e.Message}");
            }
            // A client certificate is required and must chain to one of these CAs, and to nothing else: the system
            // store is not trusted for client identities.
            options.ClientCertificateRequired = true;
            options.CertificateChainPolicy = new X509ChainPolicy
            {
                TrustMode = X509ChainTrustMode.CustomRootTrust,
                RevocationMode = X509RevocationMode.NoCheck,
                DisableCertificateDownloads = true,
            };
            options.CertificateChainPolicy.CustomTrustStore.AddRange(trust);
            // Client authentication usage, when the certificate says what it may be used for.
            options.CertificateChainPolicy.ApplicationPolicy.Add(new Oid("1.3.6.1.5.5.7.3.2"));
            // A refusal says why (the runtime's exception only says that this callback refused): a debug line, as the
            // handshake failure that follows.
            string name = listener.Name;
            options.RemoteCertificateValidationCallback = (_, certificate, chain, errors) =>
            {
                if (certificate is not null && errors == SslPolicyErrors.None) return true;
                Diagnostics.Log.ClientCertificateRefused(name, certificate is null
                    ? "the client sent no certificate"
                    : TlsFailure.DescribeCertificate(errors, certificate, chain, expectedName: ""));
                return false;
            };
        }
        return (options, entry.Sni is { } sni ? [.. sni] : NamesIn(leaf));
    }

    /// <summary>The DNS names of the certificate's subjectAltName, or its CN when it has none (lower-cased).</summary>
    public static List<string> NamesIn(X509Certificate2 certificate)
    {
        var names = new List<string>();
        foreach (var extension in certificate.Extensions)
        {
            if (extension is X509SubjectAlternativeNameExtension san)
            {
                foreach (var name in san.EnumerateDnsNames()) names.Add(name.ToLowerInvariant());
            }
        }
        if (names.Count == 0 && certificate.GetNameInfo(X509NameType.DnsName, forIssuer: false) is { Length: > 0 } cn)
        {
            names.Add(cn.ToLowerInvariant());
        }
        return names;
    }
}

/// <summary>A certificate or key that the config loader accepted could not be loaded when the listener started.</summary>
internal sealed class TlsLoadException(string message) : Exception(message);
