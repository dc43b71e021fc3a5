using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace FastProxy.Tests.Tls;

/// <summary>
/// Certificates made in the test and written as PEM files to a temporary directory, as a user would have them: a CA,
/// server certificates it issued (RSA or ECDSA, with the DNS names given), client certificates, expired ones.
/// </summary>
public sealed class TlsFiles : IDisposable
{
    private readonly DirectoryInfo _dir = System.IO.Directory.CreateTempSubdirectory("fastproxy-tls-");
    private readonly Dictionary<string, (X509Certificate2 Certificate, AsymmetricAlgorithm Key)> _cas = [];
    private readonly Dictionary<string, string> _intermediates = [];

    public string Directory => _dir.FullName;

    public string PathOf(string file) => Path.Combine(_dir.FullName, file);

    /// <summary>
    /// A CA "CN={name}", written to {name}.pem; returns that path. Self-signed, or an intermediate issued by CA
    /// <paramref name="issuer"/> (then the leaves it issues carry it after them in their .pem, as a chain file does).
    /// </summary>
    public string Ca(string name, string? issuer = null)
    {
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        X509Certificate2 certificate;
        if (issuer is null)
        {
            certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(1));
        }
        else
        {
            var parent = _cas[issuer];
            var serial = new byte[16];
            RandomNumberGenerator.Fill(serial);
            serial[0] &= 0x7F;
            using var issued = request.Create(parent.Certificate.SubjectName, X509SignatureGenerator.CreateForECDsa((ECDsa)parent.Key),
                DateTimeOffset.UtcNow.AddHours(-12), DateTimeOffset.UtcNow.AddDays(300), serial);
            certificate = issued.CopyWithPrivateKey(key);
            _intermediates[name] = issued.ExportCertificatePem();
        }
        _cas[name] = (certificate, key);
        File.WriteAllText(PathOf(name + ".pem"), certificate.ExportCertificatePem());
        return PathOf(name + ".pem");
    }

    /// <summary>
    /// A server certificate "CN={file}" for <paramref name="dnsNames"/> issued by CA <paramref name="ca"/> (made on first
    /// use), written to {file}.pem and {file}.key. Returns (cert path, key path).
    /// </summary>
    public (string Cert, string Key) Server(string file, string[] dnsNames, bool rsa = false, string ca = "ca", string? commonName = null)
        => Leaf(file, commonName ?? dnsNames.FirstOrDefault() ?? file, dnsNames, rsa, ca, "1.3.6.1.5.5.7.3.1");

    /// <summary>A self-signed server certificate for <paramref name="name"/> (no CA anyone trusts), valid now.</summary>
    public (string Cert, string Key) SelfSigned(string file, string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName(name);
        request.CertificateExtensions.Add(san.Build());
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        File.WriteAllText(PathOf(file + ".pem"), certificate.ExportCertificatePem());
        File.WriteAllText(PathOf(file + ".key"), key.ExportPkcs8PrivateKeyPem());
        return (PathOf(file + ".pem"), PathOf(file + ".key"));
    }

    /// <summary>A self-signed certificate for <paramref name="name"/> that expired on 2024-01-01.</summary>
    public (string Cert, string Key) Expired(string file, string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        using var certificate = request.CreateSelfSigned(new DateTimeOffset(2023, 1, 1, 0, 0, 0, TimeSpan.Zero), new DateTimeOffset(2024, 1, 1, 0, 0, 0, TimeSpan.Zero));
        File.WriteAllText(PathOf(file + ".pem"), certificate.ExportCertificatePem());
        File.WriteAllText(PathOf(file + ".key"), key.ExportPkcs8PrivateKeyPem());
        return (PathOf(file + ".pem"), PathOf(file + ".key"));
    }

    /// <summary>A client certificate "CN={name}" issued by CA <paramref name="ca"/>; written like <see cref="Server"/>.</summary>
    public (string Cert, string Key) Client(string file, string name, string ca) => Leaf(file, name, [], false, ca, "1.3.6.1.5.5.7.3.2");

    private (string Cert, string Key) Leaf(string file, string commonName, string[] dnsNames, bool rsa, string ca, string usage)
    {
        if (!_cas.ContainsKey(ca)) Ca(ca);
        var issuer = _cas[ca];
        using AsymmetricAlgorithm key = rsa ? RSA.Create(2048) : ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = key is RSA r
            ? new CertificateRequest($"CN={commonName}", r, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1)
            : new CertificateRequest($"CN={commonName}", (ECDsa)key, HashAlgorithmName.SHA256);
        if (dnsNames.Length > 0)
        {
            var names = new SubjectAlternativeNameBuilder();
            foreach (var name in dnsNames)
            {
                if (System.Net.IPAddress.TryParse(name, out var address)) names.AddIpAddress(address);
                else names.AddDnsName(name);
            }
            request.CertificateExtensions.Add(names.Build());
        }
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(usage)], false));
        // Within the CA's own validity (made a day back, valid a year).
        var start = DateTimeOffset.UtcNow.AddHours(-1);
        var end = DateTimeOffset.UtcNow.AddDays(180);
        var serial = new byte[16];
        RandomNumberGenerator.Fill(serial);
        serial[0] &= 0x7F;
        using var certificate = request.Create(issuer.Certificate.SubjectName, X509SignatureGenerator.CreateForECDsa((ECDsa)issuer.Key),
            start, end, serial);
        var chain = _intermediates.TryGetValue(ca, out var intermediate) ? "\n" + intermediate : "";
        File.WriteAllText(PathOf(file + ".pem"), certificate.ExportCertificatePem() + chain);
        File.WriteAllText(PathOf(file + ".key"), key.ExportPkcs8PrivateKeyPem());
        return (PathOf(file + ".pem"), PathOf(file + ".key"));
    }

    public void Dispose()
    {
        foreach (var (certificate, key) in _cas.Values)
        {
            certificate.Dispose();
            key.Dispose();
        }
        _dir.Delete(recursive: true);
    }
}
