using FastProxy.Configuration;
using FastProxy.Tests.Configuration;

namespace FastProxy.Tests.Gateway;

/// <summary>[policies.NAME] type = "version" in `fastproxy check`: what loads, and each mistake at its file:line:col.</summary>
public sealed class VersionConfigTests
{
    private const string Upstreams = """

        [upstreams.api-v1]
        servers = ["127.0.0.1:9001"]

        [upstreams.api-v2]
        servers = ["127.0.0.1:9002"]
        """;

    // Lines: 1-3 listener, 4 blank, 5 [[routes]], 6 policies, 7 blank, 8 [policies.ver], 9 type, 10 the first key.
    private static string Config(string body, string route = "policies = [\"ver\"]") => $$"""
        [[listeners]]
        name = "web"
        bind = "127.0.0.1:0"

        [[routes]]
        {{route}}

        [policies.ver]
        type = "version"
        {{body}}
        """ + "\n" + Upstreams;

    private static VersionOptions Load(string body) =>
        Assert.IsType<VersionOptions>(Assert.Single(ConfigText.Load(Config(body)).Policies).Options);

    [Fact]
    public void A_route_with_a_version_policy_needs_no_upstream_and_the_versions_upstreams_count_as_used()
    {
        var result = ConfigText.Parse(Config("versions = { v1 = \"api-v1\", v2 = { upstream = \"api-v2\", path_prefix = \"/api\" } }\ndefault = \"v1\""));
        Assert.True(result.Success, string.Join("\n", result.Errors));
        Assert.Empty(result.Config.Warnings);
        var options = Assert.IsType<VersionOptions>(Assert.Single(result.Config.Policies).Options);
        Assert.Equal(VersionSource.Path, options.From);
        Assert.True(options.Strip);
        Assert.Equal(["v1", "v2"], options.Versions.Select(v => v.Name));
        Assert.Equal(["api-v1", "api-v2"], options.Versions.Select(v => v.Upstream));
        Assert.Equal([null, "/api"], options.Versions.Select(v => v.PathPrefix));
        Assert.Equal("v1", options.Default);
        Assert.Null(Assert.Single(result.Config.Routes).Upstream);
    }

    [Theory]
    [InlineData("from = \"path\"", VersionSource.Path, null)]
    [InlineData("from = \"accept\"", VersionSource.Accept, null)]
    [InlineData("from = \"header:API-Version\"", VersionSource.Header, "api-version")]
    [InlineData("from = \"query:v\"", VersionSource.Query, "v")]
    public void Every_source_loads(string from, VersionSource source, string? name)
    {
        var options = Load(from + "\nversions = { v1 = \"api-v1\", v2 = \"api-v2\" }");
        Assert.Equal(source, options.From);
        Assert.Equal(name, options.FromName);
    }

