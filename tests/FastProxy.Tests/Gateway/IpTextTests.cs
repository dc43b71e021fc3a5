using System.Net;
using System.Net.Sockets;
using System.Text;
using FastProxy.Policies.ClientIdentity;

namespace FastProxy.Tests.Gateway;

/// <summary>
/// IpText (the allocation-free parser behind [client_ip] and X-Forwarded-For) against IPAddress.TryParse: every address
/// written in any legal IPv4 or IPv6 form reads the same, and whatever IpText accepts IPAddress reads the same way. IpText
/// is stricter on purpose in a few places (inet_aton IPv4 forms, zone ids), listed in <see cref="StricterOnPurpose"/>.
/// </summary>
public sealed class IpTextTests
{
    private static IpValue? Ours(string text) => IpText.TryParse(text, out var value) ? value : null;

    private static IpValue? Reference(string text) => IPAddress.TryParse(text, out var address) ? IpValue.From(address) : null;

    [Theory]
    [InlineData("0.0.0.0")]
    [InlineData("255.255.255.255")]
    [InlineData("1.2.3.4")]
    [InlineData("192.168.0.1")]
    [InlineData("::")]
    [InlineData("::1")]
    [InlineData("1::")]
    [InlineData("1::2")]
    [InlineData("::ffff:1.2.3.4")]
    [InlineData("::FFFF:1.2.3.4")]
    [InlineData("::ffff:102:304")]
    [InlineData("::1.2.3.4")]
    [InlineData("64:ff9b::1.2.3.4")]
    [InlineData("1:2:3:4:5:6:1.2.3.4")]
    [InlineData("1:2:3:4:5::1.2.3.4")]
    [InlineData("1:2:3:4:5:6:7:8")]
    [InlineData("1:2:3:4:5:6:7::")]
    [InlineData("::2:3:4:5:6:7:8")]
    [InlineData("0001:0002:0003:0004:0005:0006:0007:0008")]
    [InlineData("2001:DB8::A")]
    [InlineData("fe80::1")]
    [InlineData("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")]
    public void Legal_forms_read_as_IPAddress_reads_them(string text)
    {
        Assert.NotNull(Reference(text));
        Assert.Equal(Reference(text), Ours(text));
    }

    [Theory]
    [InlineData("")]
    [InlineData(".")]
    [InlineData("1.2.3")]
    [InlineData("1.2.3.4.5")]
    [InlineData("1.2.3.4.")]
    [InlineData(".1.2.3.4")]
    [InlineData("256.1.1.1")]
    [InlineData("1.2.3.-4")]
    [InlineData("1.2.3.+4")]
    [InlineData("1.2.3. 4")]
    [InlineData(" 1.2.3.4")]
    [InlineData("1..2.3")]
    [InlineData("1.2.3.4444")]
    [InlineData(":")]
    [InlineData(":::")]
    [InlineData(":1")]
    [InlineData("1:")]
    [InlineData("1:::2")]
    [InlineData("1::2::3")]
    [InlineData("1:2:3:4:5:6:7:8:9")]
    [InlineData("1:2:3:4:5:6:7:8::")]
    [InlineData("::1:2:3:4:5:6:7:8")]
    [InlineData("1:2:3:4:5:6:7")]
    [InlineData("12345::")]
    [InlineData("g::")]
    [InlineData("::1.2.3.4:5")]
    [InlineData("::1.2.3")]
    [InlineData("1:2:3:4:5:6:7:1.2.3.4")]
    [InlineData("::1:2:3:4:5:6:1.2.3.4")]
    [InlineData("1.2.3.4::")]
    [InlineData("[::1]")]
    [InlineData("::1 ")]
    [InlineData("１.2.3.4")] // a fullwidth digit: char.IsDigit would say yes
    public void Malformed_text_is_refused(string text)
    {
        Assert.Null(Ours(text));
    }

    [Theory]
    [InlineData("10")]          // inet_aton: 0.0.0.10
    [InlineData("127.1")]       // 127.0.0.1
    [InlineData("1.2.65535")]   // 1.2.255.255
    [InlineData("010.0.0.1")]   // octal: 8.0.0.1
    [InlineData("0x7f.0.0.1")]  // hex
    [InlineData("4294967295")]
    [InlineData("fe80::1%eth0")]
    [InlineData("fe80::1%1")]
    public void Inet_aton_forms_and_zone_ids_are_refused_though_IPAddress_takes_them(string text)
    {
        Assert.NotNull(Reference(text));
        Assert.Null(Ours(text));
        Assert.True(StricterOnPurpose(text));
    }

