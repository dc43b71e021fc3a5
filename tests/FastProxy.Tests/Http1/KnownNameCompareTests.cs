using System.Text;
using FastProxy.Http1;

namespace FastProxy.Tests.Http1;

/// <summary>
/// HttpChars.EqualsLowercase (the known-name lookup's compare, eight bytes at a time) against Ascii.EqualsIgnoreCase
/// on every known name in many spellings, and on near misses: a letter may differ only in case, any other byte not at all.
/// </summary>
public sealed class KnownNameCompareTests
{
    private static readonly string[] Names =
    [
        "te", "host", "date", "expect", "upgrade", "trailer", "connection", "tracestate", "traceparent", "x-request-id",
        "keep-alive", "content-length", "x-forwarded-for", "x-forwarded-host", "transfer-encoding", "x-forwarded-proto",
        "proxy-", "x-consumer", "close", "a", "abc",
    ];

    [Fact]
    public void Agrees_with_the_runtime_case_insensitive_compare_on_names_and_near_misses()
    {
        var random = new Random(20);
        int checkedPairs = 0;
        foreach (var name in Names)
        {
            var lower = Encoding.ASCII.GetBytes(name);
            for (int round = 0; round < 200; round++)
            {
                var candidate = (byte[])lower.Clone();
                // Random case for every letter; in half the rounds one byte is also replaced by an arbitrary one
                // (including CR, '_', '\u00ad' and bytes one bit away from the original).
                for (int i = 0; i < candidate.Length; i++)
                    if (char.IsAsciiLetter((char)candidate[i]) && random.Next(2) == 0) candidate[i] ^= 0x20;
                if (round % 2 == 1)
                {
                    int at = random.Next(candidate.Length);
                    candidate[at] = (round % 6) switch
                    {
                        1 => (byte)(candidate[at] ^ (1 << random.Next(8))),
                        3 => (byte)"\r_-\u00ad "[random.Next(5)],
                        _ => (byte)random.Next(256),
                    };
                }
                Assert.Equal(System.Text.Ascii.EqualsIgnoreCase(candidate, lower), HttpChars.EqualsLowercase(candidate, lower));
                checkedPairs++;
            }
            Assert.False(HttpChars.EqualsLowercase(lower.AsSpan(0, lower.Length - 1), lower));
        }
        Assert.Equal(Names.Length * 200, checkedPairs);
    }

    [Theory]
    [InlineData("Content-Length", KnownHeader.ContentLength)]
    [InlineData("CONTENT-LENGTH", KnownHeader.ContentLength)]
    [InlineData("content\rlength", KnownHeader.None)]
    [InlineData("X-Request-ID", KnownHeader.RequestId)]
    [InlineData("Transfer-Encodinh", KnownHeader.None)]
    [InlineData("Proxy-Authorization", KnownHeader.Proxy)]
    [InlineData("X-Consumer-Groups", KnownHeader.Consumer)]
    [InlineData("TE", KnownHeader.TE)]
    public void Known_names_are_found_in_any_case_and_only_exactly(string name, KnownHeader expected)
    {
        Assert.Equal(expected, KnownHeaders.Lookup(Encoding.ASCII.GetBytes(name)));
    }
}
