using System.Text;
using FastProxy.Configuration;
using FastProxy.Policies.Pipeline;
using FastProxy.Policies.Types.Rewrite;
using FastProxy.Tests.Configuration;
using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Gateway;

/// <summary>
/// Rewrite results that are no origin-form path are refused (500, counted) and never forwarded; a bounded fuzz of
/// hostile paths through the policy never crashes and never yields a target with CR, LF, NUL or a space.
/// </summary>
public sealed class RewriteRefusalTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_result_without_a_leading_slash_is_refused_with_500_and_counted(bool h2)
    {
        await using var upstream = new RawUpstream(_ => RawUpstream.Ok("ok"));
        var policy = $"refuse-{h2}";
        await using var proxy = TestProxy.Start(RewriteLoopbackTests.Config(upstream.Port, """
            pattern = "^/(.*)$"
            replacement = "$1"
            """).Replace("rw", policy));
        var counter = RejectionCounter.For(policy, "rewrite", "invalid_path");
        long before = counter.Count;

        var refused = await CurlAnswer.GetAsync(h2, $"http://127.0.0.1:{proxy.Port()}/relative");

        Assert.Equal(500, refused.Status);
        Assert.Equal(before + 1, counter.Count);
        Assert.Empty(upstream.Requests);
    }

    private static RewritePolicy Policy(string pattern, string replacement)
    {
        var config = ConfigText.Load(ConfigText.Minimal + $"\n\n[policies.f]\ntype = \"rewrite\"\npattern = '{pattern}'\nreplacement = '{replacement}'\n");
        return new RewritePolicy("fuzz", Assert.IsType<RewriteOptions>(Assert.Single(config.Policies).Options));
    }

    [Fact]
    public async Task Two_thousand_random_paths_never_crash_and_never_put_a_break_in_the_target()
    {
        var policies = new[] { Policy("^/(.*)/(.*)$", "/$2/$1"), Policy("a", "/"), Policy("^/x(.*)", "/y$1z") };
        var random = new Random(17);
        string[] pieces = ["/", "a", "x", "%0d%0a", "%0D%0A", "\r\n", "\n", " ", "#", "?", "é", "\u2028", "%", "..", "$1", "\0", "%00", "//"];
        int refused = 0, rewritten = 0;
        for (int i = 0; i < 2000; i++)
        {
            var path = new StringBuilder("/");
            int count = random.Next(1, 12);
            for (int p = 0; p < count; p++) path.Append(pieces[random.Next(pieces.Length)]);
            var bytes = Encoding.UTF8.GetBytes(path.ToString());
            var context = TargetEditTests.Context("/start");
            // The parser would refuse most of these; the policy must hold up whatever path an earlier policy set.
            if (!context.SetPath(bytes)) context.SetPath("/fallback"u8);
            foreach (var policy in policies)
            {
                var answer = await policy.OnRequestAsync(context);
                if (answer is not null)
                {
                    Assert.Equal(500, answer.Status);
                    refused++;
                    break;
                }
                rewritten++;
                var target = context.CurrentPath;
                Assert.True(target.Length > 0 && target[0] == (byte)'/');
                Assert.True(target.IndexOfAny("\r\n\0 #"u8) < 0, Encoding.Latin1.GetString(target));
            }
        }
        Assert.True(rewritten > 1000);
    }
}
