using System.Text;
using FastProxy.Tests.Gateway;
using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Caching;

/// <summary>
/// The cache end to end: curl over HTTP/1.1 and h2c (prior knowledge) through a real proxy to an origin that counts
/// its requests and answers with scripted Cache-Control, ETag and Vary.
/// </summary>
public sealed class CacheLoopbackTests
{
    internal static string Config(int upstreamPort, string keys = "", string name = "c") => $$"""
        [[listeners]]
        name = "web"
        bind = "127.0.0.1:0"

        [[routes]]
        name = "app"
        upstream = "app"
        policies = ["{{name}}"]

        [upstreams.app]
        servers = ["127.0.0.1:{{upstreamPort}}"]

        [policies.{{name}}]
        type = "cache"
        {{keys}}
        """;

    internal static byte[] Answer(string body, string headers, int status = 200)
        => Encoding.ASCII.GetBytes($"HTTP/1.1 {status} S\r\nContent-Length: {Encoding.UTF8.GetByteCount(body)}\r\nContent-Type: text/plain\r\n{headers}\r\n{body}");

    internal static Task<(string Status, List<(string Name, string Value)> Headers, byte[] Body)> Curl(TestProxy proxy, bool h2, string path, params string[] extra)
        => JsonBodyLoopbackTests.CurlAsync(proxy, h2, path, extra);

    internal static string? One(List<(string Name, string Value)> headers, string name) => JsonBodyLoopbackTests.Values(headers, name).SingleOrDefault();

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_fresh_entry_answers_without_reaching_the_origin(bool h2)
    {
        int n = 0;
        await using var origin = new RawUpstream(_ => Answer($"v{Interlocked.Increment(ref n)}", "Cache-Control: max-age=60\r\nETag: \"a\"\r\n"));
        await using var proxy = TestProxy.Start(Config(origin.Port));

        var first = await Curl(proxy, h2, "/doc?x=1");
        var second = await Curl(proxy, h2, "/doc?x=1");
        var other = await Curl(proxy, h2, "/doc?x=2");

        Assert.Equal("v1", Encoding.UTF8.GetString(first.Body));
        Assert.Equal("MISS", One(first.Headers, "x-cache"));
        Assert.Equal("v1", Encoding.UTF8.GetString(second.Body));
        Assert.Equal("HIT", One(second.Headers, "x-cache"));
        Assert.NotNull(One(second.Headers, "age"));
        Assert.Equal("\"a\"", One(second.Headers, "etag"));
        Assert.Equal("max-age=60", One(second.Headers, "cache-control"));
        Assert.Equal("2", One(second.Headers, "content-length"));
        Assert.Single(JsonBodyLoopbackTests.Values(second.Headers, "date"));
        Assert.Equal("v2", Encoding.UTF8.GetString(other.Body)); // the query is part of the key
        Assert.Equal(2, origin.Requests.Count);
    }

