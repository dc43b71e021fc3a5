using System.Net.Sockets;

namespace FastProxy.Observability.Metrics;

/// <summary>
/// The reason label of fastproxy_tls_handshake_failures_total: a few fixed words, so the label set stays bounded
/// whatever a client sends (the log line keeps the full story, see Tls/TlsFailure).
/// </summary>
internal static class TlsFailureReason
{
    /// <summary>Not finished within header_timeout.</summary>
    public const string Timeout = "timeout";
    /// <summary>The client closed (or reset) before or during the handshake.</summary>
    public const string Closed = "closed";
    /// <summary>Plain HTTP sent to a TLS port (answered 400 on http listeners).</summary>
    public const string PlainHttp = "plain_http";
    /// <summary>Something other than a TLS record.</summary>
    public const string NotTls = "not_tls";
    /// <summary>The client refused our certificate (unknown CA, bad certificate).</summary>
    public const string CertificateRejected = "certificate_rejected";
    /// <summary>The client's certificate was missing or not trusted by client_ca.</summary>
    public const string ClientCertificate = "client_certificate";
    /// <summary>No TLS version in common.</summary>
    public const string ProtocolVersion = "protocol_version";
    /// <summary>No cipher suite in common.</summary>
    public const string NoSharedCipher = "no_shared_cipher";
    /// <summary>The client ended the handshake with another alert.</summary>
    public const string Alert = "alert";
    public const string Other = "other";

    public static string Classify(Exception ex)
    {
        for (var e = ex; e is not null; e = e.InnerException)
        {
            if (e is SocketException or ObjectDisposedException) return Closed;
            if (e is IOException && e.InnerException is null && e.Message.Contains("end of stream", StringComparison.OrdinalIgnoreCase)) return Closed;
            var m = e.Message;
            if (m.Contains("RemoteCertificateValidationCallback", StringComparison.Ordinal)
                || m.Contains("certificate required", StringComparison.Ordinal)
                || m.Contains("peer did not return a certificate", StringComparison.Ordinal)) return ClientCertificate;
            if (m.Contains("alert unknown ca", StringComparison.Ordinal) || m.Contains("alert bad certificate", StringComparison.Ordinal)
                || m.Contains("alert certificate unknown", StringComparison.Ordinal)) return CertificateRejected;
            if (m.Contains("unsupported protocol", StringComparison.Ordinal) || m.Contains("no protocols available", StringComparison.Ordinal)
                || m.Contains("version too low", StringComparison.Ordinal) || m.Contains("wrong version number", StringComparison.Ordinal)) return ProtocolVersion;
            if (m.Contains("no shared cipher", StringComparison.Ordinal)) return NoSharedCipher;
            if (m.Contains("alert", StringComparison.Ordinal)) return Alert;
        }
        return ex is IOException ? Closed : Other;
    }
}
