using System.Text;
using FastProxy.Observability.Tracing;

namespace FastProxy.Tests.Observability.Tracing;

/// <summary>The traceparent parser and writer against the cases of W3C Trace Context §3.2, the id generator and sampling bounds.</summary>
public sealed class TraceParentTests
{
    [Fact]
    public void A_valid_value_is_read_and_written_back_the_same()
    {
        var text = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"u8;
        Assert.True(TraceParent.TryParse(text, out var high, out var low, out var parent, out var flags));
        Assert.Equal(0x4bf92f3577b34da6UL, high);
        Assert.Equal(0xa3ce929d0e0e4736UL, low);
        Assert.Equal(0x00f067aa0ba902b7UL, parent);
        Assert.Equal(1, flags);
        var written = new byte[TraceParent.Length];
        TraceParent.Write(written, high, low, parent, flags);
        Assert.Equal(Encoding.ASCII.GetString(text), Encoding.ASCII.GetString(written));
    }

    [Fact]
    public void Hex_ids_match_the_runtime_formatting_for_every_digit_in_every_position()
    {
        // WriteHex's 16-digit path converts eight digits at a time (no table): each nibble value in each position,
        // the extremes, and a bounded set of pseudo-random values against ulong.ToString("x16").
        var values = new List<ulong> { 0, ulong.MaxValue, 0x0123456789abcdefUL, 0xfedcba9876543210UL, 0x8000000000000001UL };
        for (int position = 0; position < 16; position++)
            for (ulong nibble = 0; nibble < 16; nibble++) values.Add(nibble << (4 * position));
        var random = new Random(20);
        for (int i = 0; i < 2000; i++) values.Add((ulong)random.NextInt64() ^ ((ulong)random.Next() << 33));
        var written = new byte[16];
        foreach (var value in values)
        {
            FastProxy.Policies.Pipeline.RequestIds.WriteHex(written, value);
            Assert.Equal(value.ToString("x16"), Encoding.ASCII.GetString(written));
        }
        var two = new byte[2];
        FastProxy.Policies.Pipeline.RequestIds.WriteHex(two, 0xab);
        Assert.Equal("ab", Encoding.ASCII.GetString(two));
    }

    [Theory]
    [InlineData("")]
    [InlineData("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0")]
    [InlineData("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-")]
    [InlineData("00-4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7-01")]
    [InlineData("00-4bf92f3577b34da6a3ce929d0e0e473G-00f067aa0ba902b7-01")]
    [InlineData("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01")]
    [InlineData("00-00000000000000000000000000000000-00f067aa0ba902b7-01")]
    [InlineData("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01")]
    [InlineData("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")]
    [InlineData("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x")]
    public void Invalid_values_are_refused(string value)
    {
        Assert.False(TraceParent.TryParse(Encoding.ASCII.GetBytes(value), out _, out _, out _, out _));
    }

    [Theory]
    [InlineData("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")]
    [InlineData("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future-holds")]
    public void A_later_version_is_read_as_version_00(string value)
    {
        Assert.True(TraceParent.TryParse(Encoding.ASCII.GetBytes(value), out var high, out _, out var parent, out _));
        Assert.Equal(0x4bf92f3577b34da6UL, high);
        Assert.Equal(0x00f067aa0ba902b7UL, parent);
    }

    [Fact]
    public void Random_ids_are_not_zero_and_do_not_repeat()
    {
        var seen = new HashSet<ulong>();
        for (int i = 0; i < 10_000; i++) Assert.True(seen.Add(FastRandom.NextNonZero()));
    }

    [Fact]
    public void Sampling_ratio_bounds()
    {
        var none = new Tracer(0);
        var all = new Tracer(1);
        var tenth = new Tracer(0.1);
        int sampled = 0;
        for (int i = 0; i < 100_000; i++)
        {
            ulong id = FastRandom.Next();
            Assert.False(none.Samples(id));
            Assert.True(all.Samples(id));
            if (tenth.Samples(id)) sampled++;
        }
        // 10 % of 100,000 random ids: 10,000 with a standard deviation of ~95; 9,000..11,000 is over 10 sigma.
        Assert.InRange(sampled, 9_000, 11_000);
    }
}
