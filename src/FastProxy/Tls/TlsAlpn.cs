using System.Net.Security;

namespace FastProxy.Tls;

/// <summary>The application protocols offered by ALPN (RFC 7301) on TLS listeners.</summary>
internal static class TlsAlpn
{
    /// <summary>
    /// http listeners: h2 first, then http/1.1 (the server picks the first of its own list the client also offers).
    /// After the handshake, Http1Connection.RunTlsAsync dispatches on <see cref="SslStream.NegotiatedApplicationProtocol"/>:
    /// h2 runs the HTTP/2 connection over the TLS pipes; http/1.1, or no ALPN at all, the HTTP/1.1 request loop.
    /// </summary>
    public static readonly List<SslApplicationProtocol> Http = [SslApplicationProtocol.Http2, SslApplicationProtocol.Http11];

    /// <summary>
    /// RFC 9113 §9.2.2: HTTP/2 over TLS 1.2 must not use a suite of its Appendix A block list, which holds every
    /// suite without ephemeral key exchange or without an AEAD cipher. These are the ones allowed (ECDHE or DHE with
    /// AES-GCM, ChaCha20-Poly1305 or AES-CCM); TLS 1.3 suites all qualify. The listener's suites are OpenSSL's
    /// defaults (a CipherSuitesPolicy would restrict them, but the runtime then gives up its shared SSL_CTX, and with
    /// it session resumption), so a TLS 1.2 client offering only forbidden suites can complete the handshake; such a
    /// connection gets GOAWAY INADEQUATE_SECURITY instead of HTTP/2, as §9.2.2 allows.
    /// </summary>
    public static bool AllowsHttp2OnTls12(TlsCipherSuite suite) => suite is
        TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 or TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384
        or TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 or TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384
        or TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256 or TlsCipherSuite.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256
        or TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CCM or TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_CCM
        or TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8 or TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_CCM_8
        or TlsCipherSuite.TLS_DHE_RSA_WITH_AES_128_GCM_SHA256 or TlsCipherSuite.TLS_DHE_RSA_WITH_AES_256_GCM_SHA384
        or TlsCipherSuite.TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256
        or TlsCipherSuite.TLS_DHE_RSA_WITH_AES_128_CCM or TlsCipherSuite.TLS_DHE_RSA_WITH_AES_256_CCM
        or TlsCipherSuite.TLS_DHE_RSA_WITH_AES_128_CCM_8 or TlsCipherSuite.TLS_DHE_RSA_WITH_AES_256_CCM_8;
}
