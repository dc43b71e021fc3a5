using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace FastProxy.Tests.Observability.Tracing;

/// <summary>An OTLP/HTTP collector for the tests: Kestrel on loopback, recording every POST /v1/traces (content type and body).</summary>
internal sealed class OtlpReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<(string? ContentType, byte[] Body)> _posts = new();

    private OtlpReceiver(WebApplication app) => _app = app;

    public int Port { get; private set; }

    public string Endpoint => $"http://127.0.0.1:{Port}";

    public IReadOnlyList<(string? ContentType, byte[] Body)> Posts => [.. _posts];

    /// <summary>Every span received so far.</summary>
    public List<DecodedSpan> Spans => Posts.SelectMany(p => DecodedSpan.Decode(p.Body).Spans).ToList();

    public static async Task<OtlpReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(o => o.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var receiver = new OtlpReceiver(app);
        app.MapPost("/v1/traces", async (HttpContext ctx) =>
        {
            using var buffer = new MemoryStream();
            await ctx.Request.Body.CopyToAsync(buffer);
            receiver._posts.Enqueue((ctx.Request.ContentType, buffer.ToArray()));
            ctx.Response.ContentType = "application/x-protobuf";
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        receiver.Port = new Uri(address).Port;
        return receiver;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