    [Fact]
    public async Task Age_grows_while_the_entry_is_held()
    {
        await using var origin = new RawUpstream(_ => Answer("x", "Cache-Control: max-age=600\r\nAge: 5\r\n"));
        await using var proxy = TestProxy.Start(Config(origin.Port));

        await Curl(proxy, false, "/a");
        var early = await Curl(proxy, false, "/a");
        await Task.Delay(2100);
        var later = await Curl(proxy, false, "/a");

        long before = long.Parse(One(early.Headers, "age")!);
        long after = long.Parse(One(later.Headers, "age")!);
        Assert.True(before >= 5, $"the origin's Age counts: {before}");
        Assert.True(after >= before + 2, $"age {before} then {after}");
        Assert.Single(origin.Requests);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Head_is_answered_from_the_get_entry_and_a_matching_if_none_match_gets_304(bool h2)
    {
        await using var origin = new RawUpstream(_ => Answer("hello", "Cache-Control: max-age=60\r\nETag: \"v7\"\r\nLast-Modified: Sun, 06 Nov 1994 08:49:37 GMT\r\n"));
        await using var proxy = TestProxy.Start(Config(origin.Port));

        await Curl(proxy, h2, "/h");
        var head = await Curl(proxy, h2, "/h", "-I");
        var conditional = await Curl(proxy, h2, "/h", "-H", "If-None-Match: \"x\", W/\"v7\"");
        var since = await Curl(proxy, h2, "/h", "-H", "If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT");
        var changed = await Curl(proxy, h2, "/h", "-H", "If-None-Match: \"other\"");

        Assert.Contains("200", head.Status);
        Assert.Equal("HIT", One(head.Headers, "x-cache"));
        Assert.Equal("5", One(head.Headers, "content-length"));
        Assert.DoesNotContain("hello", Encoding.UTF8.GetString(head.Body)); // (curl -I writes the head where the body would go)
        Assert.Contains("304", conditional.Status);
        Assert.Equal("\"v7\"", One(conditional.Headers, "etag"));
        Assert.Empty(conditional.Body);
        Assert.Contains("304", since.Status);
        Assert.Equal("hello", Encoding.UTF8.GetString(changed.Body));
        Assert.Single(origin.Requests);
    }

    [Theory]
    [InlineData("Cache-Control: no-store\r\n")]
    [InlineData("Cache-Control: private, max-age=60\r\n")]
    [InlineData("Cache-Control: max-age=60\r\nSet-Cookie: s=1\r\n")]
    [InlineData("Cache-Control: max-age=60\r\nVary: *\r\n")]
    [InlineData("")] // nothing says how long: heuristics are off
    [InlineData("Cache-Control: max-age=0\r\n")] // no validator: never usable
    public async Task What_the_response_forbids_or_does_not_allow_is_never_stored(string headers)
    {
        await using var origin = new RawUpstream(_ => Answer("x", headers));
        await using var proxy = TestProxy.Start(Config(origin.Port));

        await Curl(proxy, false, "/p");
        var second = await Curl(proxy, true, "/p");

        Assert.Equal("MISS", One(second.Headers, "x-cache"));
        Assert.Equal(2, origin.Requests.Count);
    }

    [Fact]
    public async Task Default_ttl_stores_a_response_that_names_no_freshness()
    {
        await using var origin = new RawUpstream(_ => Answer("x", ""));
        await using var proxy = TestProxy.Start(Config(origin.Port, "default_ttl = \"60s\""));

        await Curl(proxy, false, "/p");
        var second = await Curl(proxy, false, "/p");

        Assert.Equal("HIT", One(second.Headers, "x-cache"));
        Assert.Single(origin.Requests);
    }

    [Fact]
    public async Task Authorization_requests_are_stored_only_when_the_response_says_public()
    {
        await using var origin = new RawUpstream(r => Answer("for " + r.Header("authorization"),
            r.RequestLine.Contains("/public") ? "Cache-Control: public, max-age=60\r\n" : "Cache-Control: max-age=60\r\n"));
        await using var proxy = TestProxy.Start(Config(origin.Port));

        await Curl(proxy, false, "/mine", "-H", "Authorization: Bearer alice");
        var bob = await Curl(proxy, false, "/mine", "-H", "Authorization: Bearer bob");
        var anonymous = await Curl(proxy, false, "/mine");
        await Curl(proxy, false, "/public", "-H", "Authorization: Bearer alice");
        var shared = await Curl(proxy, false, "/public", "-H", "Authorization: Bearer bob");

        Assert.Equal("for Bearer bob", Encoding.UTF8.GetString(bob.Body));
        Assert.Equal("MISS", One(bob.Headers, "x-cache"));
        Assert.Equal("MISS", One(anonymous.Headers, "x-cache")); // an authorized response never goes to others
        Assert.Equal("HIT", One(shared.Headers, "x-cache"));
        Assert.Equal(4, origin.Requests.Count);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Vary_accept_encoding_keeps_gzip_from_clients_that_did_not_ask(bool h2)
    {
        await using var origin = new RawUpstream(r => (r.Header("accept-encoding") ?? "").Contains("gzip")
            ? Answer("GZ", "Cache-Control: max-age=60\r\nContent-Encoding: gzip\r\nVary: Accept-Encoding\r\n")
            : Answer("plain", "Cache-Control: max-age=60\r\nVary: Accept-Encoding\r\n"));
        await using var proxy = TestProxy.Start(Config(origin.Port));

        var gz = await Curl(proxy, h2, "/v", "-H", "Accept-Encoding: gzip");
        var plain = await Curl(proxy, h2, "/v", "-H", "Accept-Encoding: identity");
        var gzAgain = await Curl(proxy, h2, "/v", "-H", "Accept-Encoding: gzip;q=1.0");
        var plainAgain = await Curl(proxy, h2, "/v");

        Assert.Equal("GZ", Encoding.UTF8.GetString(gz.Body));
        Assert.Equal("plain", Encoding.UTF8.GetString(plain.Body));
        Assert.Equal("MISS", One(plain.Headers, "x-cache"));
        Assert.Equal(("HIT", "GZ"), (One(gzAgain.Headers, "x-cache"), Encoding.UTF8.GetString(gzAgain.Body)));
        Assert.Equal(("HIT", "plain"), (One(plainAgain.Headers, "x-cache"), Encoding.UTF8.GetString(plainAgain.Body)));
        Assert.Equal(2, origin.Requests.Count);
    }

    [Fact]
    public async Task An_encoded_response_without_vary_still_never_reaches_a_client_that_did_not_ask()
    {
        await using var origin = new RawUpstream(r => (r.Header("accept-encoding") ?? "").Contains("gzip")
            ? Answer("GZ", "Cache-Control: max-age=60\r\nContent-Encoding: gzip\r\n")
            : Answer("plain", "Cache-Control: max-age=60\r\n"));
        await using var proxy = TestProxy.Start(Config(origin.Port));

        await Curl(proxy, false, "/v", "-H", "Accept-Encoding: gzip");
        var plain = await Curl(proxy, false, "/v");

        Assert.Equal("plain", Encoding.UTF8.GetString(plain.Body));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_successful_post_invalidates_the_url_and_its_location(bool h2)
    {
        int n = 0;
        await using var origin = new RawUpstream(r => r.RequestLine.StartsWith("POST")
            ? Answer("created", "Location: /items/2\r\n", 201)
            : Answer($"v{Interlocked.Increment(ref n)}", "Cache-Control: max-age=60\r\n"));
        await using var proxy = TestProxy.Start(Config(origin.Port));

        await Curl(proxy, h2, "/items");
        await Curl(proxy, h2, "/items/2");
        var post = await Curl(proxy, h2, "/items", "-X", "POST", "--data", "x");
        var list = await Curl(proxy, h2, "/items");
        var item = await Curl(proxy, h2, "/items/2");

        Assert.Equal("BYPASS", One(post.Headers, "x-cache"));
        Assert.Equal("MISS", One(list.Headers, "x-cache"));
        Assert.Equal("MISS", One(item.Headers, "x-cache"));
        Assert.Equal(5, origin.Requests.Count);
    }

    [Fact]
    public async Task A_failed_post_leaves_the_entry()
    {
        await using var origin = new RawUpstream(r => r.RequestLine.StartsWith("POST")
            ? Answer("no", "", 409)
            : Answer("v", "Cache-Control: max-age=60\r\n"));
        await using var proxy = TestProxy.Start(Config(origin.Port));

        await Curl(proxy, false, "/items");
        await Curl(proxy, false, "/items", "-X", "POST", "--data", "x");
        var after = await Curl(proxy, false, "/items");

        Assert.Equal("HIT", One(after.Headers, "x-cache"));
    }

    [Fact]
    public async Task A_body_over_max_entry_size_streams_through_uncached()
    {
        var big = new string('b', 5000);
        await using var origin = new RawUpstream(_ => Answer(big, "Cache-Control: max-age=60\r\n"));
        await using var proxy = TestProxy.Start(Config(origin.Port, "max_entry_size = \"4KiB\""));

        var first = await Curl(proxy, false, "/big");
        var second = await Curl(proxy, true, "/big");

        Assert.Equal(5000, first.Body.Length);
        Assert.Equal(5000, second.Body.Length);
        Assert.Equal("MISS", One(second.Headers, "x-cache"));
        Assert.Equal(2, origin.Requests.Count);
    }

    [Fact]
    public async Task A_chunked_response_is_stored_and_served_with_a_content_length()
    {
        var chunked = Encoding.ASCII.GetBytes("HTTP/1.1 200 OK\r\nCache-Control: max-age=60\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n");
        await using var origin = new RawUpstream(_ => chunked);
        await using var proxy = TestProxy.Start(Config(origin.Port));

        await Curl(proxy, false, "/c");
        var hit = await Curl(proxy, false, "/c");

        Assert.Equal("abcdefg", Encoding.UTF8.GetString(hit.Body));
        Assert.Equal("HIT", One(hit.Headers, "x-cache"));
        Assert.Equal("7", One(hit.Headers, "content-length"));
        Assert.Empty(JsonBodyLoopbackTests.Values(hit.Headers, "transfer-encoding"));
        Assert.Single(origin.Requests);
    }

    [Fact]
    public async Task Requests_other_methods_and_ranges_bypass()
    {
        await using var origin = new RawUpstream(_ => Answer("0123456789", "Cache-Control: max-age=60\r\n"));
        await using var proxy = TestProxy.Start(Config(origin.Port));

        await Curl(proxy, false, "/r");
        var range = await Curl(proxy, false, "/r", "-H", "Range: bytes=0-1");
        var options = await Curl(proxy, false, "/r", "-X", "OPTIONS");

        Assert.Equal("BYPASS", One(range.Headers, "x-cache"));
        Assert.Equal("BYPASS", One(options.Headers, "x-cache"));
        Assert.Equal(3, origin.Requests.Count);
    }
}
