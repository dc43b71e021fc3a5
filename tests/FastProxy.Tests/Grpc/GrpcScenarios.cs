using Grpc.Core;
using Grpc.Net.Client;

namespace FastProxy.Tests.Grpc;

/// <summary>
/// The gRPC calls every gRPC test makes, against whatever port it is given: the server itself (to validate the
/// fixture) or a proxy in front of it. Each call has a deadline, so a conversion that loses a message or a trailer
/// fails the test instead of hanging it.
/// </summary>
internal static class GrpcScenarios
{
    private static readonly TimeSpan CallLimit = TimeSpan.FromSeconds(20);

    private static CallOptions Options() => new(deadline: DateTime.UtcNow + CallLimit);

    public static async Task UnaryEcho(GrpcChannel channel, GrpcTestServer server)
    {
        var invoker = channel.CreateCallInvoker();
        var payload = new byte[70_000]; // more than one 16 KiB frame and the 65,535-octet initial window
        new Random(11).NextBytes(payload);
        using var call = invoker.AsyncUnaryCall(TestGrpc.Echo, null, Options(), payload);

        var headers = await call.ResponseHeadersAsync;
        Assert.Equal("h", headers.GetValue("x-echo-header"));
        Assert.Equal(payload, await call.ResponseAsync);
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
        // A trailer the service set reaches the client as a trailer (so grpc-status did too: the call is OK).
        Assert.Equal("t-70000", call.GetTrailers().GetValue("x-echo-trailer"));
        // gRPC requires TE: trailers on the request (Go's server refuses a request without it).
        Assert.Equal("trailers", server.Service.LastTe);
    }

    public static async Task ServerStreaming(GrpcChannel channel)
    {
        const int n = 200;
        using var call = channel.CreateCallInvoker().AsyncServerStreamingCall(TestGrpc.Count, null, Options(), TestGrpc.Int(n));
        var received = new List<string>();
        await foreach (var message in call.ResponseStream.ReadAllAsync()) received.Add(TestGrpc.Text(message));
        Assert.Equal(Enumerable.Range(0, n).Select(i => $"message-{i}"), received);
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
    }

    public static async Task ClientStreaming(GrpcChannel channel)
    {
        using var call = channel.CreateCallInvoker().AsyncClientStreamingCall(TestGrpc.Sum, null, Options());
        int expected = 0;
        for (int i = 1; i <= 100; i++)
        {
            await call.RequestStream.WriteAsync(TestGrpc.Int(i));
            expected += i;
        }
        await call.RequestStream.CompleteAsync();
        Assert.Equal(expected, TestGrpc.ReadInt(await call.ResponseAsync));
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
    }

    /// <summary>
    /// Each message is written only after the previous one's echo came back, with the request stream still open:
    /// a path that held either direction until the request ended would stall on the first message (and the call's
    /// deadline would fail the test).
    /// </summary>
    public static async Task BidiInterleaved(GrpcChannel channel)
    {
        using var call = channel.CreateCallInvoker().AsyncDuplexStreamingCall(TestGrpc.Chat, null, Options());
        using var perMessage = new CancellationTokenSource(CallLimit);
        for (int i = 0; i < 20; i++)
        {
            await call.RequestStream.WriteAsync(TestGrpc.Text($"m{i}"));
            Assert.True(await call.ResponseStream.MoveNext(perMessage.Token), $"no echo of m{i}");
            Assert.Equal($"echo:m{i}", TestGrpc.Text(call.ResponseStream.Current));
        }
        await call.RequestStream.CompleteAsync();
        Assert.False(await call.ResponseStream.MoveNext(perMessage.Token));
        Assert.Equal(StatusCode.OK, call.GetStatus().StatusCode);
    }

    /// <summary>An error status sent as Trailers-Only: code and message reach the client.</summary>
    public static async Task FailureStatus(GrpcChannel channel)
    {
        using var call = channel.CreateCallInvoker().AsyncUnaryCall(TestGrpc.Missing, null, Options(), [1, 2, 3]);
        var error = await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync);
        Assert.Equal(StatusCode.NotFound, error.StatusCode);
        Assert.Equal(TestGrpc.MissingMessage, error.Status.Detail);
    }

    /// <summary>
    /// A call whose deadline passes: the client reports DeadlineExceeded, the server saw the deadline (grpc-timeout
    /// reached it) and was cancelled by it, and the channel serves the next call.
    /// </summary>
    public static async Task DeadlineExceeded(GrpcChannel channel, GrpcTestServer server)
    {
        var invoker = channel.CreateCallInvoker();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(1);
        using (var call = invoker.AsyncUnaryCall(TestGrpc.Slow, null, new CallOptions(deadline: deadline), [7]))
        {
            var error = await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync);
            Assert.Equal(StatusCode.DeadlineExceeded, error.StatusCode);
        }
        await server.Service.SlowCancelled.Task.WaitAsync(TimeSpan.FromSeconds(10));
        // The server's deadline comes from grpc-timeout: within a few seconds of the client's (clocks and rounding).
        Assert.InRange(server.Service.SlowDeadline, deadline - TimeSpan.FromSeconds(5), deadline + TimeSpan.FromSeconds(5));

        using var next = invoker.AsyncUnaryCall(TestGrpc.Echo, null, Options(), [9]);
        Assert.Equal(new byte[] { 9 }, await next.ResponseAsync);
    }
}
