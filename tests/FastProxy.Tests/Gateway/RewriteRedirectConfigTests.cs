using System.Text.RegularExpressions;
using FastProxy.Configuration;
using FastProxy.Tests.Configuration;

namespace FastProxy.Tests.Gateway;

/// <summary>rewrite, redirect and the route keys path_regex and query as `fastproxy check` sees them: file:line:col errors.</summary>
public sealed class RewriteRedirectConfigTests
{
    // Minimal is 6 lines; the policy table starts on line 8.
    private static string With(string policy) => ConfigText.Minimal + "\n\n" + policy;

    [Fact]
    public void A_rewrite_is_compiled_at_load_linear_when_it_can_be()
    {
        var config = ConfigText.Load(With("""
            [policies.rw]
            type = "rewrite"
            pattern = "^/api/(?<rest>.*)$"
            replacement = "/v2/${rest}"
            query = { set = { "a" = "{header.x-a}" }, remove = ["b"] }
            """));

        var options = Assert.IsType<RewriteOptions>(Assert.Single(config.Policies).Options);
        Assert.True((options.Pattern!.Options & RegexOptions.NonBacktracking) != 0);
        Assert.True(options.ReplacementHasGroups);
        Assert.Equal("a", Assert.Single(options.QuerySet).Key);
        Assert.Equal(["b"], options.QueryRemove);
    }

    [Fact]
    public void A_pattern_the_linear_engine_cannot_run_gets_a_match_timeout()
    {
        var config = ConfigText.Load(With("""
            [policies.rw]
            type = "rewrite"
            pattern = "^/(a)\\1(?=x)"
            replacement = "/$1"
            """));

        var regex = Assert.IsType<RewriteOptions>(Assert.Single(config.Policies).Options).Pattern!;
        Assert.Equal(0, (int)(regex.Options & RegexOptions.NonBacktracking));
        Assert.Equal(TimeSpan.FromMilliseconds(50), regex.MatchTimeout);
    }

    [Theory]
    [InlineData("pattern = \"^/(a\"\nreplacement = \"/x\"", "proxy.toml:10:11: policies.rw.pattern: invalid regular expression at character 4: InsufficientClosingParentheses")]
    [InlineData("pattern = \"^/(a)\"\nreplacement = \"/$2\"", "proxy.toml:11:15: policies.rw.replacement: $2 is not a group of the pattern (it has $0 to $1); write ${N} to put digits right after a group")]
    [InlineData("pattern = \"^/(a)\"\nreplacement = \"/${name}\"", "proxy.toml:11:15: policies.rw.replacement: ${name} is not a group of the pattern (it has $0 to $1)")]
    [InlineData("pattern = \"^/(a)\"\nreplacement = \"/$&\"", "proxy.toml:11:15: policies.rw.replacement: '$' at character 2 is neither $N, ${name} nor $$ (write $$ for a dollar sign)")]
    [InlineData("pattern = \"^/a\"\nreplacement = \"/b?c=1\"", "proxy.toml:11:15: policies.rw.replacement: '?' cannot stand in a path: the replacement is the path only (set query parameters with query.set; percent-encode a literal one)")]
    [InlineData("pattern = \"^/a\"", "proxy.toml:8:1: policies.rw: missing required key \"replacement\"")]
    [InlineData("replacement = \"/b\"", "proxy.toml:10:15: policies.rw.replacement: a replacement needs a pattern: say which part of the path it replaces (\"^/old/(.*)\")")]
    [InlineData("query = { set = { a = \"1\" }, remove = [\"a\"] }", "proxy.toml:10:40: policies.rw.query.remove[0]: \"a\" is both set and removed: set already replaces the client's, remove drops it; keep one")]
    public void Rewrite_errors_name_the_key(string body, string message)
    {
        Assert.Equal(message, ConfigText.Error(With("[policies.rw]\ntype = \"rewrite\"\n" + body)));
    }

    [Fact]
    public void A_redirect_always_answers_and_defaults_to_308()
    {
        var config = ConfigText.Load(With("""
            [policies.https]
            type = "redirect"
            scheme = "https"
            """));

        var options = Assert.IsType<RedirectOptions>(Assert.Single(config.Policies).Options);
        Assert.Equal(308, options.Status);
        Assert.Equal("https", options.Scheme);
    }

    [Theory]
    [InlineData("scheme = \"https\"\nstatus = 303", "proxy.toml:11:10: policies.go.status: a redirect status is 301, 302, 307 or 308 (got 303); 307 and 308 keep the method and body, 301 and 302 may turn a POST into a GET")]
    [InlineData("scheme = \"ftp\"", "proxy.toml:10:10: policies.go.scheme: expected \"http\" or \"https\", got \"ftp\"")]
    [InlineData("host = \"a/b\"", "proxy.toml:10:8: policies.go.host: \"a/b\" is not a host name or IP address (letters, digits, '-', '.', an IPv6 address in [brackets]; the port goes in port)")]
    [InlineData("path = \"x\"", "proxy.toml:10:8: policies.go.path: expected \"$path\" (keep the request's) or a path starting with '/' without spaces, controls, '#' or non-ASCII characters (percent-encode them)")]
    [InlineData("status = 301", "proxy.toml:8:1: policies.go: this redirect changes nothing and would send clients back to the same URL: give it scheme, host, port or path")]
    public void Redirect_errors_name_the_key(string body, string message)
    {
        Assert.Equal(message, ConfigText.Error(With("[policies.go]\ntype = \"redirect\"\n" + body)));
    }

    [Fact]
    public void Route_path_regex_and_query_are_read_and_checked()
    {
        var config = ConfigText.Load("""
            [[listeners]]
            name = "web"
            bind = "127.0.0.1:0"

            [[routes]]
            respond = { status = 200 }
            match = { path_prefix = "/api/", path_regex = "^/api/v[0-9]+/", query = { version = "2", "a b" = "c d" } }
            """);

        var match = Assert.Single(config.Routes).Match;
        Assert.Equal("^/api/v[0-9]+/", match.PathRegex!.ToString());
        Assert.Equal([new("version", "2"), new("a b", "c d")], match.Query);

        Assert.Equal("proxy.toml:7:24: routes[0].match.path_regex: invalid regular expression at character 4: UnterminatedBracket",
            ConfigText.Error("""
            [[listeners]]
            name = "web"
            bind = "127.0.0.1:0"

            [[routes]]
            respond = { status = 200 }
            match = { path_regex = "^/[a" }
            """));
    }
}
