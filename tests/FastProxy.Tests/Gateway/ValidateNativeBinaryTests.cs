using System.Text.Json;
using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Gateway;

/// <summary>
/// validate in the native AOT binary (artifacts/fastproxy): JsonSchema.Net trimmed and compiled ahead of time still
/// compiles the schema, checks bodies and names the failing field, and `fastproxy check` refuses a broken schema file.
/// </summary>
public sealed class ValidateNativeBinaryTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fastproxy-validate-aot-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Config(int port, int origin) => $$"""
        [[listeners]]
        name = "web"
        bind = "127.0.0.1:{{port}}"

        [[routes]]
        upstream = "app"
        policies = ["orders"]

        [upstreams.app]
        servers = [{ address = "127.0.0.1:{{origin}}" }]

        [policies.orders]
        type = "validate"
        methods = ["POST"]
        max_body = "16KiB"
        json_schema = "order.json"
        """;

    private const string Schema = """
        {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object", "required": ["qty"],
         "properties": {"qty": {"type": "integer", "minimum": 1}, "sku": {"type": "string", "pattern": "^[A-Z]{3}-[0-9]+$"}}}
        """;

    [Fact]
    public async Task The_binary_checks_bodies_against_the_schema_on_both_protocols()
    {
        File.WriteAllText(Path.Combine(_dir, "order.json"), Schema);
        await using var origin = new RawUpstream();
        int port = ProxyProcess.FreePort();
        var configPath = Path.Combine(_dir, "proxy.toml");
        File.WriteAllText(configPath, Config(port, origin.Port));
        await using var proxy = ProxyProcess.Start("-c", configPath);
        await proxy.WaitForPortAsync(port);
        var url = $"http://127.0.0.1:{port}/orders";
        foreach (bool h2 in new[] { false, true })
        {
            string[] json = ["-H", "Content-Type: application/json", "--data-binary"];
            var ok = await IpCorsTestKit.CurlAsync(h2, url, null, [.. json, "{\"qty\": 2, \"sku\": \"ABC-12\"}"]);
            Assert.Equal(200, ok.Status);
            var bad = await IpCorsTestKit.CurlAsync(h2, url, null, [.. json, "{\"qty\": 0, \"sku\": \"abc\"}"]);
            Assert.Equal(400, bad.Status);
            Assert.Equal(["application/problem+json"], bad.Values("content-type"));
            var problem = JsonDocument.Parse(bad.Body).RootElement;
            Assert.Equal("/qty", problem.GetProperty("field").GetString());
            Assert.Equal(["minimum", "pattern"], problem.GetProperty("errors").EnumerateArray().Select(e => e.GetProperty("keyword").GetString()).Order());
            var get = await IpCorsTestKit.CurlAsync(h2, url, null);
            Assert.Equal(405, get.Status);
            Assert.Equal(["POST"], get.Values("allow"));
        }
        Assert.Equal(2, origin.Requests.Count);
        Assert.Equal("{\"qty\": 2, \"sku\": \"ABC-12\"}", System.Text.Encoding.UTF8.GetString(origin.Requests[1].Body));
    }

    [Fact]
    public async Task Check_names_the_schema_file_line_and_column()
    {
        File.WriteAllText(Path.Combine(_dir, "order.json"), "{\n  \"type\": \"object\"\n  \"required\": [\"qty\"]\n}");
        var config = Path.Combine(_dir, "proxy.toml");
        File.WriteAllText(config, Config(8080, 9090));
        var refused = await Processes.RunAsync(ProxyProcess.BinaryPath, ["check", "-c", config]);
        File.WriteAllText(Path.Combine(_dir, "order.json"), Schema);
        var fine = await Processes.RunAsync(ProxyProcess.BinaryPath, ["check", "-c", config]);

        Assert.Equal(2, refused.ExitCode);
        var output = refused.StdOut + refused.StdErr;
        Assert.Contains($"proxy.toml:16:15: policies.orders.json_schema: {Path.Combine(_dir, "order.json")}:3:3: not JSON", output);
        Assert.Equal(0, fine.ExitCode);
    }
}
