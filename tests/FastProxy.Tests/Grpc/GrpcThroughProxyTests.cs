using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Grpc;

/// <summary>
/// gRPC end to end through the proxy: Grpc.Net.Client over h2c to the proxy, the proxy over h2c
/// (<c>protocol = "h2c"</c>) to Grpc.AspNetCore on Kestrel. The same scenarios as <see cref="GrpcDirectTests"/>,
/// so each difference is the proxy's: messages both ways as they come, response headers, trailers with
/// grpc-status, Trailers-Only errors, deadlines.
/// </summary>
public sealed class GrpcThroughProxyTests : GrpcProxyScenarioTests
{
    /// <summary>A listener (with <paramref name="listenerTls"/>, if any) routing the test service to an h2c upstream.</summary>
    internal static string Config(int serverPort, string listenerTls = "") => $$"""
        [[listeners]]
        name = "web"
        bind = "127.0.0.1:0"
        {{listenerTls}}

        [[routes]]
        name = "grpc"
        upstream = "grpc"
        [routes.match]
        path_prefix = "/{{TestGrpc.ServiceName}}/"

        [upstreams.grpc]
        protocol = "h2c"
        servers = [ { address = "127.0.0.1:{{serverPort}}" } ]
        """;

    private protected override async Task Run(Func<GrpcTestServer, global::Grpc.Net.Client.GrpcChannel, Task> scenario)
    {
        await using var server = await GrpcTestServer.StartAsync();
        await using var proxy = TestProxy.Start(Config(server.Port));
        using var channel = TestGrpc.Channel(proxy.Port());
        await scenario(server, channel);
    }
}

/// <summary>
/// The gRPC scenarios every way of reaching the proxy runs (h2c, h2 over TLS): each subclass says how its channel
/// reaches a proxy in front of a fresh <see cref="GrpcTestServer"/>.
/// </summary>
public abstract class GrpcProxyScenarioTests
{
    private protected abstract Task Run(Func<GrpcTestServer, global::Grpc.Net.Client.GrpcChannel, Task> scenario);

    [Fact]
    public Task Unary_echo_with_headers_and_trailers() => Run((server, channel) => GrpcScenarios.UnaryEcho(channel, server));

    [Fact]
    public Task Server_streaming() => Run((_, channel) => GrpcScenarios.ServerStreaming(channel));

    [Fact]
    public Task Client_streaming() => Run((_, channel) => GrpcScenarios.ClientStreaming(channel));

    [Fact]
    public Task Bidi_messages_cross_both_ways_before_the_request_ends() => Run((_, channel) => GrpcScenarios.BidiInterleaved(channel));

    [Fact]
    public Task Failure_status_and_message_as_trailers_only() => Run((_, channel) => GrpcScenarios.FailureStatus(channel));

    [Fact]
    public Task Deadline_exceeded() => Run((server, channel) => GrpcScenarios.DeadlineExceeded(channel, server));
}
