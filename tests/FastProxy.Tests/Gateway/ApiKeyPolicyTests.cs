using FastProxy.Policies.Pipeline;
using FastProxy.Policies.Types.ApiKey;
using FastProxy.Tests.Configuration;
using static FastProxy.Tests.Gateway.AuthnTestKit;

namespace FastProxy.Tests.Gateway;

/// <summary>The api_key policy on request heads parsed by the proxy's parser: which key is read, who it names, what is forwarded.</summary>
public sealed class ApiKeyPolicyTests
{
    private static string Config(string policy) => $$"""
        {{ConfigText.Minimal}}

        [consumers.alice]
        api_keys = ["sha256:{{AliceDigest}}"]
        groups = ["gold"]

        [consumers.bob]
        api_keys = ["sha256:{{BobDigest}}"]

        [policies.keys]
        type = "api_key"
        {{policy}}
        """;

    private static ApiKeyPolicy Build(string policy = "") => Policy<ApiKeyPolicy>(AuthnTestKit.Build(Config(policy)), "keys");

    [Fact]
    public void A_known_key_in_the_header_names_its_consumer_and_is_not_forwarded()
    {
        var policy = Build();
        var context = Request("GET /orders HTTP/1.1", "Host: api", "X-Api-Key: " + AliceKey, "Accept: */*");

        Assert.Null(Now(policy, context));

        Assert.Equal("alice", context.Consumer?.Name);
        Assert.Equal(["host", "accept"], ForwardedHeaderNames(context));
    }

    [Fact]
    public void A_key_seen_before_is_found_again_and_a_near_miss_after_it_is_still_refused()
    {
        // The second request with alice's key is answered from the verified-key cache; a key differing in its last
        // byte (same length, same slot more often than not) must not ride on it, nor must bob's key turn into alice.
        var policy = Build();
        for (int i = 0; i < 3; i++)
        {
            var context = Request("GET / HTTP/1.1", "Host: api", "x-api-key: " + AliceKey);
            Assert.Null(Now(policy, context));
            Assert.Equal("alice", context.Consumer?.Name);
        }
        var nearMiss = AliceKey[..^1] + (char)(AliceKey[^1] ^ 1);
        var refused = Now(policy, Request("GET / HTTP/1.1", "Host: api", "x-api-key: " + nearMiss));
        Assert.Equal("invalid", refused?.Counter.Reason);
        var bob = Request("GET / HTTP/1.1", "Host: api", "x-api-key: " + BobKey);
        Assert.Null(Now(policy, bob));
        Assert.Equal("bob", bob.Consumer?.Name);
    }

    [Fact]
    public void The_verified_key_cache_matches_whole_keys_only()
    {
        var alice = AuthnTestKit.Build(Config("")).Consumers.ByName("alice")!;
        var cache = new VerifiedKeyCache();
        var key = "k-0123456789abcdef"u8.ToArray();
        Assert.Null(cache.Find(key));

        cache.Remember(key, alice);

        Assert.Same(alice, cache.Find(key));
        Assert.Null(cache.Find(key.AsSpan(0, key.Length - 1)));      // a prefix
        Assert.Null(cache.Find([.. key, (byte)'x']));                  // a longer key
        var flipped = key.ToArray();
        flipped[^1] ^= 1;
        Assert.Null(cache.Find(flipped));
        var tooLong = new byte[VerifiedKeyCache.MaxKeyBytes + 1];
        cache.Remember(tooLong, alice);
        Assert.Null(cache.Find(tooLong));                              // never remembered
    }

    [Fact]
    public void Hide_false_forwards_the_header()
    {
        var context = Request("GET / HTTP/1.1", "Host: api", "x-api-key: " + BobKey);

        Assert.Null(Now(Build("hide = false"), context));

        Assert.Equal("bob", context.Consumer?.Name);
        Assert.Equal(["host", "x-api-key"], ForwardedHeaderNames(context));
    }

    [Fact]
    public void No_key_is_refused_with_a_challenge_that_says_where_the_key_goes()
    {
        var answer = Now(Build(), Request("GET / HTTP/1.1", "Host: api"));

        Assert.NotNull(answer);
        Assert.Equal(401, answer.Status);
        Assert.Equal("missing", answer.Counter.Reason);
        Assert.Contains("WWW-Authenticate: ApiKey realm=\"api\", header=\"x-api-key\"\r\n", Lines(answer));
    }

    [Fact]
    public void The_challenge_names_the_realm_and_the_query_parameter_when_configured()
    {
        var answer = Now(Build("realm = \"orders\"\nquery = \"api_key\""), Request("GET / HTTP/1.1", "Host: api"));

        Assert.Contains("WWW-Authenticate: ApiKey realm=\"orders\", header=\"x-api-key\", query=\"api_key\"\r\n", Lines(answer!));
    }

    [Theory]
    [InlineData("x-api-key: nobody-has-this-key")]
    [InlineData("x-api-key: alice-key ")] // trailing space is trimmed by the parser: still alice's key (control)
    [InlineData("x-api-key: Alice-key")]   // keys are compared exactly
    public void An_unknown_key_is_refused_as_invalid(string field)
    {
        var answer = Now(Build(), Request("GET / HTTP/1.1", "Host: api", field));

        if (field.EndsWith(' '))
        {
            Assert.Null(answer);
            return;
        }
        Assert.Equal(401, answer!.Status);
        Assert.Equal("invalid", answer.Counter.Reason);
    }

    [Fact]
    public void An_empty_key_field_counts_as_no_key()
    {
        var answer = Now(Build(), Request("GET / HTTP/1.1", "Host: api", "x-api-key:"));

        Assert.Equal("missing", answer!.Counter.Reason);
    }

