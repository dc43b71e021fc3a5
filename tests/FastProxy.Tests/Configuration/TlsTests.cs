using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace FastProxy.Tests.Configuration;

/// <summary>Certificates are made here and written as PEM files to a temporary directory the config sits in.</summary>
public sealed class TlsTests : IDisposable
{
    private static readonly DateTimeOffset Now = new(2025, 6, 1, 0, 0, 0, TimeSpan.Zero);

    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("fastproxy-config-tls-");

    public void Dispose() => _dir.Delete(recursive: true);

    private void WriteCertificate(string name, DateTimeOffset notBefore, DateTimeOffset notAfter)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256);
        using var certificate = request.CreateSelfSigned(notBefore, notAfter);
        File.WriteAllText(Path.Combine(_dir.FullName, name + ".pem"), certificate.ExportCertificatePem());
        File.WriteAllText(Path.Combine(_dir.FullName, name + ".key"), key.ExportPkcs8PrivateKeyPem());
    }

    private void WriteValid(string name) => WriteCertificate(name, Now.AddDays(-1), Now.AddYears(1));

    private static string Config(string tls) => $"""
        [[listeners]]
        name = "web"
        bind = "127.0.0.1:0"

        [[listeners.tls]]
        {tls}

        [[routes]]
        respond = {"{"} status = 200 {"}"}
        """;

    [Fact]
    public void ValidPair_PathsResolveAgainstTheConfigDirectory()
    {
        WriteValid("site");
        File.Copy(Path.Combine(_dir.FullName, "site.pem"), Path.Combine(_dir.FullName, "ca.pem"));

        var config = ConfigText.Load(Config("""
            cert = "site.pem"
            key = "site.key"
            sni = ["Example.com", "*.example.com"]
            client_ca = "ca.pem"
            """), _dir.FullName, Now);

        var tls = Assert.Single(config.Listeners[0].Tls);
        Assert.Equal(Path.Combine(_dir.FullName, "site.pem"), tls.Cert);
        Assert.Equal(Path.Combine(_dir.FullName, "site.key"), tls.Key);
        Assert.Equal(["example.com", "*.example.com"], tls.Sni);
        Assert.Equal(Path.Combine(_dir.FullName, "ca.pem"), tls.ClientCa);
        Assert.Empty(config.Warnings);
    }

    [Fact]
    public void CertificateDoesNotMatchKey()
    {
        WriteValid("a");
        WriteValid("b");

        var error = ConfigText.Error(Config("""
            cert = "a.pem"
            key = "b.key"
            """), _dir.FullName, Now);

        Assert.Equal("proxy.toml:7:7: listeners[0].tls[0].key: private key does not match the certificate in a.pem", error);
    }

    [Fact]
    public void ExpiredCertificate()
    {
        WriteCertificate("old", new DateTimeOffset(2023, 1, 1, 0, 0, 0, TimeSpan.Zero), new DateTimeOffset(2024, 1, 1, 0, 0, 0, TimeSpan.Zero));

        var error = ConfigText.Error(Config("""
            cert = "old.pem"
            key = "old.key"
            """), _dir.FullName, Now);

        Assert.Equal("proxy.toml:6:8: listeners[0].tls[0].cert: certificate expired on 2024-01-01", error);
    }

    [Fact]
    public void CertificateAboutToExpire_IsAWarning()
    {
        WriteCertificate("soon", Now.AddYears(-1), Now.AddDays(3));

        var config = ConfigText.Load(Config("""
            cert = "soon.pem"
            key = "soon.key"
            """), _dir.FullName, Now);

        Assert.Equal(["proxy.toml:6:8: listeners[0].tls[0].cert: certificate expires on 2025-06-04"], config.Warnings.Select(w => w.ToString()));
    }

    [Fact]
    public void MissingFiles()
    {
        var errors = ConfigText.Errors(Config("""
            cert = "nope.pem"
            key = "nope.key"
            """), _dir.FullName, Now);

        Assert.Equal(
        [
            $"proxy.toml:6:8: listeners[0].tls[0].cert: file not found: {Path.Combine(_dir.FullName, "nope.pem")}",
            $"proxy.toml:7:7: listeners[0].tls[0].key: file not found: {Path.Combine(_dir.FullName, "nope.key")}",
        ], errors);
    }

    [Fact]
    public void CertificateFileThatIsNotPem()
    {
        WriteValid("site");
        File.WriteAllText(Path.Combine(_dir.FullName, "junk.txt"), "not a certificate");

        var error = ConfigText.Error(Config("""
            cert = "junk.txt"
            key = "site.key"
            """), _dir.FullName, Now);

        Assert.Equal($"proxy.toml:6:8: listeners[0].tls[0].cert: no PEM certificate found in {Path.Combine(_dir.FullName, "junk.txt")}", error);
    }

    [Fact]
    public void KeyFileThatIsNotPem()
    {
        WriteValid("site");
        File.WriteAllText(Path.Combine(_dir.FullName, "junk.txt"), "not a key");

        var error = ConfigText.Error(Config("""
            cert = "site.pem"
            key = "junk.txt"
            """), _dir.FullName, Now);

        Assert.Equal($"proxy.toml:7:7: listeners[0].tls[0].key: no PEM private key found in {Path.Combine(_dir.FullName, "junk.txt")}", error);
    }

    [Fact]
    public void MissingKey_AndBadSniAndMissingClientCa()
    {
        WriteValid("site");

        var errors = ConfigText.Errors(Config("""
            cert = "site.pem"
            sni = ["a.example.com", "10.0.0.1"]
            client_ca = "ca.pem"
            """), _dir.FullName, Now);

        Assert.Equal(
        [
            "proxy.toml:5:1: listeners[0].tls[0]: missing required key \"key\"",
            "proxy.toml:7:25: listeners[0].tls[0].sni[1]: invalid name \"10.0.0.1\": TLS server names are never IP addresses",
            $"proxy.toml:8:13: listeners[0].tls[0].client_ca: file not found: {Path.Combine(_dir.FullName, "ca.pem")}",
        ], errors);
    }

    [Fact]
    public void UpstreamCa_MustExist()
    {
        var errors = ConfigText.Errors("""
            [[listeners]]
            name = "web"
            bind = "127.0.0.1:0"

            [[routes]]
            upstream = "api"

            [upstreams.api]
            servers = ["127.0.0.1:9443"]
            tls = true
            ca = "internal-ca.pem"
            """, _dir.FullName, Now);

        Assert.Equal([$"proxy.toml:11:6: upstreams.api.ca: file not found: {Path.Combine(_dir.FullName, "internal-ca.pem")}"], errors);
    }
}
