using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using FastProxy.Configuration.Reading;

namespace FastProxy.Configuration.Validation;

/// <summary>
/// Certificate, key and CA files: checked at load time so a wrong file is a named config error,
/// not a TLS handshake failure at the first client.
/// </summary>
internal static class PemFiles
{
    /// <summary>A certificate this close to expiry still loads, with a warning.</summary>
    private static readonly TimeSpan ExpiryWarning = TimeSpan.FromDays(14);

    public static bool CheckReadable(LoadContext context, string path, string file)
    {
        if (Directory.Exists(file))
        {
            context.Error(path, $"{file} is a directory, expected a PEM file");
            return false;
        }
        if (!File.Exists(file))
        {
            context.Error(path, $"file not found: {file}");
            return false;
        }
        try
        {
            using var stream = File.OpenRead(file);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            context.Error(path, $"cannot read {file}: {(e is UnauthorizedAccessException ? "permission denied" : e.Message)}");
            return false;
        }
    }

    /// <param name="certAsWritten">The cert path as written in the config, to name it in a mismatch message.</param>
    public static void CheckCertificateAndKey(LoadContext context, string certPath, string certFile, string keyPath, string keyFile, string certAsWritten)
    {
        X509Certificate2 certificate;
        try
        {
            // The first certificate only (the leaf); CreateFromPemFile would also want a key in the same file.
            certificate = X509Certificate2.CreateFromPem(File.ReadAllText(certFile));
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException)
        {
            context.Error(certPath, $"no PEM certificate found in {certFile}");
            return;
        }
        using (certificate)
        {
            CheckValidity(context, certPath, certificate);
        }

        var keyText = File.ReadAllText(keyFile);
        try
        {
            using var pair = X509Certificate2.CreateFromPemFile(certFile, keyFile);
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException)
        {
            // A key of another certificate is an ArgumentException; anything unusable as a key, a
            // CryptographicException. Tell them apart by the file itself for a precise message. apart from "a key, but another certificate's".
            var problem = keyText.Contains("-----BEGIN ENCRYPTED PRIVATE KEY-----", StringComparison.Ordinal)
                ? $"the private key in {keyFile} is encrypted; give an unencrypted PEM key"
                : !keyText.Contains("PRIVATE KEY-----", StringComparison.Ordinal)
                    ? $"no PEM private key found in {keyFile}"
                    : $"private key does not match the certificate in {certAsWritten}";
            context.Error(keyPath, problem);
        }
    }

    private static void CheckValidity(LoadContext context, string certPath, X509Certificate2 certificate)
    {
        var notAfter = new DateTimeOffset(certificate.NotAfter.ToUniversalTime());
        var notBefore = new DateTimeOffset(certificate.NotBefore.ToUniversalTime());
        if (notAfter < context.Now)
        {
            context.Error(certPath, $"certificate expired on {Day(notAfter)}");
        }
        else if (notBefore > context.Now)
        {
            // Usually clock skew on a freshly issued certificate; clients will refuse it until then.
            context.Warning(certPath, $"certificate is not valid before {notBefore.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture)} UTC");
        }
        else if (notAfter - context.Now < ExpiryWarning)
        {
            context.Warning(certPath, $"certificate expires on {Day(notAfter)}");
        }
    }

    public static void CheckCaBundle(LoadContext context, string path, string file)
    {
        var bundle = new X509Certificate2Collection();
        try
        {
            bundle.ImportFromPemFile(file);
        }
        catch (CryptographicException)
        {
            context.Error(path, $"invalid PEM certificate in {file}");
            return;
        }
        if (bundle.Count == 0) context.Error(path, $"no PEM certificate found in {file}");
        foreach (var certificate in bundle) certificate.Dispose();
    }

    private static string Day(DateTimeOffset time) => time.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
}