    [Fact]
    public void Two_key_fields_are_refused_even_when_one_is_right()
    {
        // Which one would the upstream believe when hide = false? Refused rather than guessed.
        var answer = Now(Build(), Request("GET / HTTP/1.1", "Host: api", "x-api-key: " + AliceKey, "x-api-key: " + BobKey));

        Assert.Equal("invalid", answer!.Counter.Reason);
    }

    [Fact]
    public void A_query_key_is_read_only_when_query_is_named()
    {
        var without = Now(Build(), Request($"GET /?api_key={AliceKey} HTTP/1.1", "Host: api"));
        Assert.Equal("missing", without!.Counter.Reason);

        var context = Request($"GET /o?page=2&api_key={AliceKey}&sort=asc HTTP/1.1", "Host: api");
        Assert.Null(Now(Build("query = \"api_key\""), context));
        Assert.Equal("alice", context.Consumer?.Name);
        Assert.Equal("page=2&sort=asc", ForwardedQuery(context));
    }

    [Fact]
    public void A_query_key_is_removed_even_with_hide_false_and_when_the_header_carried_the_key()
    {
        var context = Request($"GET /o?api_key=whatever&x=1 HTTP/1.1", "Host: api", "x-api-key: " + BobKey);

        Assert.Null(Now(Build("query = \"api_key\"\nhide = false"), context));

        // The header wins over the query, and the query key goes anyway (it would end up in upstream logs).
        Assert.Equal("bob", context.Consumer?.Name);
        Assert.Equal("x=1", ForwardedQuery(context));
        Assert.Equal(["host", "x-api-key"], ForwardedHeaderNames(context));
    }

    [Fact]
    public void A_percent_encoded_query_key_is_decoded_before_hashing()
    {
        // "alice-key" with the '-' and the 'k' escaped.
        var context = Request("GET /?api_key=alice%2D%6bey HTTP/1.1", "Host: api");

        Assert.Null(Now(Build("query = \"api_key\""), context));
        Assert.Equal("alice", context.Consumer?.Name);
    }

    [Theory]
    [InlineData("alice%2")]
    [InlineData("alice%zz")]
    public void A_malformed_escape_in_a_query_key_is_invalid(string key)
    {
        var answer = Now(Build("query = \"api_key\""), Request($"GET /?api_key={key} HTTP/1.1", "Host: api"));

        Assert.Equal("invalid", answer!.Counter.Reason);
    }

    [Fact]
    public void Query_only_policy_ignores_the_header()
    {
        var answer = Now(Build("header = \"\"\nquery = \"key\""), Request("GET / HTTP/1.1", "Host: api", "x-api-key: " + AliceKey));

        Assert.Equal("missing", answer!.Counter.Reason);
        Assert.Contains("ApiKey realm=\"api\", query=\"key\"\r\n", Lines(answer));
    }

    [Fact]
    public void A_custom_header_name_matches_case_insensitively()
    {
        var context = Request("GET / HTTP/1.1", "Host: api", "Authorization-Key: " + AliceKey);

        Assert.Null(Now(Build("header = \"Authorization-Key\""), context));
        Assert.Equal(["host"], ForwardedHeaderNames(context));
    }

    [Fact]
    public void A_key_from_the_environment_works_like_a_digest()
    {
        Environment.SetEnvironmentVariable("FASTPROXY_TEST_CAROL_KEY", "carol-secret");
        try
        {
            var set = AuthnTestKit.Build($$"""
                {{ConfigText.Minimal}}
                [consumers.carol]
                api_keys = ["env:FASTPROXY_TEST_CAROL_KEY"]
                [policies.keys]
                type = "api_key"
                """);
            var context = Request("GET / HTTP/1.1", "Host: api", "x-api-key: carol-secret");

            Assert.Null(Now(Policy<ApiKeyPolicy>(set, "keys"), context));
            Assert.Equal("carol", context.Consumer?.Name);
        }
        finally
        {
            Environment.SetEnvironmentVariable("FASTPROXY_TEST_CAROL_KEY", null);
        }
    }

    [Fact]
    public void Checking_a_key_allocates_nothing()
    {
        var policy = Build("query = \"api_key\"");
        var heads = new[]
        {
            System.Text.Encoding.ASCII.GetBytes($"GET / HTTP/1.1\r\nHost: api\r\nx-api-key: {AliceKey}\r\n\r\n"),
            System.Text.Encoding.ASCII.GetBytes($"GET /?api_key=bob%2Dkey HTTP/1.1\r\nHost: api\r\n\r\n"),
            System.Text.Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\nHost: api\r\nx-api-key: wrong\r\n\r\n"),
        };
        // One parsed head and one context per head, reused as a connection reuses them.
        var contexts = heads.Select(h => Request(h)).ToArray();
        for (int i = 0; i < 3; i++) Run();

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++) Run();
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(0, allocated);

        void Run()
        {
            for (int j = 0; j < heads.Length; j++)
            {
                contexts[j].Begin(contexts[j].Request, heads[j], contexts[j].Client, "127.0.0.1"u8, "api", false);
                var answer = policy.OnRequestAsync(contexts[j]).Result;
                Assert.True(j == 2 ? answer is not null : answer is null);
            }
        }
    }

    [Theory]
    [InlineData("abc", "abc")]
    [InlineData("a%41b", "aAb")]
    [InlineData("a+b", "a+b")]
    [InlineData("%7e", "~")]
    public void Percent_decoding(string encoded, string decoded)
    {
        var buffer = new byte[16];
        int n = ApiKeyPolicy.PercentDecode(System.Text.Encoding.ASCII.GetBytes(encoded), buffer);
        Assert.Equal(decoded, Text(buffer.AsSpan(0, n)));
    }
}
