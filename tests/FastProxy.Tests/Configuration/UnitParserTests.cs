using FastProxy.Configuration.Reading;
using FastProxy.Configuration.Values;

namespace FastProxy.Tests.Configuration;

public class UnitParserTests
{
    [Theory]
    [InlineData("250ms", 250)]
    [InlineData("5s", 5_000)]
    [InlineData("2m", 120_000)]
    [InlineData("1h", 3_600_000)]
    [InlineData("1m30s", 90_000)]
    [InlineData("1h30m", 5_400_000)]
    [InlineData("2s500ms", 2_500)]
    [InlineData("0s", 0)]
    public void Durations_Accepted(string text, long milliseconds)
    {
        Assert.True(Durations.TryParse(text, out var value, out var problem), problem);
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), value);
    }

    [Theory]
    [InlineData("", "invalid duration \"\": expected")]
    [InlineData("30", "invalid duration \"30\" (did you mean \"30s\"?): expected")]
    [InlineData("5sec", "invalid duration \"5sec\" (did you mean \"5s\"?): expected")]
    [InlineData("5 s", "invalid duration \"5 s\" (did you mean \"5s\"?): expected")]
    [InlineData("1.5s", "invalid duration \"1.5s\": expected")]
    [InlineData("-1s", "invalid duration \"-1s\": expected")]
    [InlineData("1d", "invalid duration \"1d\": expected")]
    [InlineData("30s1m", "invalid duration \"30s1m\": combine units largest first and each once, e.g. \"1m30s\"")]
    [InlineData("1s1s", "invalid duration \"1s1s\": combine units largest first and each once, e.g. \"1m30s\"")]
    [InlineData("9999999999999h", "invalid duration \"9999999999999h\": too large")]
    public void Durations_Refused(string text, string start)
    {
        Assert.False(Durations.TryParse(text, out _, out var problem));
        Assert.StartsWith(start, problem);
    }

    [Theory]
    [InlineData("0", 0)]
    [InlineData("512B", 512)]
    [InlineData("16KiB", 16 * 1024)]
    [InlineData("10MiB", 10L * 1024 * 1024)]
    [InlineData("1GiB", 1L << 30)]
    [InlineData("2TiB", 2L << 40)]
    public void Sizes_Accepted(string text, long bytes)
    {
        Assert.True(Sizes.TryParse(text, out var value, out var problem), problem);
        Assert.Equal(bytes, value);
    }

    [Theory]
    [InlineData("10MB", "invalid size \"10MB\" (did you mean \"10MiB\"?): expected")]
    [InlineData("16k", "invalid size \"16k\" (did you mean \"16KiB\"?): expected")]
    [InlineData("512", "invalid size \"512\" (did you mean \"512B\"?): expected")]
    [InlineData("1.5MiB", "invalid size \"1.5MiB\": expected")]
    [InlineData("MiB", "invalid size \"MiB\": expected")]
    [InlineData("99999999999999GiB", "invalid size \"99999999999999GiB\": too large")]
    public void Sizes_Refused(string text, string start)
    {
        Assert.False(Sizes.TryParse(text, out _, out var problem));
        Assert.StartsWith(start, problem);
    }

    [Theory]
    [InlineData("nmae", "name")]
    [InlineData("upstream", "upstreams")]
    [InlineData("Max-Body", "max_body")]
    [InlineData("certificate", "cert")]
    [InlineData("zzz", null)]
    public void Suggestions_FindTheIntendedKey(string typo, string? expected)
    {
        Assert.Equal(expected, Suggestions.Closest(typo, ["name", "upstreams", "max_body", "cert", "key"]));
    }
}
