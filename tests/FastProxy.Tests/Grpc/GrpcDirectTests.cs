namespace FastProxy.Tests.Grpc;

/// <summary>
/// The gRPC scenarios straight against the test server, no proxy: proves the fixture (service, binding, h2c client)
/// so that a failure of <see cref="GrpcThroughProxyTests"/> is the proxy's.
/// </summary>
public sealed class GrpcDirectTests
{
    [Fact]
    public async Task Unary_echo_with_headers_and_trailers()
    {
        await using var server = await GrpcTestServer.StartAsync();
        using var channel = TestGrpc.Channel(server.Port);
        await GrpcScenarios.UnaryEcho(channel, server);
    }

    [Fact]
    public async Task Server_streaming()
    {
        await using var server = await GrpcTestServer.StartAsync();
        using var channel = TestGrpc.Channel(server.Port);
        await GrpcScenarios.ServerStreaming(channel);
    }

    [Fact]
    public async Task Client_streaming()
    {
        await using var server = await GrpcTestServer.StartAsync();
        using var channel = TestGrpc.Channel(server.Port);
        await GrpcScenarios.ClientStreaming(channel);
    }

    [Fact]
    public async Task Bidi_messages_cross_both_ways_before_the_request_ends()
    {
        await using var server = await GrpcTestServer.StartAsync();
        using var channel = TestGrpc.Channel(server.Port);
        await GrpcScenarios.BidiInterleaved(channel);
    }

    [Fact]
    public async Task Failure_status_and_message_as_trailers_only()
    {
        await using var server = await GrpcTestServer.StartAsync();
        using var channel = TestGrpc.Channel(server.Port);
        await GrpcScenarios.FailureStatus(channel);
    }

    [Fact]
    public async Task Deadline_exceeded()
    {
        await using var server = await GrpcTestServer.StartAsync();
        using var channel = TestGrpc.Channel(server.Port);
        await GrpcScenarios.DeadlineExceeded(channel, server);
    }
}
