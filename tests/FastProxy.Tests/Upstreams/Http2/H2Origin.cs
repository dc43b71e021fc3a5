using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace FastProxy.Tests.Upstreams.Http2;

/// <summary>
/// Kestrel speaking HTTP/2 only (h2c with prior knowledge, or h2 over TLS when given a certificate), as a real
/// upstream: it counts the TCP connections it accepted, and can limit the streams per connection
/// (SETTINGS_MAX_CONCURRENT_STREAMS) or speak HTTP/1.1 only (to show a misconfigured h2c upstream).
/// </summary>
public sealed class H2Origin : IAsyncDisposable
{
    private readonly WebApplication _app;
    private int _connections;
    private int _open;

    private H2Origin(WebApplication app) => _app = app;

    public int Port { get; private set; }

    /// <summary>TCP connections accepted so far.</summary>
    public int Connections => Volatile.Read(ref _connections);

    /// <summary>TCP connections open now.</summary>
    public int OpenConnections => Volatile.Read(ref _open);

    public static async Task<H2Origin> StartAsync(Action<WebApplication> configure, int maxStreams = 100,
        X509Certificate2? certificate = null, HttpProtocols protocols = HttpProtocols.Http2)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        H2Origin? origin = null;
        builder.WebHost.ConfigureKestrel(options =>
        {
            options.Limits.MaxRequestBodySize = null;
            options.Limits.MinRequestBodyDataRate = null;
            options.Limits.MinResponseDataRate = null;
            options.Limits.Http2.MaxStreamsPerConnection = maxStreams;
            options.Listen(IPAddress.Loopback, 0, listen =>
            {
                listen.Protocols = protocols;
                listen.Use(next => async context =>
                {
                    Interlocked.Increment(ref origin!._connections);
                    Interlocked.Increment(ref origin._open);
                    try
                    {
                        await next(context);
                    }
                    finally
                    {
                        Interlocked.Decrement(ref origin._open);
                    }
                });
                if (certificate is not null) listen.UseHttps(certificate);
            });
        });
        var app = builder.Build();
        origin = new H2Origin(app);
        configure(app);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        origin.Port = new Uri(address).Port;
        return origin;
    }

    /// <summary>A graceful stop (GOAWAY, in-flight requests finish) within <paramref name="timeout"/>.</summary>
    public async Task StopAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try { await _app.StopAsync(cts.Token); } catch (OperationCanceledException) { }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(TimeSpan.FromSeconds(5));
        await _app.DisposeAsync();
    }
}
