using FastProxy.Configuration.Reading;
using FastProxy.Configuration.Values;

namespace FastProxy.Configuration.Validation;

/// <summary>One [[listeners.tls]] entry: a certificate and key (PEM) and the names it serves.</summary>
internal static class TlsValidator
{
    public static readonly string[] Keys = ["cert", "key", "sni", "client_ca"];

    public static TlsCertificateConfig Read(TableReader table)
    {
        var context = table.Context;
        var cert = table.RequiredString("cert");
        var key = table.RequiredString("key");
        var certFile = cert is null ? null : context.FullPath(cert);
        var keyFile = key is null ? null : context.FullPath(key);
        var certReadable = certFile is not null && PemFiles.CheckReadable(context, table.PathOf("cert"), certFile);
        var keyReadable = keyFile is not null && PemFiles.CheckReadable(context, table.PathOf("key"), keyFile);
        if (certReadable && keyReadable)
        {
            PemFiles.CheckCertificateAndKey(context, table.PathOf("cert"), certFile!, table.PathOf("key"), keyFile!, cert!);
        }

        List<string>? sni = null;
        if (table.Strings("sni") is { } names)
        {
            sni = [];
            foreach (var (name, path) in names)
            {
                if (HostNames.NormalizePattern(name, allowIpLiteral: false, out var problem) is { } normalized) sni.Add(normalized);
                else context.Error(path, problem);
            }
            if (names.Count == 0) table.Error("sni", "must not be empty: leave it out to use the names in the certificate");
        }

        string? clientCaFile = null;
        if (table.String("client_ca") is { } clientCa)
        {
            clientCaFile = context.FullPath(clientCa);
            if (PemFiles.CheckReadable(context, table.PathOf("client_ca"), clientCaFile))
            {
                PemFiles.CheckCaBundle(context, table.PathOf("client_ca"), clientCaFile);
            }
        }

        return new TlsCertificateConfig
        {
            // Resolved against the config file's directory: the runtime's working directory may differ.
            Cert = certFile ?? "",
            Key = keyFile ?? "",
            Sni = sni,
            ClientCa = clientCaFile,
            Location = context.Map.Value(table.Path),
        };
    }
}
