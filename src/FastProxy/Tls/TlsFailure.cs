using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace FastProxy.Tls;

/// <summary>
/// Why a TLS handshake failed, in words an operator can act on. The runtime wraps the real reason: "Authentication
/// failed, see inner exception." around "SSL Handshake failed with OpenSSL error - SSL_ERROR_SSL." around
/// "error:0A000102:SSL routines::unsupported protocol"; a log line shows them all, without the pointer to them.
/// Off the request path: a handshake that failed allocates what it likes.
/// </summary>
internal static class TlsFailure
{
    /// <summary>
    /// What went wrong, for the log: for an OpenSSL error, what its reason means for the operator when it is one of the
    /// common ones ("the client rejected our certificate (OpenSSL: tlsv1 alert unknown ca)"), else the messages of
    /// <paramref name="ex"/> and its inner exceptions, outermost first, each once.
    /// </summary>
    /// <param name="peer">"client" or "server": who is at the other end.</param>
    public static string Describe(Exception ex, string peer)
    {
        var messages = Messages(ex);
        for (var e = ex; e is not null; e = e.InnerException)
        {
            if (OpenSslReason(e.Message) is not { } reason) continue;
            return Explain(reason, peer) is { } meaning ? $"{meaning} (OpenSSL: {reason})" : messages;
        }
        return messages;
    }

    /// <summary>"error:0A000418:SSL routines::tlsv1 alert unknown ca": the reason after the last "::", else null.</summary>
    private static string? OpenSslReason(string message)
    {
        if (!message.StartsWith("error:", StringComparison.Ordinal)) return null;
        int at = message.LastIndexOf("::", StringComparison.Ordinal);
        return at < 0 || at + 2 >= message.Length ? null : message[(at + 2)..].Trim();
    }

    /// <summary>The OpenSSL reasons an operator meets most, in words; null for the rest (shown as they are).</summary>
    private static string? Explain(string reason, string peer) => reason switch
    {
        _ when reason.Contains("alert unknown ca", StringComparison.Ordinal)
            || reason.Contains("alert bad certificate", StringComparison.Ordinal)
            || reason.Contains("alert certificate unknown", StringComparison.Ordinal) => $"the {peer} rejected our certificate",
        _ when reason.Contains("alert certificate required", StringComparison.Ordinal) => $"the {peer} requires a client certificate",
        _ when reason.Contains("alert", StringComparison.Ordinal) => $"the {peer} ended the handshake with an alert",
        _ when reason.Contains("unsupported protocol", StringComparison.Ordinal)
            || reason.Contains("no protocols available", StringComparison.Ordinal)
            || reason.Contains("version too low", StringComparison.Ordinal) => $"no TLS version in common with the {peer} (1.2 and 1.3 are accepted)",
        _ when reason.Contains("no shared cipher", StringComparison.Ordinal) => $"no cipher suite in common with the {peer}",
        _ => null,
    };

    /// <summary>The messages of <paramref name="ex"/> and its inner exceptions, outermost first, each once.</summary>
    private static string Messages(Exception ex)
    {
        var parts = new List<string>();
        for (var e = ex; e is not null; e = e.InnerException)
        {
            var message = e.Message.Trim();
            // The runtime's pointer to the inner exception says nothing of its own.
            if (message.Length == 0 || message.EndsWith("see inner exception.", StringComparison.OrdinalIgnoreCase)) continue;
            if (parts.Count > 0 && parts[^1].Contains(message, StringComparison.Ordinal)) continue;
            parts.Add(message.TrimEnd('.'));
        }
        return parts.Count == 0 ? ex.GetType().Name : string.Join(": ", parts);
    }

    /// <summary>
    /// The problems with a server's certificate, as <see cref="SslPolicyErrors"/> and the chain's
    /// <see cref="X509ChainStatus"/> say them: "certificate chain not trusted: UntrustedRoot (self-signed certificate)",
    /// "certificate does not match the name "origin.internal" (RemoteCertificateNameMismatch; it names: other.example)".
    /// </summary>
    public static string DescribeCertificate(SslPolicyErrors errors, X509Certificate? certificate, X509Chain? chain, string expectedName)
    {
        var text = new StringBuilder();
        if (errors.HasFlag(SslPolicyErrors.RemoteCertificateNotAvailable))
        {
            Append(text, "the server sent no certificate (RemoteCertificateNotAvailable)");
        }
        if (errors.HasFlag(SslPolicyErrors.RemoteCertificateNameMismatch))
        {
            var names = certificate is X509Certificate2 leaf ? TlsServer.NamesIn(leaf) : [];
            Append(text, $"certificate does not match the name \"{expectedName}\" (RemoteCertificateNameMismatch; it names: {(names.Count == 0 ? "nothing" : string.Join(", ", names))})");
        }
        if (errors.HasFlag(SslPolicyErrors.RemoteCertificateChainErrors))
        {
            var statuses = new StringBuilder();
            var seen = X509ChainStatusFlags.NoError;
            foreach (var status in chain?.ChainStatus ?? [])
            {
                if (status.Status == X509ChainStatusFlags.NoError || seen.HasFlag(status.Status)) continue;
                seen |= status.Status;
                if (statuses.Length > 0) statuses.Append(", ");
                statuses.Append(status.Status);
                var information = status.StatusInformation.Trim().TrimEnd('.');
                if (information.Length > 0) statuses.Append(" (").Append(information).Append(')');
            }
            Append(text, "certificate chain not trusted: " + (statuses.Length > 0 ? statuses.ToString() : "RemoteCertificateChainErrors"));
        }
        return text.Length > 0 ? text.ToString() : errors.ToString();
    }

    private static void Append(StringBuilder text, string problem)
    {
        if (text.Length > 0) text.Append("; ");
        text.Append(problem);
    }
}

/// <summary>
/// The verdict on one upstream server's certificate during one handshake: the runtime's own checks (the trust and
/// name the connection's options ask for), kept so that a refusal can say why, where the runtime only says "rejected
/// by the provided RemoteCertificateValidationCallback". One per new connection, not per request.
/// </summary>
internal sealed class ServerCertificateCheck(string expectedName)
{
    /// <summary>Why the certificate was refused; null while it was not.</summary>
    public string? Problem { get; private set; }

    public bool Validate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (errors == SslPolicyErrors.None) return true;
        Problem = TlsFailure.DescribeCertificate(errors, certificate, chain, expectedName);
        return false;
    }
}
