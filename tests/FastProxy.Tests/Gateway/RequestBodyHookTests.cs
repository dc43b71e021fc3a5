using System.Buffers;
using System.Text;
using FastProxy.Policies.Pipeline;
using static FastProxy.Tests.Gateway.IpCorsTestKit;

namespace FastProxy.Tests.Gateway;

/// <summary>
/// The request-body seam of the pipeline (<see cref="IRequestBodyPolicy"/>) at chain level: body policies run in chain
/// order on the whole body, each sees the previous one's replacement, the first answer ends it, and the smallest cap
/// decides. (The forwarder's side, over real sockets, is in ValidateLoopbackTests.)
/// </summary>
public sealed class RequestBodyHookTests
{
    private sealed class Recorder(string name, long maxBody, Func<string, string?>? replace = null, bool refuse = false) : IPolicy, IRequestBodyPolicy
    {
        private static readonly RejectionCounter s_counter = RejectionCounter.For("hook-test", "test", "refused");
        public readonly List<string> Seen = [];
        public string Name => name;
        public long MaxBody => maxBody;
        public PolicyAnswer TooLargeAnswer { get; } = new(413, s_counter, body: name + " too large");

        public ValueTask<PolicyAnswer?> OnRequestAsync(PolicyContext context) => default;

        public PolicyAnswer? OnBody(PolicyContext context, ReadOnlySequence<byte> body)
        {
            var text = Encoding.UTF8.GetString(body.ToArray());
            Seen.Add(text);
            if (refuse) return new PolicyAnswer(400, s_counter, body: "no");
            if (replace?.Invoke(text) is { } replacement) context.ReplaceBody(Encoding.UTF8.GetBytes(replacement));
            return null;
        }

        public PolicyAnswer? OnTooLarge(PolicyContext context) => TooLargeAnswer;
    }

    private sealed class HeadOnly : IPolicy
    {
        public string Name => "head";
        public ValueTask<PolicyAnswer?> OnRequestAsync(PolicyContext context) => default;
    }

    [Fact]
    public void A_chain_without_body_policies_asks_for_no_body()
    {
        var chain = new PolicyChain([new HeadOnly()]);
        Assert.False(chain.HasBodyPolicies);
        Assert.Equal(0, chain.MaxBody);
    }

    [Fact]
    public void Each_body_policy_sees_the_body_the_previous_one_left_and_the_last_replacement_is_forwarded()
    {
        var first = new Recorder("a", 100, replace: t => t + "+a");
        var second = new Recorder("b", 50, replace: t => t + "+b");
        var third = new Recorder("c", 80);
        var chain = new PolicyChain([first, new HeadOnly(), second, third]);
        Assert.True(chain.HasBodyPolicies);
        Assert.Equal(50, chain.MaxBody);

        var context = Context("POST /x HTTP/1.1\nHost: h\nContent-Length: 4");
        Assert.Null(chain.RunBody(context, new ReadOnlySequence<byte>("body"u8.ToArray())));
        Assert.Equal(["body"], first.Seen);
        Assert.Equal(["body+a"], second.Seen);
        Assert.Equal(["body+a+b"], third.Seen);
        Assert.True(context.BodyReplaced);
        Assert.Equal("body+a+b", Encoding.UTF8.GetString(context.ReplacedBody.Span));

        // The next request on the same (pooled) context starts with the client's body again.
        Context("POST /x HTTP/1.1\nHost: h\nContent-Length: 4", reuse: context);
        Assert.False(context.BodyReplaced);
        Assert.True(context.ReplacedBody.IsEmpty);
    }

    [Fact]
    public void The_first_answer_ends_the_body_policies_and_the_smallest_cap_answers_a_body_too_large()
    {
        var small = new Recorder("small", 10, refuse: true);
        var after = new Recorder("after", 1000);
        var chain = new PolicyChain([after, small, new Recorder("later", 1000)]);
        var context = Context("POST /x HTTP/1.1\nHost: h\nContent-Length: 2");
        var answer = chain.RunBody(context, new ReadOnlySequence<byte>("{}"u8.ToArray()));
        Assert.Equal(400, answer?.Status);
        Assert.Equal(["{}"], after.Seen);
        Assert.Same(small.TooLargeAnswer, chain.TooLarge(context));
    }
}