    [Fact]
    public void Deprecated_takes_a_date_for_both_headers_or_a_table()
    {
        var options = Load("versions = { v1 = \"api-v1\", v2 = \"api-v2\" }\n"
            + "deprecated = { v1 = \"2027-06-30\", v2 = { deprecation = \"2026-12-01T00:00:00Z\", sunset = 2027-12-31, link = \"https://example.com/v2\" } }");
        var v1 = options.Versions[0];
        Assert.Equal(new DateTimeOffset(2027, 6, 30, 0, 0, 0, TimeSpan.Zero), v1.Deprecation);
        Assert.Equal(v1.Deprecation, v1.Sunset);
        var v2 = options.Versions[1];
        Assert.Equal(new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.Zero), v2.Deprecation);
        Assert.Equal(new DateTimeOffset(2027, 12, 31, 0, 0, 0, TimeSpan.Zero), v2.Sunset);
        Assert.Equal("https://example.com/v2", v2.Link);
    }

    [Theory]
    [InlineData("versions = { v1 = \"api-v1\", v3 = \"api-v3\" }", "proxy.toml:10:34: policies.ver.versions.v3: no upstream named \"api-v3\" (known: api-v1, api-v2)")]
    [InlineData("versions = { v1 = { upstream = \"nope\" } }", "proxy.toml:10:32: policies.ver.versions.v1.upstream: no upstream named \"nope\" (known: api-v1, api-v2)")]
    [InlineData("versions = { v1 = \"api-v1\" }\ndefault = \"v9\"", "proxy.toml:11:11: policies.ver.default: \"v9\" is not one of the versions (known: v1)")]
    [InlineData("versions = { v1 = \"api-v1\" }\nfrom = \"cookie:v\"", "proxy.toml:11:8: policies.ver.from: unknown version source \"cookie:v\" (known: \"path\", \"header:NAME\", \"accept\", \"query:NAME\")")]
    [InlineData("versions = { v1 = \"api-v1\" }\nfrom = \"header:\"", "proxy.toml:11:8: policies.ver.from: name the header: \"header:api-version\"")]
    [InlineData("versions = { v1 = \"api-v1\" }\nfrom = \"header:a b\"", "proxy.toml:11:8: policies.ver.from: \"a b\" is not a header name (letters, digits and !#$%&'*+-.^_`|~)")]
    [InlineData("versions = { v1 = \"api-v1\" }\ndeprecated = { v2 = \"2027-01-01\" }", "proxy.toml:11:16: policies.ver.deprecated.v2: \"v2\" is not one of the versions (known: v1)")]
    [InlineData("versions = { v1 = \"api-v1\" }\ndeprecated = { v1 = \"soon\" }", "proxy.toml:11:21: policies.ver.deprecated.v1: expected a date such as \"2027-06-30\" (midnight UTC) or \"2027-06-30T12:00:00Z\"")]
    [InlineData("versions = { v1 = \"api-v1\" }\ndeprecated = { v1 = { deprecation = \"2027-01-01\", sunset = \"2026-01-01\" } }", "proxy.toml:11:60: policies.ver.deprecated.v1.sunset: must not be earlier than the deprecation date (RFC 9745)")]
    [InlineData("versions = { v1 = \"api-v1\" }\nfrom = \"query:v\"\nstrip = false", "proxy.toml:12:9: policies.ver.strip: only applies to from = \"path\" (the version segment of the path)")]
    [InlineData("versions = { \"v/1\" = \"api-v1\" }", "proxy.toml:10:14: policies.ver.versions.\"v/1\": version \"v/1\": use letters, digits and - . _ ~ only (it is matched against a path segment, a header, a media type or a query value)")]
    [InlineData("versions = { v1 = \"api-v1\", V1 = \"api-v2\" }", "proxy.toml:10:29: policies.ver.versions.V1: version \"V1\" given twice (versions are compared case-insensitively)")]
    [InlineData("versions = { v1 = { upstream = \"api-v1\", path_prefix = \"/api/\" } }", "proxy.toml:10:56: policies.ver.versions.v1.path_prefix: leave out the trailing '/': the rest of the path starts with one (\"/api\")")]
    [InlineData("default = \"v1\"", "proxy.toml:8:1: policies.ver: missing required key \"versions\" (e.g. versions = { v1 = \"api-v1\", v2 = \"api-v2\" }: each version and its upstream)")]
    public void Mistakes_are_reported_where_they_are(string body, string expected)
    {
        Assert.Equal(expected, ConfigText.Error(Config(body)));
    }

    [Fact]
    public void A_route_with_neither_upstream_nor_respond_nor_an_answering_policy_is_refused()
    {
        var error = ConfigText.Error(Config("versions = { v1 = \"api-v1\" }", route: "name = \"bare\""));
        // The route is still refused; the version policy is defined but not attached to it.
        Assert.Equal("proxy.toml:5:1: routes[0]: needs upstream = \"NAME\" or respond = { status = ..., body = ... }, or a policy that answers every request (mock) or picks the upstream (version)", error);
    }

    [Fact]
    public void A_listener_version_policy_covers_a_route_without_upstream()
    {
        var text = """
            [[listeners]]
            name = "web"
            bind = "127.0.0.1:0"
            policies = ["ver"]

            [[routes]]
            name = "bare"

            [policies.ver]
            type = "version"
            versions = { v1 = "api-v1", v2 = "api-v2" }
            """ + "\n" + Upstreams;
        Assert.True(ConfigText.Parse(text).Success, string.Join("\n", ConfigText.Errors(text)));
    }
}