    /// <summary>
    /// Where IpText refuses what IPAddress.TryParse takes: IPv4 that is not four decimal parts without leading zeros
    /// (the inet_aton forms: a forwarding header never holds them, and they read as another address than meant), anything
    /// with a zone id (it never names a remote client) or brackets (IpValue.TryParse strips those before IpText sees them).
    /// </summary>
    private static bool StricterOnPurpose(string text)
    {
        if (text.Contains('%') || text.Contains('[') || text.Contains(' ') || text.Contains('\t')) return true;
        int lastColon = text.LastIndexOf(':');
        var v4 = lastColon < 0 ? text : text[(lastColon + 1)..];
        if (!v4.Contains('.') && lastColon >= 0) return false;
        var parts = v4.Split('.');
        return parts.Length != 4 || parts.Any(p => p.Length == 0 || p.Length > 3 || (p.Length > 1 && p[0] == '0') || !p.All(char.IsAsciiDigit));
    }

    [Fact]
    public void Random_addresses_in_every_IPv6_spelling_read_as_IPAddress_reads_them()
    {
        var random = new Random(20261207);
        Span<byte> bytes = stackalloc byte[16];
        int checkedForms = 0;
        for (int n = 0; n < 20_000; n++)
        {
            random.NextBytes(bytes);
            // Runs of zero groups are what compression is about: make them common.
            for (int g = 0; g < 8; g++)
            {
                if (random.Next(3) == 0) { bytes[2 * g] = 0; bytes[2 * g + 1] = 0; }
            }
            if (n % 10 == 0) { bytes[..10].Clear(); bytes[10] = 0xFF; bytes[11] = 0xFF; } // IPv4-mapped
            var address = new IPAddress(bytes);
            var expected = IpValue.From(address);
            foreach (var form in Spellings(bytes, random))
            {
                Assert.True(Reference(form) == expected, $"test bug: IPAddress reads {form} otherwise");
                Assert.True(Ours(form) == expected, $"{form}: expected {address}, got {Ours(form)?.ToAddress()}");
                checkedForms++;
            }
        }
        Assert.True(checkedForms > 100_000);
    }

    [Fact]
    public void Random_IPv4_addresses_read_as_IPAddress_reads_them()
    {
        var random = new Random(7);
        for (int n = 0; n < 20_000; n++)
        {
            uint bits = (uint)random.NextInt64(0, 1L << 32);
            // Small parts (one and two digits, zeros) as often as large ones.
            if (n % 3 == 0) bits &= 0x0F0F0F0F;
            var text = new IPAddress(BitConverter.IsLittleEndian ? System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(bits) : bits).ToString();
            Assert.Equal(new IpValue(bits, true), Ours(text));
            Assert.Equal(Reference(text), Ours(text));
        }
    }

    [Fact]
    public void Whatever_IpText_accepts_IPAddress_reads_the_same_and_the_rest_is_refused_on_purpose()
    {
        // Strings from the alphabet of addresses (and a few strangers), shaped like addresses often enough to matter.
        const string alphabet = "0123456789abcdefABCDEF::::....%[]g- ";
        var random = new Random(1234);
        var sb = new StringBuilder();
        int acceptedByBoth = 0;
        for (int n = 0; n < 300_000; n++)
        {
            sb.Clear();
            int length = random.Next(0, 42);
            for (int i = 0; i < length; i++) sb.Append(alphabet[random.Next(alphabet.Length)]);
            var text = sb.ToString();
            var ours = Ours(text);
            var reference = Reference(text);
            if (ours is not null)
            {
                Assert.True(reference == ours, $"\"{text}\": IpText reads {ours.Value.ToAddress()}, IPAddress {reference?.ToAddress()}");
                acceptedByBoth++;
            }
            else if (reference is not null)
            {
                Assert.True(StricterOnPurpose(text), $"\"{text}\": IPAddress reads {reference.Value.ToAddress()}, IpText refuses it");
            }
        }
        // Random text is rarely an address; the mutated forms below are, mostly.
        for (int n = 0; n < 100_000; n++)
        {
            var bytes = new byte[16];
            random.NextBytes(bytes);
            for (int g = 0; g < 8; g++) if (random.Next(2) == 0) { bytes[2 * g] = 0; bytes[2 * g + 1] = 0; }
            var text = new StringBuilder(Spellings(bytes, random).ElementAt(random.Next(4)));
            // One random edit: delete, duplicate or replace a character.
            int at = random.Next(text.Length);
            switch (random.Next(3))
            {
                case 0: text.Remove(at, 1); break;
                case 1: text.Insert(at, text[at]); break;
                default: text[at] = alphabet[random.Next(alphabet.Length)]; break;
            }
            var s = text.ToString();
            var ours = Ours(s);
            var reference = Reference(s);
            if (ours is not null)
            {
                Assert.True(reference == ours, $"\"{s}\": IpText reads {ours.Value.ToAddress()}, IPAddress {reference?.ToAddress()}");
                acceptedByBoth++;
            }
            else if (reference is not null)
            {
                Assert.True(StricterOnPurpose(s), $"\"{s}\": IPAddress reads {reference.Value.ToAddress()}, IpText refuses it");
            }
        }
        Assert.True(acceptedByBoth > 20_000, $"only {acceptedByBoth} inputs were addresses");
    }

