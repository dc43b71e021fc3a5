using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using FastProxy.Tcp;
using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Tcp;

/// <summary>
/// The ClientHello reader against real hellos (from SslStream) and built ones, whole, at every split, one byte per
/// segment, fragmented over many records, and broken in every way it checks.
/// </summary>
public sealed class ClientHelloReaderTests
{
    [Theory]
    [InlineData("api.example.com")]
    [InlineData("a-very-long-label-with-dashes-0123456789.sub_domain.example.org")]
    public async Task A_real_ClientHello_gives_its_name_at_every_split(string name)
    {
        byte[] hello = await TlsClient.CaptureClientHelloAsync(name);
        for (int split = 0; split <= hello.Length; split++)
        {
            var reader = new ClientHelloReader();
            if (split > 0 && split < hello.Length)
            {
                // What the pipe holds after the first read: the reader must ask for more, having taken what it could.
                Assert.Equal(HelloStatus.NeedMore, reader.Advance(Segments(hello[..split])));
            }
            Assert.Equal(HelloStatus.Complete, reader.Advance(Segments(hello[..split], hello[split..])));
            Assert.Equal(name, Encoding.ASCII.GetString(reader.ServerName));
            reader.Reset();
        }
    }

    [Fact]
    public async Task A_real_ClientHello_one_byte_per_segment_gives_its_name_only_at_the_last_byte()
    {
        byte[] hello = await TlsClient.CaptureClientHelloAsync("one.byte.example.com");
        var reader = new ClientHelloReader();
        for (int length = 1; length < hello.Length; length++)
        {
            Assert.Equal(HelloStatus.NeedMore, reader.Advance(OneBytePerSegment(hello[..length])));
        }
        Assert.Equal(HelloStatus.Complete, reader.Advance(OneBytePerSegment(hello)));
        Assert.Equal("one.byte.example.com"u8.ToArray(), reader.ServerName.ToArray());
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(100)]
    public async Task A_ClientHello_fragmented_over_many_records_is_reassembled(int fragment)
    {
        byte[] record = await TlsClient.CaptureClientHelloAsync("frag.example.com");
        byte[] fragmented = Hellos.Records(record[5..], fragment);
        var reader = new ClientHelloReader();
        for (int length = 1; length < fragmented.Length; length += 7)
        {
            Assert.Equal(HelloStatus.NeedMore, reader.Advance(OneBytePerSegment(fragmented[..length])));
        }
        Assert.Equal(HelloStatus.Complete, reader.Advance(Segments(fragmented)));
        Assert.Equal("frag.example.com"u8.ToArray(), reader.ServerName.ToArray());
    }

    [Fact]
    public void Bytes_after_the_ClientHello_are_not_looked_at()
    {
        byte[] stream = [.. Hellos.Records(Hellos.Handshake(Hellos.Body(Hellos.ServerName("x.example.com")))), .. "early data and garbage"u8];
        var reader = new ClientHelloReader();
        Assert.Equal(HelloStatus.Complete, reader.Advance(Segments(stream)));
        Assert.Equal("x.example.com"u8.ToArray(), reader.ServerName.ToArray());
    }

    [Fact]
    public void A_ClientHello_without_extensions_or_without_server_name_is_complete_with_no_name()
    {
        var reader = new ClientHelloReader();
        Assert.Equal(HelloStatus.Complete, reader.Advance(Segments(Hellos.Records(Hellos.Handshake(Hellos.NoExtensions())))));
        Assert.True(reader.ServerName.IsEmpty);
        reader.Reset();
        Assert.Equal(HelloStatus.Complete, reader.Advance(Segments(Hellos.Records(Hellos.Handshake(Hellos.Body(Hellos.Extension(43, [2, 3, 4])))))));
        Assert.True(reader.ServerName.IsEmpty);
    }

    [Fact]
    public void A_trailing_dot_is_left_out_and_unknown_name_types_are_skipped()
    {
        var reader = new ClientHelloReader();
        Assert.Equal(HelloStatus.Complete, reader.Advance(Segments(Hellos.Records(Hellos.Handshake(Hellos.Body(Hellos.ServerName("Dot.Example.COM.")))))));
        Assert.Equal("Dot.Example.COM"u8.ToArray(), reader.ServerName.ToArray());
        reader.Reset();
        var list = Hellos.Extension(0, Hellos.NameList((7, "opaque"u8.ToArray()), (0, "named.example.com"u8.ToArray())));
        Assert.Equal(HelloStatus.Complete, reader.Advance(Segments(Hellos.Records(Hellos.Handshake(Hellos.Body(Hellos.Extension(10, [0, 2, 0, 29]), list))))));
        Assert.Equal("named.example.com"u8.ToArray(), reader.ServerName.ToArray());
    }

