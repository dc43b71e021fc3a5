using System.Text;
using System.Text.Json;
using FastProxy.Configuration;
using FastProxy.Policies.Pipeline;
using FastProxy.Tests.Configuration;

namespace FastProxy.Tests.Gateway;

/// <summary>[policies.NAME] type = "validate" in `fastproxy check`: what loads, and each mistake at its file:line:col.</summary>
public sealed class ValidateConfigTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fastproxy-validate-check-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string Policy(string body) =>
        ConfigText.Minimal + "\npolicies = [\"v\"]\n\n[policies.v]\ntype = \"validate\"\n" + body + "\n";

    // Minimal is 6 lines; then the route's policies (7), a blank line, the header (9), type (10), the first key (11).
    private const int FirstKeyLine = 11;

    private static ValidateOptions Load(string body, string? dir = null) =>
        Assert.IsType<ValidateOptions>(Assert.Single(ConfigText.Load(Policy(body), dir).Policies).Options);

    private string SchemaFile(string text, string name = "schema.json")
    {
        File.WriteAllText(Path.Combine(_dir, name), text);
        return name;
    }

    [Fact]
    public void Every_key_loads()
    {
        var file = SchemaFile("""{"type": "object"}""");
        var options = Load($"""
            methods = ["get", "POST"]
            max_body = "64KiB"
            required_headers = ["X-Tenant"]
            required_query = ["page"]
            json_schema = "{file}"
            """, _dir);
        Assert.Equal(["GET", "POST", "HEAD"], options.Methods);
        Assert.Equal(64 * 1024, options.MaxBody);
        Assert.Equal(["X-Tenant"], options.RequiredHeaders);
        Assert.Equal(["page"], options.RequiredQuery);
        Assert.Equal(Path.Combine(_dir, file), options.JsonSchema);
        Assert.Equal("""{"type": "object"}""", options.JsonSchemaText);
    }

    [Fact]
    public void Defaults_check_nothing_and_say_so()
    {
        var result = ConfigText.Parse(Policy(""));
        Assert.True(result.Success);
        Assert.Contains(result.Warnings, w => w.ToString().Contains("checks nothing"));
        var options = Assert.IsType<ValidateOptions>(result.Config!.Policies[0].Options);
        Assert.Null(options.Methods);
        Assert.Equal(0, options.MaxBody);
        Assert.Empty(options.RequiredHeaders);
        Assert.Empty(options.RequiredQuery);
        Assert.Null(options.JsonSchema);
    }

    [Theory]
    [InlineData("methods = []", 1, "methods: an empty methods list refuses every request")]
    [InlineData("methods = [\"GET\", \"get\"]", 1, "methods[1]: \"get\" is listed twice")]
    [InlineData("methods = [\"GE T\"]", 1, "methods[0]: \"GE T\" is not a method name")]
    [InlineData("max_body = \"1MB\"", 1, "max_body:")]
    [InlineData("required_headers = [\"X Tenant\"]", 1, "required_headers[0]: \"X Tenant\" is not a header field name")]
    [InlineData("required_query = [\"a=b\"]", 1, "required_query[0]: \"a=b\" is not a query parameter name")]
    [InlineData("json_schema = \"\"", 1, "json_schema: empty file name")]
    [InlineData("schema = \"x.json\"", 1, "unknown key")]
    public void Mistakes_are_named_at_their_key(string body, int line, string expected)
    {
        var error = ConfigText.Error(Policy(body));
        Assert.StartsWith($"proxy.toml:{FirstKeyLine + line - 1}:", error);
        Assert.Contains(expected, error);
    }

    [Fact]
    public void A_missing_schema_file_is_an_error_at_the_key()
    {
        var error = ConfigText.Error(Policy("json_schema = \"nope.json\""), _dir);
        Assert.StartsWith($"proxy.toml:{FirstKeyLine}:", error);
        Assert.Contains($"policies.v.json_schema: file not found: {Path.Combine(_dir, "nope.json")}", error);
    }

    [Fact]
    public void A_schema_that_is_not_JSON_is_named_with_its_own_line_and_column()
    {
        SchemaFile("{\n  \"type\": \"object\",\n  \"required\": [\"a\",]\n}");
        var error = ConfigText.Error(Policy("json_schema = \"schema.json\""), _dir);
        Assert.StartsWith($"proxy.toml:{FirstKeyLine}:", error);
        Assert.Contains($"json_schema: {Path.Combine(_dir, "schema.json")}:3:", error);
        Assert.Contains("not JSON", error);
    }

    [Theory]
    [InlineData("""{"$schema": "http://json-schema.org/draft-07/schema#"}""", "only draft 2020-12 is supported")]
    [InlineData("""{"type": 5}""", "not a draft 2020-12 schema at \"/type\"")]
    [InlineData("""{"properties": {"a": {"minimum": "one"}}}""", "not a draft 2020-12 schema at \"/properties/a/minimum\"")]
    [InlineData("""[{"type": "object"}]""", "a JSON Schema is an object")]
    [InlineData("\"object\"", "a JSON Schema is an object")]
    public void A_file_that_is_JSON_but_not_a_2020_12_schema_is_refused(string text, string expected)
    {
        SchemaFile(text);
        var error = ConfigText.Error(Policy("json_schema = \"schema.json\""), _dir);
        Assert.StartsWith($"proxy.toml:{FirstKeyLine}:", error);
        Assert.True(error.Contains(expected, StringComparison.Ordinal), error);
    }

    [Theory]
    [InlineData("true")]
    [InlineData("""{"$schema": "https://json-schema.org/draft/2020-12/schema", "$defs": {"n": {"type": "integer"}}, "properties": {"a": {"$ref": "#/$defs/n"}}}""")]
    public void Boolean_schemas_and_local_references_load(string text)
    {
        SchemaFile(text);
        Assert.Equal(text, Load("json_schema = \"schema.json\"", _dir).JsonSchemaText);
    }

    [Fact]
    public void Problem_bodies_escape_what_they_carry()
    {
        var body = ProblemDetails.Body(400, detail: "bad \"x\"\r\nInjected: 1", field: "</script>\"\n",
            errors: [new ProblemError("/a~1b", "type", "line\nbreak")]);
        var text = Encoding.UTF8.GetString(body);
        Assert.DoesNotContain("\n", text);
        Assert.DoesNotContain("</script>", text);
        var problem = JsonDocument.Parse(body).RootElement;
        Assert.Equal("about:blank", problem.GetProperty("type").GetString());
        Assert.Equal("Bad Request", problem.GetProperty("title").GetString());
        Assert.Equal(400, problem.GetProperty("status").GetInt32());
        Assert.Equal("bad \"x\"\r\nInjected: 1", problem.GetProperty("detail").GetString());
        Assert.Equal("</script>\"\n", problem.GetProperty("field").GetString());
        Assert.Equal("line\nbreak", problem.GetProperty("errors")[0].GetProperty("detail").GetString());

        var answer = ProblemDetails.Answer(405, RejectionCounter.For("t", "validate", "method"), "no", headers: [new("Allow", "GET")]);
        Assert.Equal("Allow: GET\r\nContent-Type: application/problem+json\r\n", Encoding.ASCII.GetString(answer.HeaderLines));
        Assert.Throws<ArgumentException>(() => ProblemDetails.Answer(400, RejectionCounter.For("t", "validate", "x"), headers: [new("X", "a\r\nb")]));
    }
}
