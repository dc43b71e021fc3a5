using FastProxy.Configuration;
using FastProxy.Tests.Configuration;

namespace FastProxy.Tests.Gateway;

/// <summary>type = "headers" as `fastproxy check` sees it: templates parsed at load, names the proxy owns refused, file:line:col errors.</summary>
public sealed class HeadersPolicyConfigTests
{
    // Minimal is 6 lines; the policy table starts on line 8.
    private static string With(string policy) => ConfigText.Minimal + "\n\n" + policy;

    [Fact]
    public void Templates_are_split_into_literal_text_and_variables_at_load()
    {
        var config = ConfigText.Load(With("""
            [policies.h]
            type = "headers"
            request = { set = { "x-user" = "u={consumer}; ip={client_ip}" }, add = { "x-trace" = "{request_id}" }, remove = ["x-debug"], rename = { "x-old" = "x-new" } }
            response = { set = { "x-served-by" = "fastproxy" }, add = { "x-claim" = "{claim.sub}/{header.user-agent} {{literal}" } }
            """));

        var options = Assert.IsType<HeadersOptions>(Assert.Single(config.Policies).Options);
        var set = Assert.Single(options.Request.Set);
        Assert.Equal("x-user", set.Key);
        Assert.Equal(
            [new(TemplateVariable.Literal, "u="), new(TemplateVariable.Consumer, ""), new(TemplateVariable.Literal, "; ip="), new(TemplateVariable.ClientIp, "")],
            set.Value.Parts);
        Assert.Equal([new TemplatePart(TemplateVariable.RequestId, "")], Assert.Single(options.Request.Add).Value.Parts);
        Assert.Equal(["x-debug"], options.Request.Remove);
        Assert.Equal([new KeyValuePair<string, string>("x-old", "x-new")], options.Request.Rename);
        Assert.Equal([new TemplatePart(TemplateVariable.Literal, "fastproxy")], Assert.Single(options.Response.Set).Value.Parts);
        Assert.Equal(
            [new(TemplateVariable.Claim, "sub"), new(TemplateVariable.Literal, "/"), new(TemplateVariable.Header, "user-agent"), new(TemplateVariable.Literal, " {literal}")],
            Assert.Single(options.Response.Add).Value.Parts);
    }

    [Fact]
    public void An_unknown_variable_is_an_error_at_its_value_with_the_known_ones()
    {
        var error = ConfigText.Error(With("""
            [policies.h]
            type = "headers"
            request = { set = { "x-user" = "{consumr}" } }
            """));

        Assert.Equal("proxy.toml:10:32: policies.h.request.set.x-user: unknown variable {consumr} (did you mean {consumer}? known: "
            + "{client_ip}, {consumer}, {request_id}, {claim.NAME}, {header.NAME})", error);
    }

    [Theory]
    [InlineData("\"a{client_ip\"", "unclosed '{' at character 2 (a literal '{' is written '{{')")]
    [InlineData("\"{header.x y}\"", "{header.x y}: \"x y\" is not a header name (letters, digits and !#$%&'*+-.^_`|~)")]
    [InlineData("\"{claim.}\"", "{claim.}: a claim name is one or more visible ASCII characters, e.g. {claim.sub}")]
    [InlineData("\"a\\r\\nx-evil: 1\"", "must not contain a carriage return (CR)")]
    [InlineData("\"caf\u00e9\"", "must be ASCII")]
    [InlineData("1", "expected a string, got an integer")]
    public void A_bad_value_is_reported_at_the_value(string value, string message)
    {
        var error = ConfigText.Error(With($"""
            [policies.h]
            type = "headers"
            response = {"{"} add = {"{"} "x-a" = {value} {"}"} {"}"}
            """));

        Assert.Equal($"proxy.toml:10:30: policies.h.response.add.x-a: {message}", error);
    }

