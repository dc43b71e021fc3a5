using System.Net;
using System.Net.Http;
using System.Text;
using FastProxy.Tests.Grpc;
using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.GrpcWeb;

/// <summary>
/// gRPC-Web through a route with <c>grpc_web = true</c> to Grpc.AspNetCore on Kestrel (h2c, plain gRPC only: it
/// knows nothing of gRPC-Web). The client is <see cref="GrpcWebClient"/> over HTTP/1.1 and h2c: binary and text
/// framings, unary and server streaming, a status in the trailer frame and a Trailers-Only failure, and plain gRPC
/// (Grpc.Net.Client) on the same route.
/// </summary>
public sealed class GrpcWebThroughProxyTests
{
    internal static string Config(int serverPort, bool grpcWeb = true) => $$"""
        [[listeners]]
        name = "web"
        bind = "127.0.0.1:0"

        [[routes]]
        name = "grpc"
        upstream = "grpc"
        grpc_web = {{(grpcWeb ? "true" : "false")}}
        [routes.match]
        path_prefix = "/{{TestGrpc.ServiceName}}/"

        [upstreams.grpc]
        protocol = "h2c"
        servers = [ { address = "127.0.0.1:{{serverPort}}" } ]
        """;

    public static TheoryData<string, bool> VersionsAndFramings => new()
    {
        { "1.1", false }, { "1.1", true }, { "2.0", false }, { "2.0", true },
    };

    private static Uri Method(TestProxy proxy, string name) => proxy.Url($"/{TestGrpc.ServiceName}/{name}");

    [Theory]
    [MemberData(nameof(VersionsAndFramings))]
    public async Task Unary_call_gets_its_message_and_the_status_in_the_trailer_frame(string version, bool text)
    {
        await using var server = await GrpcTestServer.StartAsync();
        await using var proxy = TestProxy.Start(Config(server.Port));
        using var client = GrpcWebClient.Client(Version.Parse(version));
        // More than the 64 KiB the proxy reads before streaming, one 16 KiB frame and the initial stream window.
        var payload = new byte[70_000];
        new Random(3).NextBytes(payload);

        var reply = await GrpcWebClient.CallAsync(client, Method(proxy, "Echo"), payload, text);

        Assert.Equal(HttpStatusCode.OK, reply.Status);
        Assert.Equal(text ? "application/grpc-web-text+proto" : "application/grpc-web+proto", reply.ContentType);
        Assert.Equal("h", reply.Header("x-echo-header"));
        var message = Assert.Single(reply.Messages);
        Assert.Equal(payload, message);
        Assert.NotNull(reply.Trailers);
        Assert.Equal("0", reply.Trailers["grpc-status"]);
        Assert.Equal("t-70000", reply.Trailers["x-echo-trailer"]);
        // Nothing of the status is left in the head: the body carries it.
        Assert.Null(reply.Header("grpc-status"));
        Assert.Equal("trailers", server.Service.LastTe);
    }

    [Theory]
    [MemberData(nameof(VersionsAndFramings))]
    public async Task A_body_without_content_length_is_converted_too(string version, bool text)
    {
        await using var server = await GrpcTestServer.StartAsync();
        await using var proxy = TestProxy.Start(Config(server.Port));
        using var client = GrpcWebClient.Client(Version.Parse(version));
        var payload = Encoding.UTF8.GetBytes("chunked or DATA without content-length: " + new string('x', 5000));

        var reply = await GrpcWebClient.CallAsync(client, Method(proxy, "Echo"), payload, text, unknownLength: true);

        Assert.Equal(HttpStatusCode.OK, reply.Status);
        Assert.Equal(payload, Assert.Single(reply.Messages));
        Assert.Equal("0", reply.Trailers!["grpc-status"]);
    }

    [Theory]
    [MemberData(nameof(VersionsAndFramings))]
    public async Task Server_streaming_messages_then_the_trailer_frame(string version, bool text)
    {
        await using var server = await GrpcTestServer.StartAsync();
        await using var proxy = TestProxy.Start(Config(server.Port));
        using var client = GrpcWebClient.Client(Version.Parse(version));

        var reply = await GrpcWebClient.CallAsync(client, Method(proxy, "Count"), TestGrpc.Int(50), text);

        Assert.Equal(HttpStatusCode.OK, reply.Status);
        Assert.Equal(Enumerable.Range(0, 50).Select(i => $"message-{i}"), reply.Messages.Select(TestGrpc.Text));
        Assert.Equal("0", reply.Trailers!["grpc-status"]);
        if (text)
        {
            // Each frame is base64 on its own (padded at its end), as Envoy sends it.
            var expected = string.Concat(Enumerable.Range(0, 50)
                .Select(i => Convert.ToBase64String(GrpcWebClient.Frame(0, TestGrpc.Text($"message-{i}")))));
            Assert.StartsWith(expected, Encoding.ASCII.GetString(reply.RawBody));
        }
    }

