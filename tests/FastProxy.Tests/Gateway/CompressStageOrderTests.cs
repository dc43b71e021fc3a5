using System.Buffers;
using System.Text;
using FastProxy.Http1;
using FastProxy.Policies.Pipeline;

namespace FastProxy.Tests.Gateway;

/// <summary>
/// The streaming-stage seam (IResponseStreamPolicy) at unit level: observing stages run after every transforming
/// one whatever the order listed (the cache's capture sees what the client gets), a stage is made once per
/// connection's context and reused, flush and end reach every stage, and nothing transforms without a transformer.
/// </summary>
public sealed class CompressStageOrderTests
{
    private sealed class Upper : IPolicy, IResponseStreamPolicy
    {
        public int Made;
        public string Name => "upper";
        public bool ObservesOnly => false;
        public ValueTask<PolicyAnswer?> OnRequestAsync(PolicyContext context) => default;
        public ResponseStage CreateStage()
        {
            Made++;
            return new Stage();
        }

        private sealed class Stage : ResponseStage
        {
            private readonly List<byte> _held = [];
            public override bool Begin(PolicyContext context, ResponseView response, in ResponseBodyInfo info) => true;
            // Holds bytes until a flush: what a compressor does.
            public override void Write(ReadOnlySpan<byte> data, IBufferWriter<byte> output) => _held.AddRange(Encoding.ASCII.GetBytes(Encoding.ASCII.GetString(data).ToUpperInvariant()));
            public override void Flush(IBufferWriter<byte> output)
            {
                output.Write(_held.ToArray());
                _held.Clear();
            }
            public override void Complete(IBufferWriter<byte> output)
            {
                Flush(output);
                output.Write("!"u8);
            }
            public override void End(bool completed) => _held.Clear();
        }
    }

    private sealed class Capture : IPolicy, IResponseStreamPolicy
    {
        public readonly StringBuilder Seen = new();
        public bool? Completed;
        public string Name => "capture";
        public bool ObservesOnly => true;
        public ValueTask<PolicyAnswer?> OnRequestAsync(PolicyContext context) => default;
        public ResponseStage CreateStage() => new Stage(this);

        private sealed class Stage(Capture owner) : ResponseStage
        {
            public override bool Begin(PolicyContext context, ResponseView response, in ResponseBodyInfo info) => true;
            public override void Write(ReadOnlySpan<byte> data, IBufferWriter<byte> output) => owner.Seen.Append(Encoding.ASCII.GetString(data));
            public override void Flush(IBufferWriter<byte> output) => owner.Seen.Append('|');
            public override void Complete(IBufferWriter<byte> output) => owner.Seen.Append('$');
            public override void End(bool completed) => owner.Completed = completed;
        }
    }

    private static ResponseHead Head(out byte[] bytes)
    {
        bytes = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 6\r\n\r\n"u8.ToArray();
        var head = new ResponseHead();
        Assert.Equal(ParseStatus.Complete, ResponseParser.Parse(bytes, head, HeadLimits.Default));
        return head;
    }

    [Fact]
    public void Observers_see_what_the_transformers_wrote_whatever_the_order_listed()
    {
        var capture = new Capture();
        var upper = new Upper();
        var chain = new PolicyChain([capture, upper]); // the observer listed first
        var context = new PolicyContext();
        var head = Head(out var bytes);

        for (int response = 0; response < 2; response++)
        {
            capture.Seen.Clear();
            Assert.True(chain.BeginResponseStages(context, new ResponseView(head, bytes), new ResponseBodyInfo(6, false)));
            Assert.True(context.StagesTransform);
            Assert.Equal("", Encoding.ASCII.GetString(context.StageWrite("abc"u8)));   // held by the transformer
            Assert.Equal("ABC", Encoding.ASCII.GetString(context.StageFlush()));     // the upstream paused
            Assert.Equal("DEF!", Encoding.ASCII.GetString(context.StageWrite("def"u8).ToArray().Concat(context.StageComplete().ToArray()).ToArray()));
            context.EndStages(completed: true);

            Assert.Equal("ABC|DEF!$", capture.Seen.ToString());
            Assert.True(capture.Completed);
            Assert.False(context.HasActiveStages);
        }
        Assert.Equal(1, upper.Made); // one stage per connection's context, reused
        Assert.True(chain.HasResponseStages);
        Assert.True(chain.HasResponsePolicies);
    }

    [Fact]
    public void With_only_an_observer_the_bytes_pass_as_they_are()
    {
        var capture = new Capture();
        var chain = new PolicyChain([capture]);
        var context = new PolicyContext();
        var head = Head(out var bytes);

        Assert.True(chain.BeginResponseStages(context, new ResponseView(head, bytes), new ResponseBodyInfo(6, false)));
        Assert.False(context.StagesTransform);
        Assert.Equal("abc", Encoding.ASCII.GetString(context.StageWrite("abc"u8)));
        context.EndStages(completed: false);
        Assert.False(capture.Completed);
    }
}
