using FastProxy.Configuration;
using FastProxy.Tests.Configuration;

namespace FastProxy.Tests.Gateway;

/// <summary>type = "json_body" as `fastproxy check` sees it: paths, values, contradictions, sizes, file:line:col errors.</summary>
public sealed class JsonBodyConfigTests
{
    // Minimal is 6 lines; [policies.j] is line 8, type line 9, the first key line 10.
    private static string With(string keys) => ConfigText.Minimal + "\n\n[policies.j]\ntype = \"json_body\"\n" + keys + "\n";

    [Fact]
    public void Paths_values_and_defaults_are_read()
    {
        var config = ConfigText.Load(With("""
            request = { add = { "source" = "gateway", "meta.n" = 2, "t" = { a = [1, 2.5, true] } }, remove = ["password", "internal.debug"], rename = { "userName" = "user_name" } }
            """));

        var options = Assert.IsType<JsonBodyOptions>(Assert.Single(config.Policies).Options);
        Assert.Equal(1024 * 1024, options.MaxSize);
        Assert.Equal(JsonOversize.Pass, options.Oversize);
        Assert.Equal([["password"], ["internal", "debug"]], options.Request.Remove);
        var rename = Assert.Single(options.Request.Rename);
        Assert.Equal(["userName"], rename.Path);
        Assert.Equal("user_name", rename.NewName);
        Assert.Equal(3, options.Request.Add.Count);
        Assert.Equal([new TemplatePart(TemplateVariable.Literal, "gateway")], options.Request.Add[0].Template!.Parts);
        Assert.Equal(["meta", "n"], options.Request.Add[1].Path);
        Assert.Equal("2", options.Request.Add[1].Json);
        Assert.Equal("""{"a":[1,2.5,true]}""", options.Request.Add[2].Json);
        Assert.True(options.Response.IsEmpty);
    }

    [Fact]
    public void Max_size_and_oversize_are_read_and_checked()
    {
        var options = Assert.IsType<JsonBodyOptions>(Assert.Single(ConfigText.Load(With("""
            max_size = "64KiB"
            oversize = "refuse"
            response = { remove = ["x"] }
            """)).Policies).Options);
        Assert.Equal(64 * 1024, options.MaxSize);
        Assert.Equal(JsonOversize.Refuse, options.Oversize);

        Assert.Equal("proxy.toml:10:12: policies.j.max_size: must be at most 64MiB", ConfigText.Error(With("max_size = \"1GiB\"\nresponse = { remove = [\"x\"] }")));
        Assert.Equal("proxy.toml:10:12: policies.j.oversize: unknown oversize mode \"drop\" (known: pass, refuse)",
            ConfigText.Error(With("oversize = \"drop\"\nresponse = { remove = [\"x\"] }")));
    }

    [Theory]
    [InlineData("""request = { remove = ["a..b"] }""", "policies.j.request.remove[0]: \"a..b\" is not a member path")]
    [InlineData("""request = { remove = [".a"] }""", "is not a member path")]
    [InlineData("""request = { rename = { "a" = "b.c" } }""", "\"b.c\": the new name is one member name (no dots)")]
    [InlineData("""request = { rename = { "a" = "a" } }""", "renames \"a\" to itself")]
    [InlineData("""request = { rename = { "a" = 1 } }""", "expected the new member name as a string, got an integer")]
    [InlineData("""request = { add = { "a" = "{consumr}" } }""", "unknown variable {consumr}")]
    [InlineData("""request = { add = { "a" = 1979-05-27 } }""", "expected a JSON value (a string, number, boolean, array or table)")]
    [InlineData("""request = { add = { "a" = nan } }""", "JSON has no NaN or infinity")]
    [InlineData("""request = { remove = ["a"], add = { "a" = 1 } }""", "\"a\" is both removed and added: say which")]
    [InlineData("""request = { remove = ["a"], add = { "a.b" = 1 } }""", "\"a\" is removed, and \"a.b\" inside it is added: edit one or the other")]
    [InlineData("""request = { rename = { "a" = "b" }, add = { "b" = 1 } }""", "the new name \"b\" is also added: two edits would end on one member")]
    [InlineData("""request = { rename = { "a" = "c", "b" = "c" } }""", "\"c\" is the new name of two renames in one object")]
    [InlineData("""request = { rename = { "a" = "b", "b" = "c" } }""", "the new name \"b\" is also renamed")]
    public void Contradictions_and_bad_values_are_errors_at_their_place(string keys, string message)
    {
        var errors = ConfigText.Errors(With(keys));

        Assert.NotEmpty(errors);
        Assert.All(errors, e => Assert.StartsWith("proxy.toml:10:", e));
        Assert.Contains(errors, e => e.Contains(message, StringComparison.Ordinal));
    }

    [Fact]
    public void A_template_in_a_json_string_may_hold_any_text()
    {
        var config = ConfigText.Load(With("""request = { add = { "note" = "café\n{request_id}" } }"""));

        var add = Assert.Single(Assert.IsType<JsonBodyOptions>(Assert.Single(config.Policies).Options).Request.Add);
        Assert.Equal([new TemplatePart(TemplateVariable.Literal, "café\n"), new TemplatePart(TemplateVariable.RequestId, "")], add.Template!.Parts);
    }

    [Fact]
    public void A_policy_without_edits_is_a_warning()
    {
        var result = ConfigText.Parse(With("max_size = \"1KiB\""));

        Assert.True(result.Success);
        Assert.Contains(result.Warnings, w => w.ToString().Contains("this json_body policy changes nothing", StringComparison.Ordinal));
    }

    [Fact]
    public void Unknown_keys_are_refused_with_the_known_ones()
    {
        var errors = ConfigText.Errors(With("requests = { remove = [\"a\"] }"));

        Assert.Contains(errors, e => e.Contains("requests", StringComparison.Ordinal));
    }
}
