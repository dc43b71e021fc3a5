using System.Buffers.Binary;
using System.Net;
using System.Text;
using Grpc.AspNetCore.Server.Model;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;

namespace FastProxy.Tests.Grpc;

/// <summary>
/// The test service's methods, defined code-first: every message is raw bytes (no protobuf, no codegen), so what
/// crosses the wire is exactly what the test wrote, in gRPC's length-prefixed framing.
/// </summary>
internal static class TestGrpc
{
    public const string ServiceName = "fastproxy.test.Echo";

    private static readonly Marshaller<byte[]> Bytes = Marshallers.Create(b => b, b => b);

    /// <summary>Answers the request bytes; adds response header x-echo-header and trailer x-echo-trailer.</summary>
    public static readonly Method<byte[], byte[]> Echo = new(MethodType.Unary, ServiceName, "Echo", Bytes, Bytes);

    /// <summary>Request: a count N (4 octets, big-endian); answers N messages "message-i".</summary>
    public static readonly Method<byte[], byte[]> Count = new(MethodType.ServerStreaming, ServiceName, "Count", Bytes, Bytes);

    /// <summary>Each request message is a 4-octet integer; the one answer is their sum.</summary>
    public static readonly Method<byte[], byte[]> Sum = new(MethodType.ClientStreaming, ServiceName, "Sum", Bytes, Bytes);

    /// <summary>Answers each request message as it arrives, prefixed with "echo:".</summary>
    public static readonly Method<byte[], byte[]> Chat = new(MethodType.DuplexStreaming, ServiceName, "Chat", Bytes, Bytes);

    /// <summary>Fails at once with NotFound: gRPC's Trailers-Only response (grpc-status in the only HEADERS).</summary>
    public static readonly Method<byte[], byte[]> Missing = new(MethodType.Unary, ServiceName, "Missing", Bytes, Bytes);

    /// <summary>Waits until the call's deadline cancels it (at most 30 s).</summary>
    public static readonly Method<byte[], byte[]> Slow = new(MethodType.Unary, ServiceName, "Slow", Bytes, Bytes);

    /// <summary>Sends its response headers, then fails with PermissionDenied: the status comes in trailers, not Trailers-Only.</summary>
    public static readonly Method<byte[], byte[]> FailLate = new(MethodType.Unary, ServiceName, "FailLate", Bytes, Bytes);

    public const string MissingMessage = "no such thing: 42";

    public const string FailLateMessage = "not you, not now";

    public static byte[] Int(int value)
    {
        var bytes = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(bytes, value);
        return bytes;
    }

    public static int ReadInt(byte[] bytes) => BinaryPrimitives.ReadInt32BigEndian(bytes);

    public static byte[] Text(string s) => Encoding.UTF8.GetBytes(s);

    public static string Text(byte[] b) => Encoding.UTF8.GetString(b);

    /// <summary>
    /// A channel for h2c with prior knowledge: on .NET 5+ an http:// address with Grpc.Net.Client's
    /// RequestVersionExact 2.0 requests speaks HTTP/2 in clear text without an upgrade.
    /// </summary>
    public static GrpcChannel Channel(int port) => GrpcChannel.ForAddress($"http://127.0.0.1:{port}", new GrpcChannelOptions
    {
        HttpHandler = new System.Net.Http.SocketsHttpHandler { EnableMultipleHttp2Connections = false, ConnectTimeout = TimeSpan.FromSeconds(10) },
        DisposeHttpClient = true,
    });
}

/// <summary>What the service saw, for the tests to check the server's side of a call.</summary>
internal sealed class TestGrpcService
{
    /// <summary>The deadline the server saw on the last Slow call (from the grpc-timeout request header).</summary>
    public DateTime SlowDeadline;
    /// <summary>The Slow call was cancelled by its deadline on the server's side.</summary>
    public readonly TaskCompletionSource SlowCancelled = new(TaskCreationOptions.RunContinuationsAsynchronously);
    /// <summary>The TE request header of the last Echo call (gRPC requires "trailers").</summary>
    public string? LastTe;

    public async Task<byte[]> Echo(byte[] request, ServerCallContext context)
    {
        // Not in context.RequestHeaders: Grpc.AspNetCore filters TE out of the metadata it shows.
        LastTe = context.GetHttpContext().Request.Headers.TE;
        await context.WriteResponseHeadersAsync(new Metadata { { "x-echo-header", "h" } });
        context.ResponseTrailers.Add("x-echo-trailer", "t-" + request.Length);
        return request;
    }