    /// <summary>The ways to write one IPv6 address: canonical, full with leading zeros, upper case, each zero run compressed, the last 32 bits dotted.</summary>
    private static IEnumerable<string> Spellings(byte[] bytes, Random random) => Spellings((ReadOnlySpan<byte>)bytes, random);

    private static List<string> Spellings(ReadOnlySpan<byte> bytes, Random random)
    {
        var groups = new ushort[8];
        for (int g = 0; g < 8; g++) groups[g] = (ushort)(bytes[2 * g] << 8 | bytes[2 * g + 1]);
        var forms = new List<string>
        {
            new IPAddress(bytes).ToString(),
            string.Join(':', groups.Select(g => g.ToString("x4"))),
            string.Join(':', groups.Select(g => g.ToString("X"))),
            Compressed(groups, random, dotted: false),
            Compressed(groups, random, dotted: true),
            Compressed(groups, random, dotted: random.Next(2) == 0).ToUpperInvariant(),
        };
        return forms;
    }

    /// <summary>Compresses one run of zero groups (any run, not only the longest, as RFC 4291 §2.2 allows), maybe writing the last two groups as IPv4.</summary>
    private static string Compressed(ushort[] groups, Random random, bool dotted)
    {
        int count = dotted ? 6 : 8;
        var texts = groups.Take(count).Select(g => g.ToString(random.Next(2) == 0 ? "x" : "x4")).ToList();
        var runs = new List<(int Start, int Length)>();
        for (int i = 0; i < count; i++)
        {
            if (groups[i] != 0) continue;
            int j = i;
            while (j < count && groups[j] == 0) j++;
            for (int start = i; start < j; start++)
            {
                for (int end = start + 1; end <= j; end++) runs.Add((start, end - start));
            }
            i = j;
        }
        string tail = dotted ? $"{groups[6] >> 8}.{groups[6] & 0xFF}.{groups[7] >> 8}.{groups[7] & 0xFF}" : "";
        string Join(IEnumerable<string> parts) => string.Join(':', parts);
        if (runs.Count == 0 || random.Next(4) == 0)
        {
            return dotted ? Join(texts) + ":" + tail : Join(texts);
        }
        var (s, l) = runs[random.Next(runs.Count)];
        var before = Join(texts.Take(s));
        var after = Join(texts.Skip(s + l));
        if (dotted) after = after.Length == 0 ? tail : after + ":" + tail;
        return before + "::" + after;
    }

    [Fact]
    public void Mapped_addresses_are_the_IPv4_client()
    {
        Assert.Equal(new IpValue(0x01020304u, true), Ours("::ffff:1.2.3.4"));
        Assert.Equal(new IpValue(0x01020304u, true), Ours("::ffff:0102:0304"));
        // IPv4-compatible (deprecated) and NAT64 addresses are not IPv4 clients.
        Assert.False(Ours("::1.2.3.4")!.Value.IsV4);
        Assert.False(Ours("64:ff9b::1.2.3.4")!.Value.IsV4);
    }

    [Fact]
    public void IpValue_reads_forwarding_header_forms()
    {
        static IpValue? Read(string s) => IpValue.TryParse(Encoding.ASCII.GetBytes(s), out var v) ? v : null;
        var v4 = new IpValue(0xC000022Au, true); // 192.0.2.42
        var v6 = IpValue.From(IPAddress.Parse("2001:db8::17"));
        Assert.Equal(v4, Read("192.0.2.42"));
        Assert.Equal(v4, Read(" 192.0.2.42\t"));
        Assert.Equal(v4, Read("\"192.0.2.42\""));
        Assert.Equal(v4, Read("192.0.2.42:4711"));
        Assert.Equal(v6, Read("2001:db8::17"));
        Assert.Equal(v6, Read("[2001:db8::17]"));
        Assert.Equal(v6, Read("[2001:db8::17]:4711"));
        Assert.Equal(v6, Read("\"[2001:db8::17]:4711\""));
        Assert.Equal(v4, Read("[::ffff:192.0.2.42]:80"));
        Assert.Null(Read(""));
        Assert.Null(Read("unknown"));
        Assert.Null(Read("_hidden"));
        Assert.Null(Read("[2001:db8::17"));
        Assert.Null(Read("192.0.2.42:"));
        Assert.Null(Read("192.0.2.42:http"));
        Assert.Null(Read("192.0.2.42:99999"));
        Assert.Null(Read("[2001:db8::17]garbage"));
        Assert.Null(Read("[2001:db8::17]:"));
        Assert.Null(Read("[2001:db8::17]:x"));
        Assert.Null(Read("[192.0.2.42]")); // brackets hold IPv6 only (RFC 3986 IP-literal)
        Assert.Null(Read("2001:db8::17:4711x"));
        Assert.Null(Read(new string('1', 65)));
    }
}