    [Theory]
    [MemberData(nameof(VersionsAndFramings))]
    public async Task A_failure_after_the_headers_carries_its_status_and_message_in_the_trailer_frame(string version, bool text)
    {
        await using var server = await GrpcTestServer.StartAsync();
        await using var proxy = TestProxy.Start(Config(server.Port));
        using var client = GrpcWebClient.Client(Version.Parse(version));

        var reply = await GrpcWebClient.CallAsync(client, Method(proxy, "FailLate"), [1, 2, 3], text);

        Assert.Equal(HttpStatusCode.OK, reply.Status);
        Assert.Equal("late", reply.Header("x-echo-header"));
        Assert.Empty(reply.Messages);
        Assert.Equal("7", reply.Trailers!["grpc-status"]); // PERMISSION_DENIED
        Assert.Equal(TestGrpc.FailLateMessage, Uri.UnescapeDataString(reply.Trailers["grpc-message"]));
    }

    /// <summary>
    /// gRPC's Trailers-Only answer (the status in the only HEADERS): it stays in the head, which PROTOCOL-WEB.md
    /// allows ("Trailers may be sent together with response headers, with no message in the body").
    /// </summary>
    [Theory]
    [MemberData(nameof(VersionsAndFramings))]
    public async Task A_trailers_only_failure_keeps_its_status_in_the_head(string version, bool text)
    {
        await using var server = await GrpcTestServer.StartAsync();
        await using var proxy = TestProxy.Start(Config(server.Port));
        using var client = GrpcWebClient.Client(Version.Parse(version));

        var reply = await GrpcWebClient.CallAsync(client, Method(proxy, "Missing"), [], text);

        Assert.Equal(HttpStatusCode.OK, reply.Status);
        Assert.Equal(text ? "application/grpc-web-text+proto" : "application/grpc-web+proto", reply.ContentType);
        Assert.Equal("5", reply.Header("grpc-status")); // NOT_FOUND
        Assert.Equal(TestGrpc.MissingMessage, Uri.UnescapeDataString(reply.Header("grpc-message")!));
        Assert.Empty(reply.RawBody);
    }

    [Theory]
    [InlineData("1.1")]
    [InlineData("2.0")]
    public async Task Accept_asks_for_a_text_answer_to_a_binary_request(string version)
    {
        await using var server = await GrpcTestServer.StartAsync();
        await using var proxy = TestProxy.Start(Config(server.Port));
        using var client = GrpcWebClient.Client(Version.Parse(version));

        var reply = await GrpcWebClient.CallAsync(client, Method(proxy, "Echo"), "abc"u8.ToArray(), text: false, acceptText: "application/grpc-web-text");

        Assert.Equal("application/grpc-web-text+proto", reply.ContentType);
        Assert.Equal("abc"u8.ToArray(), Assert.Single(reply.Messages));
        Assert.Equal("0", reply.Trailers!["grpc-status"]);
    }

    [Theory]
    [InlineData("1.1")]
    [InlineData("2.0")]
    public async Task Invalid_base64_is_refused_with_400(string version)
    {
        await using var server = await GrpcTestServer.StartAsync();
        await using var proxy = TestProxy.Start(Config(server.Port));
        using var client = GrpcWebClient.Client(Version.Parse(version));
        using var request = new HttpRequestMessage(System.Net.Http.HttpMethod.Post, Method(proxy, "Echo")) { Content = new ByteArrayContent("AAAA$AAA"u8.ToArray()) };
        request.Content.Headers.TryAddWithoutValidation("content-type", "application/grpc-web-text");

        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Null(server.Service.LastTe); // Echo never ran
    }

