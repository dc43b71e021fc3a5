using System.Text;
using System.Text.RegularExpressions;
using FastProxy.Configuration;
using FastProxy.Configuration.Validation;
using FastProxy.Policies.Types.Rewrite;
using FastProxy.Tests.Configuration;
using Xunit.Abstractions;

namespace FastProxy.Tests.Gateway;

/// <summary>
/// rewrite with one capture group between two literals (<see cref="CaptureSplice"/>): which patterns take the
/// allocation-free splice, the same result as Regex.Replace for random paths (differential, bounded), and no bytes
/// allocated per rewrite where Regex.Replace allocates.
/// </summary>
public sealed class RewriteSpliceTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("^/api/(.*)$", "/v2/$1", true)]
    [InlineData("^/api/(?<rest>.*)", "/v2/${rest}", true)]
    [InlineData("/old/(.+)", "/new/${1}/$0", true)]
    [InlineData("^/v1/([^/)]+)/orders$", "/orders/$1", true)]
    [InlineData("^/a\\.b/(x|y)\\-z$", "/$1$$", true)]
    [InlineData("^/(a)(b)$", "/$2$1", false)]
    [InlineData("^/api/(.*)?$", "/$1", false)]
    [InlineData("^/apis?/(.*)$", "/$1", false)]
    [InlineData("^/(?:api)/(.*)$", "/$1", false)]
    [InlineData("^/(?i)api/(.*)$", "/$1", false)]
    [InlineData("^\\d/(.*)$", "/$1", false)]
    [InlineData("^/(?<=/)(.*)$", "/$1", false)]
    [InlineData("^/x/(.*)/y|z", "/$1", false)]
    public void The_one_group_shape_is_recognised_and_nothing_else(string pattern, string replacement, bool spliced)
    {
        var regex = PathRegex.Compile(pattern, out var problem)!;
        Assert.Null(problem);
        Assert.Equal(spliced, CaptureSplice.TryCreate(regex, replacement) is not null);
    }

    public static TheoryData<string, string> Shapes => new()
    {
        { "^/api/(.*)$", "/v2/$1" },
        { "^/api/(?<rest>.*)", "/v2/${rest}/x" },
        { "/old/(.+)", "/new/${1}/$0" },
        { "a(b*)c", "[$1]" },
        { "(x?)", "<$1$0>" },
        { "^/(.*)$", "/$1" },
        { "/([^/]*)/", "/$$$1/" },
        { "^/v1/([^/]+)/orders$", "/orders/$1" },
        { "%2(F|f)", "_$1_" },
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Two_thousand_random_paths_rewrite_exactly_as_Regex_Replace_does(string pattern, string replacement)
    {
        var regex = PathRegex.Compile(pattern, out _)!;
        var splice = CaptureSplice.TryCreate(regex, replacement);
        Assert.NotNull(splice);
        var random = new Random(pattern.Length * 31 + replacement.Length);
        string[] pieces = ["/", "api", "/api/", "old", "/old/", "v1", "orders", "a", "b", "c", "x", "%2F", "%2f", "é", "..", "$1", "//", ""];
        for (int i = 0; i < 2000; i++)
        {
            var text = new StringBuilder("/");
            int count = random.Next(0, 10);
            for (int p = 0; p < count; p++) text.Append(pieces[random.Next(pieces.Length)]);
            byte[] path = Encoding.Latin1.GetBytes(text.ToString());
            string chars = Encoding.Latin1.GetString(path);
            string expected = regex.Replace(chars, replacement);

            int matches = regex.Count(chars);
            var result = new byte[splice.Bound(path.Length, matches)];
            int length = splice.Splice(chars, path, result);

            Assert.True(expected == Encoding.Latin1.GetString(result, 0, length), $"{pattern} on {chars}: {expected} vs {Encoding.Latin1.GetString(result, 0, length)}");
        }
    }

    private static RewritePolicy Policy(string pattern, string replacement)
    {
        var config = ConfigText.Load(ConfigText.Minimal + $"\n\n[policies.f]\ntype = \"rewrite\"\npattern = '{pattern}'\nreplacement = '{replacement}'\n");
        return new RewritePolicy("splice", Assert.IsType<RewriteOptions>(Assert.Single(config.Policies).Options));
    }

    /// <summary>Bytes allocated on this thread by 200 rewrites of the same request (each one matches).</summary>
    private static async Task<long> AllocatedPerRewriteAsync(string pattern, string replacement)
    {
        var policy = Policy(pattern, replacement);
        var context = TargetEditTests.Context("/api/users/42");
        for (int i = 0; i < 20; i++) Assert.Null(await policy.OnRequestAsync(context));
        Assert.Equal("/api/users/42", Encoding.Latin1.GetString(context.CurrentPath));
        long best = long.MaxValue;
        for (int round = 0; round < 3; round++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 200; i++)
            {
                var pending = policy.OnRequestAsync(context);
                Assert.True(pending.IsCompletedSuccessfully && pending.Result is null);
            }
            best = Math.Min(best, (GC.GetAllocatedBytesForCurrentThread() - before) / 200);
        }
        return best;
    }

    [Fact]
    public async Task A_one_group_rewrite_allocates_nothing_where_Regex_Replace_allocates()
    {
        // Both rewrite /api/users/42 to itself, so every call matches and sets the path.
        long spliced = await AllocatedPerRewriteAsync("^/api/(.*)$", "/api/$1");
        long replaced = await AllocatedPerRewriteAsync("^/(api)/(.*)$", "/$1/$2");

        output.WriteLine($"bytes per rewrite of /api/users/42: spliced {spliced}, Regex.Replace {replaced}");
        Assert.Equal(0, spliced);
        Assert.True(replaced > 0, $"Regex.Replace allocated {replaced} B per rewrite");
    }
}
