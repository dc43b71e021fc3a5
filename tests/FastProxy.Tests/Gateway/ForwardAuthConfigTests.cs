using FastProxy.Configuration;
using FastProxy.Tests.Configuration;

namespace FastProxy.Tests.Gateway;

/// <summary>[policies.NAME] type = "forward_auth" as `fastproxy check` sees it: defaults, and file:line:col errors naming the key.</summary>
public sealed class ForwardAuthConfigTests
{
    private static string Policy(string keys) => $"""
        {ConfigText.Minimal}

        [policies.auth]
        type = "forward_auth"
        {keys}
        """;

    private static ForwardAuthOptions Options(string keys) =>
        Assert.IsType<ForwardAuthOptions>(Assert.Single(ConfigText.Load(Policy(keys)).Policies).Options);

    [Fact]
    public void Defaults()
    {
        var options = Options("""url = "http://127.0.0.1:9000/verify" """);

        Assert.Equal(new Uri("http://127.0.0.1:9000/verify"), options.Url);
        Assert.Equal(TimeSpan.FromSeconds(2), options.Timeout);
        Assert.Equal(["authorization", "cookie", "accept"], options.RequestHeaders);
        Assert.Empty(options.CopyHeaders);
        Assert.Empty(options.CopyResponseHeaders);
        Assert.Null(options.ConsumerHeader);
    }

    [Fact]
    public void Every_key()
    {
        var options = Options("""
            url = "https://auth.internal/oauth2/auth?x=1"
            timeout = "750ms"
            request_headers = ["Authorization", "X-Api-Token"]
            copy_headers = ["X-Auth-Request-User", "x-auth-request-email"]
            copy_response_headers = ["Set-Cookie"]
            consumer_header = "X-Auth-Request-User"
            """);

        Assert.Equal("https://auth.internal/oauth2/auth?x=1", options.Url.ToString());
        Assert.Equal(TimeSpan.FromMilliseconds(750), options.Timeout);
        Assert.Equal(["authorization", "x-api-token"], options.RequestHeaders);
        Assert.Equal(["x-auth-request-user", "x-auth-request-email"], options.CopyHeaders);
        Assert.Equal(["set-cookie"], options.CopyResponseHeaders);
        Assert.Equal("x-auth-request-user", options.ConsumerHeader);
    }

    [Fact]
    public void An_empty_request_headers_sends_only_the_forwarded_set() =>
        Assert.Empty(Options("""
            url = "http://a/"
            request_headers = []
            """).RequestHeaders);

    [Theory]
    [InlineData("", "proxy.toml:8:1: policies.auth: missing required key \"url\"")]
    [InlineData("url = \"auth.internal:9000\"", "proxy.toml:10:7: policies.auth.url: expected an absolute http:// or https:// URL, e.g. \"http://127.0.0.1:9000/verify\", got \"auth.internal:9000\"")]
    [InlineData("url = \"ftp://a/\"", "proxy.toml:10:7: policies.auth.url: expected an absolute http:// or https:// URL, e.g. \"http://127.0.0.1:9000/verify\", got \"ftp://a/\"")]
    [InlineData("url = \"http://u:p@a/\"", "proxy.toml:10:7: policies.auth.url: must not carry user:password@ (credentials in a URL are not sent)")]
    [InlineData("url = \"http://a/#x\"", "proxy.toml:10:7: policies.auth.url: must not carry a #fragment (never sent)")]
    [InlineData("url = \"http://a/\"\ntimeout = \"0s\"", "proxy.toml:11:11: policies.auth.timeout: must be greater than 0")]
    [InlineData("url = \"http://a/\"\nrequest_headers = [\"Content-Length\"]", "proxy.toml:11:20: policies.auth.request_headers[0]: content-length belongs to the auth request's own framing, not the client's")]
    [InlineData("url = \"http://a/\"\nrequest_headers = [\"X-Forwarded-Uri\"]", "proxy.toml:11:20: policies.auth.request_headers[0]: x-forwarded-uri is always sent, computed by the proxy (a client's own is never passed on)")]
    [InlineData("url = \"http://a/\"\nrequest_headers = [\"x-consumer\"]", "proxy.toml:11:20: policies.auth.request_headers[0]: x-consumer is never taken from a client")]
    [InlineData("url = \"http://a/\"\nrequest_headers = \"cookie\"", "proxy.toml:11:19: policies.auth.request_headers: expected an array of strings (write [\"cookie\"]), got a string")]
    [InlineData("url = \"http://a/\"\ncopy_headers = [\"X-User\", \"x-user\"]", "proxy.toml:11:27: policies.auth.copy_headers[1]: header \"x-user\" listed twice (names are case-insensitive)")]
    [InlineData("url = \"http://a/\"\ncopy_headers = [\"x-consumer-groups\"]", "proxy.toml:11:17: policies.auth.copy_headers[0]: x-consumer-groups is set by the proxy from the consumer (see consumer_header)")]
    [InlineData("url = \"http://a/\"\ncopy_headers = [\"Transfer-Encoding\"]", "proxy.toml:11:17: policies.auth.copy_headers[0]: transfer-encoding belongs to each message's own framing and cannot be copied")]
    [InlineData("url = \"http://a/\"\ncopy_headers = [\"bad name\"]", "proxy.toml:11:17: policies.auth.copy_headers[0]: invalid header name \"bad name\": expected letters, digits and !#$%&'*+-.^_`|~")]
    [InlineData("url = \"http://a/\"\ncopy_response_headers = [\"content-length\"]", "proxy.toml:11:26: policies.auth.copy_response_headers[0]: content-length is written by the proxy for the client's response")]
    [InlineData("url = \"http://a/\"\nconsumer_header = \"a b\"", "proxy.toml:11:19: policies.auth.consumer_header: invalid header name \"a b\": expected letters, digits and !#$%&'*+-.^_`|~")]
    [InlineData("url = \"http://a/\"\ncopy_header = []", "proxy.toml:11:1: policies.auth.copy_header: unknown key (did you mean \"copy_headers\"?)")]
    public void Errors_name_the_place_and_the_key(string keys, string error) => Assert.Equal(error, ConfigText.Error(Policy(keys)));
}