    /// <summary>(what, input, the expected <see cref="HelloError"/> by name: the enum is internal, theory data is public.)</summary>
    public static TheoryData<string, byte[], string> Broken()
    {
        byte[] good = Hellos.Body(Hellos.ServerName("a.example.com"));
        byte[] handshake = Hellos.Handshake(good);
        var data = new TheoryData<string, byte[], string>
        {
            { "http", "GET / HTTP/1.1\r\n\r\n"u8.ToArray(), nameof(HelloError.NotHandshakeRecord) },
            { "first byte only", [0x47], nameof(HelloError.NotHandshakeRecord) },
            { "sslv2 hello", [0x80, 0x2E, 0x01, 0x00, 0x02], nameof(HelloError.NotHandshakeRecord) },
            { "alert record", [21, 3, 3, 0, 2, 2, 40], nameof(HelloError.NotHandshakeRecord) },
            { "record version 2.0", [22, 2, 0, 0, 5], nameof(HelloError.BadRecordVersion) },
            { "empty record", [22, 3, 1, 0, 0], nameof(HelloError.BadRecordLength) },
            { "record over 2^14", [22, 3, 1, 0x40, 0x01], nameof(HelloError.BadRecordLength) },
            { "server hello", Hellos.Records([2, 0, 0, 40, .. new byte[40]]), nameof(HelloError.NotClientHello) },
            { "over 16 KiB", Hellos.Records([1, 0, 0x40, 0x01, .. new byte[100]]), nameof(HelloError.TooLarge) },
            { "too short to be a hello", Hellos.Records([1, 0, 0, 3, 3, 3, 0]), nameof(HelloError.Malformed) },
            { "change_cipher_spec between fragments", [.. Hellos.Records(handshake[..10]), 20, 3, 3, 0, 1, 1, .. Hellos.Records(handshake[10..])], nameof(HelloError.NotHandshakeRecord) },
            { "session id over 32", Hellos.Records(Hellos.Handshake(Hellos.BodyWith(sessionIdLength: 33))), nameof(HelloError.Malformed) },
            { "odd cipher suites length", Hellos.Records(Hellos.Handshake(Hellos.BodyWith(cipherSuites: [0x13, 0x01, 0x13]))), nameof(HelloError.Malformed) },
            { "no compression methods", Hellos.Records(Hellos.Handshake(Hellos.BodyWith(compression: []))), nameof(HelloError.Malformed) },
            { "extensions longer than the message", Hellos.Records(Hellos.Handshake([.. good[..^2], 0xFF])), nameof(HelloError.Malformed) },
            { "extensions shorter than the message", Hellos.Records(Hellos.Handshake([.. good, 0])), nameof(HelloError.Malformed) },
            { "extension past its block", Hellos.Records(Hellos.Handshake(Hellos.BodyWith(raw: [0, 0, 0, 9, 0, 7]))), nameof(HelloError.Malformed) },
            { "two server_name extensions", Hellos.Records(Hellos.Handshake(Hellos.Body(Hellos.ServerName("a.example.com"), Hellos.ServerName("b.example.com")))), nameof(HelloError.BadServerName) },
            { "two host names", Hellos.Records(Hellos.Handshake(Hellos.Body(Hellos.Extension(0, Hellos.NameList((0, "a.example.com"u8.ToArray()), (0, "b.example.com"u8.ToArray())))))), nameof(HelloError.BadServerName) },
            { "empty name list", Hellos.Records(Hellos.Handshake(Hellos.Body(Hellos.Extension(0, [0, 0])))), nameof(HelloError.BadServerName) },
            { "empty extension", Hellos.Records(Hellos.Handshake(Hellos.Body(Hellos.Extension(0, [])))), nameof(HelloError.BadServerName) },
            { "empty host name", Hellos.Records(Hellos.Handshake(Hellos.Body(Hellos.Extension(0, Hellos.NameList((0, [])))))), nameof(HelloError.BadServerName) },
            { "name list longer than the extension", Hellos.Records(Hellos.Handshake(Hellos.Body(Hellos.Extension(0, [0, 9, 0, 0, 1, (byte)'a'])))), nameof(HelloError.BadServerName) },
            { "space in the name", Hellos.Records(Hellos.Handshake(Hellos.Body(Hellos.ServerName("a b.example.com")))), nameof(HelloError.BadServerName) },
            { "NUL in the name", Hellos.Records(Hellos.Handshake(Hellos.Body(Hellos.ServerName("evil\0.example.com")))), nameof(HelloError.BadServerName) },
            { "empty label", Hellos.Records(Hellos.Handshake(Hellos.Body(Hellos.ServerName("a..example.com")))), nameof(HelloError.BadServerName) },
            { "leading dot", Hellos.Records(Hellos.Handshake(Hellos.Body(Hellos.ServerName(".example.com")))), nameof(HelloError.BadServerName) },
            { "label over 63", Hellos.Records(Hellos.Handshake(Hellos.Body(Hellos.ServerName(new string('a', 64) + ".com")))), nameof(HelloError.BadServerName) },
            { "non-ASCII name", Hellos.Records(Hellos.Handshake(Hellos.Body(Hellos.Extension(0, Hellos.NameList((0, "\xC3\xA9.example.com"u8.ToArray())))))), nameof(HelloError.BadServerName) },
        };
        return data;
    }

