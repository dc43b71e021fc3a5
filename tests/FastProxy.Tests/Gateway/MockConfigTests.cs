using System.Text;
using FastProxy.Configuration;
using FastProxy.Tests.Configuration;

namespace FastProxy.Tests.Gateway;

/// <summary>[policies.NAME] type = "mock" in `fastproxy check`: what loads, and each mistake at its file:line:col.</summary>
public sealed class MockConfigTests
{
    // Lines: 1-3 listener, 4 blank, 5 [[routes]], 6 policies, 7 blank, 8 [policies.fake], 9 type, 10 the first key.
    private static string Config(string body, string route = "policies = [\"fake\"]") => $$"""
        [[listeners]]
        name = "web"
        bind = "127.0.0.1:0"

        [[routes]]
        {{route}}

        [policies.fake]
        type = "mock"
        {{body}}
        """;

    private static MockOptions Load(string body, string? directory = null) =>
        Assert.IsType<MockOptions>(Assert.Single(ConfigText.Load(Config(body), directory).Policies).Options);

    [Fact]
    public void Defaults_are_200_with_no_body_and_no_delay()
    {
        var options = Load("");
        Assert.Equal(200, options.Status);
        Assert.Empty(options.Body);
        Assert.Null(options.ContentType);
        Assert.Equal(TimeSpan.Zero, options.Delay);
    }

    [Theory]
    [InlineData("body = '{\"id\": 1}'", "application/json")]
    [InlineData("body = 'hello'", "text/plain; charset=utf-8")]
    [InlineData("body = '{not json'", "text/plain; charset=utf-8")]
    [InlineData("body = 'x'\ncontent_type = \"text/html\"", "text/html")]
    [InlineData("body = 'x'\nheaders = { \"Content-Type\" = \"text/csv\" }", null)]
    public void The_content_type_is_json_when_the_body_parses_else_text(string body, string? expected)
    {
        Assert.Equal(expected, Load(body).ContentType);
    }

    [Fact]
    public void A_body_file_is_read_at_load_relative_to_the_config()
    {
        var directory = Directory.CreateTempSubdirectory("mock-config-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(directory, "user.json"), "[1, 2, 3]");
            var options = Load("body_file = \"user.json\"\nstatus = 201\ndelay = \"250ms\"", directory);
            Assert.Equal("[1, 2, 3]", Encoding.UTF8.GetString(options.Body));
            Assert.Equal("application/json", options.ContentType);
            Assert.Equal(201, options.Status);
            Assert.Equal(TimeSpan.FromMilliseconds(250), options.Delay);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Theory]
    [InlineData("body = \"a\"\nbody_file = \"b\"", "proxy.toml:11:1: policies.fake.body_file: give either body or body_file, not both")]
    [InlineData("status = 204\nbody = \"a\"", "proxy.toml:11:8: policies.fake.body: a 204 response has no body")]
    [InlineData("status = 101", "proxy.toml:10:10: policies.fake.status: must be between 200 and 599, got 101")]
    [InlineData("headers = { \"Content-Length\" = \"5\" }", "proxy.toml:10:13: policies.fake.headers.Content-Length: Content-Length is set by the proxy")]
    [InlineData("delay = \"2m\"", "proxy.toml:10:9: policies.fake.delay: must be at most 60s (a mock stands in for a slow service, not a stuck one)")]
    [InlineData("content_type = \"json\"", "proxy.toml:10:16: policies.fake.content_type: \"json\" is not a media type (e.g. \"application/json\", \"text/html; charset=utf-8\")")]
    [InlineData("stauts = 200", "proxy.toml:10:1: policies.fake.stauts: unknown key (did you mean \"status\"?)")]
    public void Mistakes_are_reported_where_they_are(string body, string expected)
    {
        Assert.Equal(expected, ConfigText.Error(Config(body)));
    }

    [Fact]
    public void A_missing_body_file_is_named()
    {
        var error = ConfigText.Error(Config("body_file = \"missing.json\""), Path.GetTempPath());
        Assert.Equal($"proxy.toml:10:13: policies.fake.body_file: file not found: {Path.Combine(Path.GetTempPath(), "missing.json")}", error);
    }

    [Fact]
    public void A_route_whose_chain_has_a_mock_needs_neither_upstream_nor_respond()
    {
        var config = ConfigText.Load(Config("body = \"hi\""));
        var route = Assert.Single(config.Routes);
        Assert.Null(route.Upstream);
        Assert.Null(route.Respond);
    }

    [Fact]
    public void A_route_without_upstream_on_a_listener_without_the_mock_is_refused()
    {
        // The route serves two listeners; only one runs the mock, so on the other nothing would answer.
        var text = """
            [[listeners]]
            name = "web"
            bind = "127.0.0.1:0"
            policies = ["fake"]

            [[listeners]]
            name = "other"
            bind = "127.0.0.1:0"

            [[routes]]
            name = "bare"

            [policies.fake]
            type = "mock"
            """;
        Assert.Equal("proxy.toml:10:1: routes[0]: needs upstream = \"NAME\" or respond = { status = ..., body = ... }, or a policy that answers every request (mock) or picks the upstream (version)",
            ConfigText.Error(text));
    }
}