    [Theory]
    [InlineData("1.1")]
    [InlineData("2.0")]
    public async Task A_text_body_over_max_body_is_refused_with_413(string version)
    {
        await using var server = await GrpcTestServer.StartAsync();
        await using var proxy = TestProxy.Start("[limits]\nmax_body = \"1KiB\"\n\n" + Config(server.Port));
        using var client = GrpcWebClient.Client(Version.Parse(version));

        var reply = await GrpcWebClient.CallAsync(client, Method(proxy, "Echo"), new byte[2000], text: true, unknownLength: true);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, reply.Status);
        Assert.Null(server.Service.LastTe); // Echo never ran
    }

    /// <summary>The documented recipe: a cors policy on the route answers the browser's preflight, and its headers reach the converted answer.</summary>
    [Theory]
    [InlineData("1.1")]
    [InlineData("2.0")]
    public async Task A_cors_policy_answers_the_preflight_and_marks_the_converted_answer(string version)
    {
        await using var server = await GrpcTestServer.StartAsync();
        var config = Config(server.Port).Replace("grpc_web = true", "grpc_web = true\npolicies = [\"grpc-cors\"]") + """


            [policies.grpc-cors]
            type = "cors"
            origins = ["https://app.example.com"]
            methods = ["POST"]
            headers = ["x-grpc-web", "content-type", "x-user-agent", "grpc-timeout"]
            expose_headers = ["grpc-status", "grpc-message"]
            """;
        await using var proxy = TestProxy.Start(config);
        using var client = GrpcWebClient.Client(Version.Parse(version));

        using var preflight = new HttpRequestMessage(System.Net.Http.HttpMethod.Options, Method(proxy, "Echo"));
        preflight.Headers.Add("Origin", "https://app.example.com");
        preflight.Headers.Add("Access-Control-Request-Method", "POST");
        preflight.Headers.Add("Access-Control-Request-Headers", "content-type,x-grpc-web");
        using var answer = await client.SendAsync(preflight);
        Assert.Equal(HttpStatusCode.NoContent, answer.StatusCode);
        Assert.Equal("https://app.example.com", Assert.Single(answer.Headers.GetValues("Access-Control-Allow-Origin")));
        Assert.Contains("x-grpc-web", string.Join(",", answer.Headers.GetValues("Access-Control-Allow-Headers")));

        using var call = new HttpRequestMessage(System.Net.Http.HttpMethod.Post, Method(proxy, "Missing"))
        {
            Content = new ByteArrayContent(GrpcWebClient.Frame(0, [])),
        };
        call.Content.Headers.TryAddWithoutValidation("content-type", "application/grpc-web+proto");
        call.Headers.Add("Origin", "https://app.example.com");
        using var response = await client.SendAsync(call);
        Assert.Equal("application/grpc-web+proto", response.Content.Headers.ContentType?.ToString());
        Assert.Equal("5", Assert.Single(response.Headers.GetValues("grpc-status")));
        Assert.Equal("https://app.example.com", Assert.Single(response.Headers.GetValues("Access-Control-Allow-Origin")));
        Assert.Contains("grpc-status", string.Join(",", response.Headers.GetValues("Access-Control-Expose-Headers")));
    }

    /// <summary>Plain gRPC (Grpc.Net.Client over h2c) on the same route is not touched.</summary>
    [Fact]
    public async Task Plain_grpc_on_the_same_route_still_works()
    {
        await using var server = await GrpcTestServer.StartAsync();
        await using var proxy = TestProxy.Start(Config(server.Port));
        using var channel = TestGrpc.Channel(proxy.Port());
        await GrpcScenarios.UnaryEcho(channel, server);
        await GrpcScenarios.ServerStreaming(channel);
        await GrpcScenarios.FailureStatus(channel);
    }

    /// <summary>
    /// Without grpc_web the same request reaches the gRPC server as gRPC-Web, which it does not speak (415): what the
    /// key is for. A request that is not gRPC-Web is not converted on a grpc_web route either.
    /// </summary>
    [Theory]
    [InlineData("1.1")]
    [InlineData("2.0")]
    public async Task Without_the_key_or_without_a_grpc_web_content_type_nothing_is_converted(string version)
    {
        await using var server = await GrpcTestServer.StartAsync();
        using var client = GrpcWebClient.Client(Version.Parse(version));
        await using (var plain = TestProxy.Start(Config(server.Port, grpcWeb: false)))
        {
            var reply = await GrpcWebClient.CallAsync(client, Method(plain, "Echo"), [1], text: false);
            Assert.Equal(HttpStatusCode.UnsupportedMediaType, reply.Status);
        }
        await using var proxy = TestProxy.Start(Config(server.Port));
        var json = await GrpcWebClient.CallAsync(client, Method(proxy, "Echo"), [1], text: false, contentType: "application/json");
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, json.Status);
        Assert.DoesNotContain("grpc-web", json.ContentType ?? "");
    }

    /// <summary>curl as a user would send it, over HTTP/1.1 and h2c with prior knowledge, text framing.</summary>
    [Theory]
    [InlineData("--http1.1")]
    [InlineData("--http2-prior-knowledge")]
    public async Task Curl_text_call(string protocol)
    {
        await using var server = await GrpcTestServer.StartAsync();
        await using var proxy = TestProxy.Start(Config(server.Port));
        var dir = Directory.CreateTempSubdirectory("grpcweb");
        try
        {
            var bodyFile = Path.Combine(dir.FullName, "body");
            var outFile = Path.Combine(dir.FullName, "out");
            await File.WriteAllTextAsync(bodyFile, Convert.ToBase64String(GrpcWebClient.Frame(0, TestGrpc.Int(3))));
            var result = await Processes.CurlAsync("-sS", protocol, "--max-time", "20", "-D", "-", "-o", outFile,
                "-H", "content-type: application/grpc-web-text", "-H", "x-grpc-web: 1",
                "--data-binary", "@" + bodyFile, Method(proxy, "Count").ToString());
            Assert.True(result.ExitCode == 0, result.ToString());
            Assert.Contains("content-type: application/grpc-web-text\r\n", result.StdOut, StringComparison.OrdinalIgnoreCase);
            var (messages, trailers) = GrpcWebClient.ReadFrames(GrpcWebClient.DecodeText(await File.ReadAllBytesAsync(outFile)));
            Assert.Equal(["message-0", "message-1", "message-2"], messages.Select(TestGrpc.Text));
            Assert.Equal("0", trailers!["grpc-status"]);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