    [Theory]
    [MemberData(nameof(Broken))]
    public void Broken_input_is_invalid_at_every_split(string what, byte[] input, string expected)
    {
        _ = what;
        for (int split = 0; split <= input.Length; split++)
        {
            var reader = new ClientHelloReader();
            var first = reader.Advance(Segments(input[..split]));
            if (first == HelloStatus.Invalid)
            {
                Assert.Equal(expected, reader.Error.ToString());
                continue;
            }
            Assert.Equal(HelloStatus.NeedMore, first);
            Assert.Equal(HelloStatus.Invalid, reader.Advance(Segments(input[..split], input[split..])));
            Assert.Equal(expected, reader.Error.ToString());
        }
    }

    [Fact]
    public void Not_TLS_is_refused_at_the_first_byte()
    {
        var reader = new ClientHelloReader();
        Assert.Equal(HelloStatus.Invalid, reader.Advance(Segments("G"u8.ToArray())));
        Assert.Equal(HelloError.NotHandshakeRecord, reader.Error);
    }

    [Fact]
    public void A_reader_is_reusable_after_reset()
    {
        var reader = new ClientHelloReader();
        Assert.Equal(HelloStatus.Invalid, reader.Advance(Segments("GET"u8.ToArray())));
        reader.Reset();
        Assert.Equal(HelloStatus.Complete, reader.Advance(Segments(Hellos.Records(Hellos.Handshake(Hellos.Body(Hellos.ServerName("b.example.com")))))));
        Assert.Equal("b.example.com"u8.ToArray(), reader.ServerName.ToArray());
        Assert.Equal(HelloError.None, reader.Error);
    }

    private static ReadOnlySequence<byte> OneBytePerSegment(byte[] bytes) => Sequences.BytePerSegment(bytes);

    /// <summary>A sequence of the given parts, each its own segment (empty parts are dropped).</summary>
    internal static ReadOnlySequence<byte> Segments(params byte[][] parts) => Sequences.Of([.. parts.Where(p => p.Length > 0)]);
}

/// <summary>Builds TLS ClientHellos field by field (RFC 8446 §4.1.2, RFC 6066 §3), to break them on purpose.</summary>
internal static class Hellos
{
    /// <summary>A ClientHello body with these extensions.</summary>
    public static byte[] Body(params byte[][] extensions) => BodyWith(extensions.SelectMany(e => e).ToArray());

    /// <summary>A ClientHello body that ends after its compression methods, as TLS 1.2 allows.</summary>
    public static byte[] NoExtensions() => BodyWith(raw: null, withExtensions: false);

    /// <summary>A ClientHello body with its extensions block given raw (default: one server_name), and other fields to vary.</summary>
    public static byte[] BodyWith(byte[]? raw = null, int sessionIdLength = 32, byte[]? cipherSuites = null, byte[]? compression = null, bool withExtensions = true)
    {
        var body = new List<byte> { 3, 3 };
        body.AddRange(Enumerable.Range(0, 32).Select(i => (byte)i));
        body.Add((byte)sessionIdLength);
        body.AddRange(new byte[sessionIdLength]);
        cipherSuites ??= [0x13, 0x01, 0x13, 0x02];
        body.AddRange(U16(cipherSuites.Length));
        body.AddRange(cipherSuites);
        compression ??= [0];
        body.Add((byte)compression.Length);
        body.AddRange(compression);
        if (withExtensions)
        {
            raw ??= ServerName("a.example.com");
            body.AddRange(U16(raw.Length));
            body.AddRange(raw);
        }
        return [.. body];
    }

    public static byte[] Extension(ushort type, byte[] data) => [.. U16(type), .. U16(data.Length), .. data];

    public static byte[] ServerName(string name) => Extension(0, NameList((0, Encoding.Latin1.GetBytes(name))));

    public static byte[] NameList(params (byte Type, byte[] Name)[] names)
    {
        var list = names.SelectMany(n => (byte[])[n.Type, .. U16(n.Name.Length), .. n.Name]).ToArray();
        return [.. U16(list.Length), .. list];
    }

    public static byte[] Handshake(byte[] body) => [1, (byte)(body.Length >> 16), (byte)(body.Length >> 8), (byte)body.Length, .. body];

    /// <summary>Handshake bytes in records of at most <paramref name="fragment"/> bytes each.</summary>
    public static byte[] Records(byte[] handshake, int fragment = 16384)
    {
        var records = new List<byte>();
        for (int i = 0; i < handshake.Length; i += fragment)
        {
            int length = Math.Min(fragment, handshake.Length - i);
            records.AddRange([22, 3, 1, .. U16(length)]);
            records.AddRange(handshake.AsSpan(i, length).ToArray());
        }
        return [.. records];
    }

    private static byte[] U16(int value)
    {
        var bytes = new byte[2];
        BinaryPrimitives.WriteUInt16BigEndian(bytes, (ushort)value);
        return bytes;
    }
}
