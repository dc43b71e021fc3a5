using System.Net;
using System.Text;
using FastProxy.Policies.ClientIdentity;

namespace FastProxy.Tests.Gateway;

/// <summary>The allocation-free address text (X-Forwarded-For, the access log) reads exactly as .NET's own formatting (RFC 5952).</summary>
public sealed class IpValueFormatTests
{
    [Theory]
    [InlineData("0.0.0.0")]
    [InlineData("203.0.113.7")]
    [InlineData("255.255.255.255")]
    [InlineData("::")]
    [InlineData("::1")]
    [InlineData("1::")]
    [InlineData("2001:db8::1")]
    [InlineData("2001:db8:0:1:1:1:1:1")]
    [InlineData("2001:0:0:1::1")]
    [InlineData("fe80::1:0:0:0")]
    [InlineData("1:2:3:4:5:6:7:8")]
    public void Formats_as_dotnet_does(string text)
    {
        var address = IPAddress.Parse(text);
        Assert.Equal(address.ToString(), Format(IpValue.From(address)));
    }

    [Fact]
    public void Random_addresses_format_and_parse_back()
    {
        var random = new Random(1234);
        var bytes = new byte[16];
        for (int i = 0; i < 20_000; i++)
        {
            random.NextBytes(bytes);
            // Zero runs of varying length and place, which is where RFC 5952 has rules.
            int zeroFrom = random.Next(16), zeroTo = random.Next(zeroFrom, 17);
            Array.Clear(bytes, zeroFrom, zeroTo - zeroFrom);
            var address = i % 3 == 0 ? new IPAddress(bytes.AsSpan(0, 4)) : new IPAddress(bytes);
            if (address.IsIPv4MappedToIPv6) continue; // kept as IPv4 by design
            var value = IpValue.From(address);
            var text = Format(value);
            // .NET writes the deprecated IPv4-compatible form (::a.b.c.d) with a dotted tail; RFC 5952 hex is as valid.
            if (!(value.IsV4 is false && address.ToString().Contains('.'))) Assert.Equal(address.ToString(), text);
            Assert.True(IpValue.TryParse(Encoding.ASCII.GetBytes(text), out var back), text);
            Assert.Equal(value, back);
        }
    }

    private static string Format(IpValue value)
    {
        var buffer = new byte[46];
        return Encoding.ASCII.GetString(buffer, 0, value.Format(buffer));
    }
}
