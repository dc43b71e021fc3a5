namespace FastProxy.Ingress;

/// <summary>How the controller is told which Ingresses are its own, and where it serves them (command-line flags).</summary>
public sealed class IngressOptions
{
    /// <summary>The spec.controller value of IngressClasses this controller serves.</summary>
    public const string ControllerName = "fastproxy.io/ingress-controller";

    /// <summary>--ingress-class: the class name served (also matched by the legacy kubernetes.io/ingress.class annotation).</summary>
    public string IngressClass { get; init; } = "fastproxy";

    /// <summary>--https-listener: the [[listeners]] name that serves the Ingresses' TLS certificates by SNI.</summary>
    public string HttpsListener { get; init; } = "https";

    /// <summary>
    /// Where certificates and htpasswd files taken from Secrets are written (mode 0600, in a 0700 directory), since the
    /// proxy loads them from files. Content-addressed names: a file that did not change is not rewritten.
    /// </summary>
    public required string StateDirectory { get; init; }

    /// <summary>
    /// The certificate the https listener presents when the proxy.toml gives none and no Ingress names the requested host
    /// (cert and key file paths); null: the https listener is plain HTTP until a TLS Secret is there.
    /// </summary>
    public (string Cert, string Key)? DefaultCertificate { get; init; }
}