    [Theory]
    [InlineData("request", "Connection", "Connection is hop-by-hop (RFC 9110 7.6.1): it is never forwarded, so a policy cannot edit it")]
    [InlineData("response", "proxy-authenticate", "proxy-authenticate is hop-by-hop (RFC 9110 7.6.1): it is never forwarded, so a policy cannot edit it")]
    [InlineData("request", "Transfer_Encoding", "Transfer_Encoding frames the message: the proxy writes it")]
    [InlineData("response", "content-length", "content-length frames the message: the proxy writes it")]
    [InlineData("request", "X-Forwarded-For", "X-Forwarded-For is written by the proxy ([client_ip])")]
    [InlineData("request", "x-consumer-groups", "x-consumer-groups is set by authentication policies only (a client's is always removed)")]
    [InlineData("request", "host", "host is the route's to decide: the upstream receives the client's Host")]
    [InlineData("response", "Date", "date is the proxy's: the server's Date passes, or the proxy adds one")]
    [InlineData("request", "x y", "invalid header name \"x y\": expected letters, digits and !#$%&'*+-.^_`|~")]
    public void A_name_the_proxy_owns_or_not_a_token_is_refused_at_the_key(string side, string name, string message)
    {
        var error = ConfigText.Error(With($"""
            [policies.h]
            type = "headers"

            [policies.h.{side}.set]
            "{name}" = "v"
            """));

        // Key paths quote a name that is not a bare TOML key.
        var key = name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_') ? name : $"\"{name}\"";
        Assert.Equal($"proxy.toml:12:1: policies.h.{side}.set.{key}: {message}", error);
    }

    [Fact]
    public void Hop_by_hop_names_are_refused_in_remove_and_rename_too()
    {
        var errors = ConfigText.Errors(With("""
            [policies.h]
            type = "headers"
            request = { remove = ["x-a", "upgrade"], rename = { "te" = "x-te", "x-b" = "keep-alive" } }
            """));

        Assert.Equal([
            "proxy.toml:10:30: policies.h.request.remove[1]: upgrade is hop-by-hop (RFC 9110 7.6.1): it is never forwarded, so a policy cannot edit it",
            "proxy.toml:10:53: policies.h.request.rename.te: te is hop-by-hop (RFC 9110 7.6.1): it is never forwarded, so a policy cannot edit it",
            "proxy.toml:10:76: policies.h.request.rename.x-b: keep-alive is hop-by-hop (RFC 9110 7.6.1): it is never forwarded, so a policy cannot edit it",
        ], errors);
    }

    [Fact]
    public void Set_and_remove_of_the_same_name_is_refused_whatever_the_case()
    {
        var error = ConfigText.Error(With("""
            [policies.h]
            type = "headers"
            response = { set = { "X-Powered-By" = "us" }, remove = ["x-powered-by"] }
            """));

        Assert.Equal("proxy.toml:10:57: policies.h.response.remove[0]: \"X-Powered-By\" is both set and removed: set already replaces it, remove drops it; keep one", error);
    }

    [Fact]
    public void A_name_given_twice_in_one_table_is_refused()
    {
        var error = ConfigText.Error(With("""
            [policies.h]
            type = "headers"

            [policies.h.request.add]
            "X-A" = "1"
            "x-a" = "2"
            """));

        Assert.Equal("proxy.toml:13:1: policies.h.request.add.x-a: header \"x-a\" given twice (names are case-insensitive)", error);
    }

    [Fact]
    public void An_unknown_key_in_a_side_is_refused_with_a_suggestion()
    {
        var error = ConfigText.Error(With("""
            [policies.h]
            type = "headers"
            request = { remvoe = ["x-a"] }
            """));

        Assert.Equal("proxy.toml:10:13: policies.h.request.remvoe: unknown key (did you mean \"remove\"?)", error);
    }

    [Fact]
    public void A_policy_with_no_edits_loads_with_a_warning()
    {
        var result = ConfigText.Parse(With("""
            [policies.h]
            type = "headers"
            """));

        Assert.True(result.Success, string.Join("\n", result.Errors));
        Assert.Contains(result.Warnings, w => w.ToString().Contains("this headers policy changes nothing", StringComparison.Ordinal));
    }
}