    public async Task Count(byte[] request, IServerStreamWriter<byte[]> responses, ServerCallContext context)
    {
        int n = TestGrpc.ReadInt(request);
        for (int i = 0; i < n; i++) await responses.WriteAsync(TestGrpc.Text($"message-{i}"));
    }

    public async Task<byte[]> Sum(IAsyncStreamReader<byte[]> requests, ServerCallContext context)
    {
        long sum = 0;
        await foreach (var message in requests.ReadAllAsync(context.CancellationToken)) sum += TestGrpc.ReadInt(message);
        return TestGrpc.Int((int)sum);
    }

    public async Task Chat(IAsyncStreamReader<byte[]> requests, IServerStreamWriter<byte[]> responses, ServerCallContext context)
    {
        await foreach (var message in requests.ReadAllAsync(context.CancellationToken)) await responses.WriteAsync([.. "echo:"u8, .. message]);
    }

    public Task<byte[]> Missing(byte[] request, ServerCallContext context)
        => throw new RpcException(new Status(StatusCode.NotFound, TestGrpc.MissingMessage));

    public async Task<byte[]> FailLate(byte[] request, ServerCallContext context)
    {
        await context.WriteResponseHeadersAsync(new Metadata { { "x-echo-header", "late" } });
        throw new RpcException(new Status(StatusCode.PermissionDenied, TestGrpc.FailLateMessage));
    }

    public async Task<byte[]> Slow(byte[] request, ServerCallContext context)
    {
        SlowDeadline = context.Deadline;
        try
        {
            await Task.Delay(TimeSpan.FromSeconds(30), context.CancellationToken);
        }
        catch (OperationCanceledException)
        {
            SlowCancelled.TrySetResult();
            throw;
        }
        return request;
    }
}

/// <summary>
/// Binds <see cref="TestGrpcService"/>'s methods by hand: Grpc.AspNetCore asks every registered
/// <see cref="IServiceMethodProvider{TService}"/> for a service's methods when <c>MapGrpcService</c> runs, so this
/// is the whole binding (codegen would emit a BindService method and an attribute that a built-in provider finds).
/// </summary>
internal sealed class TestGrpcMethodProvider : IServiceMethodProvider<TestGrpcService>
{
    public void OnServiceMethodDiscovery(ServiceMethodProviderContext<TestGrpcService> context)
    {
        context.AddUnaryMethod(TestGrpc.Echo, [], (s, request, ctx) => s.Echo(request, ctx));
        context.AddServerStreamingMethod(TestGrpc.Count, [], (s, request, responses, ctx) => s.Count(request, responses, ctx));
        context.AddClientStreamingMethod(TestGrpc.Sum, [], (s, requests, ctx) => s.Sum(requests, ctx));
        context.AddDuplexStreamingMethod(TestGrpc.Chat, [], (s, requests, responses, ctx) => s.Chat(requests, responses, ctx));
        context.AddUnaryMethod(TestGrpc.Missing, [], (s, request, ctx) => s.Missing(request, ctx));
        context.AddUnaryMethod(TestGrpc.FailLate, [], (s, request, ctx) => s.FailLate(request, ctx));
        context.AddUnaryMethod(TestGrpc.Slow, [], (s, request, ctx) => s.Slow(request, ctx));
    }
}

/// <summary>A real gRPC server: Grpc.AspNetCore on Kestrel, HTTP/2 only (h2c, prior knowledge) on 127.0.0.1 and a free port.</summary>
internal sealed class GrpcTestServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private GrpcTestServer(WebApplication app, int port, TestGrpcService service)
    {
        _app = app;
        Port = port;
        Service = service;
    }

    public int Port { get; }

    public TestGrpcService Service { get; }

    public static async Task<GrpcTestServer> StartAsync()
    {
        var service = new TestGrpcService();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(options => options.Listen(IPAddress.Loopback, 0, listen => listen.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc();
        // The instance the tests inspect: the default activator takes a registered service over creating one.
        builder.Services.AddSingleton(service);
        builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IServiceMethodProvider<TestGrpcService>, TestGrpcMethodProvider>());
        var app = builder.Build();
        app.MapGrpcService<TestGrpcService>();
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        return new GrpcTestServer(app, new Uri(address).Port, service);
    }

    public async ValueTask DisposeAsync()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try { await _app.StopAsync(cts.Token); } catch (OperationCanceledException) { }
        await _app.DisposeAsync();
    }
}
