using System.Net.Http;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using FastProxy.Tests.Infrastructure;
using FastProxy.Tests.Tls;
using Grpc.Net.Client;

namespace FastProxy.Tests.Grpc;

/// <summary>
/// gRPC over TLS (h2 by ALPN) to the proxy, which terminates TLS and forwards over h2c to Grpc.AspNetCore on
/// Kestrel: the scenarios of <see cref="GrpcProxyScenarioTests"/>, with the client checking the proxy's certificate
/// against the test CA, as a production gRPC client does.
/// </summary>
public sealed class GrpcOverTlsThroughProxyTests : GrpcProxyScenarioTests, IDisposable
{
    private readonly TlsFiles _files = new();

    public void Dispose() => _files.Dispose();

    private static string Config(int serverPort, (string Cert, string Key) site) => GrpcThroughProxyTests.Config(serverPort, $"""

        [[listeners.tls]]
        cert = "{site.Cert}"
        key = "{site.Key}"
        """);

    private static GrpcChannel Channel(int port, string caPath)
    {
        var ca = X509Certificate2.CreateFromPem(File.ReadAllText(caPath));
        var handler = new SocketsHttpHandler
        {
            EnableMultipleHttp2Connections = false,
            ConnectTimeout = TimeSpan.FromSeconds(10),
            // grpc.example.com is the certificate's name; the connection goes to the proxy on loopback.
            ConnectCallback = async (context, token) =>
            {
                var socket = new System.Net.Sockets.Socket(System.Net.Sockets.SocketType.Stream, System.Net.Sockets.ProtocolType.Tcp) { NoDelay = true };
                await socket.ConnectAsync(System.Net.IPAddress.Loopback, port, token);
                return new System.Net.Sockets.NetworkStream(socket, ownsSocket: true);
            },
        };
        handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, _) =>
        {
            if (certificate is null) return false;
            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.Add(ca);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            return chain.Build(new X509Certificate2(certificate)) && new X509Certificate2(certificate).MatchesHostname("grpc.example.com");
        };
        return GrpcChannel.ForAddress($"https://grpc.example.com:{port}", new GrpcChannelOptions { HttpHandler = handler, DisposeHttpClient = true });
    }

    private protected override async Task Run(Func<GrpcTestServer, GrpcChannel, Task> scenario)
    {
        await using var server = await GrpcTestServer.StartAsync();
        string ca = _files.Ca("ca");
        var site = _files.Server("grpc-site", ["grpc.example.com"]);
        await using var proxy = TestProxy.Start(Config(server.Port, site));
        using var channel = Channel(proxy.Port(), ca);
        await scenario(server, channel);
    }
}
