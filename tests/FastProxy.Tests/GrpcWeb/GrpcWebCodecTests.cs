using System.Buffers.Binary;
using System.Text;
using FastProxy.Http1.GrpcWeb;

namespace FastProxy.Tests.GrpcWeb;

/// <summary>The gRPC-Web wire format on its own (FastProxy.Http1/GrpcWeb): media types, base64 both ways at every split, the trailer frame.</summary>
public sealed class GrpcWebCodecTests
{
    [Theory]
    [InlineData("application/grpc-web", GrpcWebFraming.Binary, "")]
    [InlineData("application/grpc-web+proto", GrpcWebFraming.Binary, "+proto")]
    [InlineData("Application/GRPC-Web+proto; charset=utf-8", GrpcWebFraming.Binary, "+proto")]
    [InlineData("application/grpc-web-text", GrpcWebFraming.Text, "")]
    [InlineData(" application/grpc-web-text+proto", GrpcWebFraming.Text, "+proto")]
    [InlineData("application/grpc-web+json", GrpcWebFraming.Binary, "+json")]
    [InlineData("application/grpc", GrpcWebFraming.None, "")]
    [InlineData("application/grpc+proto", GrpcWebFraming.None, "")]
    [InlineData("application/grpc-webx", GrpcWebFraming.None, "")]
    [InlineData("application/grpc-web+", GrpcWebFraming.None, "")]
    [InlineData("application/grpc-web+a b", GrpcWebFraming.None, "")]
    [InlineData("application/json", GrpcWebFraming.None, "")]
    [InlineData("", GrpcWebFraming.None, "")]
    public void Content_types_are_classified(string value, GrpcWebFraming framing, string suffix)
    {
        var bytes = Encoding.ASCII.GetBytes(value);
        Assert.Equal(framing, GrpcWebContentType.Classify(bytes, out int start, out int length));
        Assert.Equal(suffix, Encoding.ASCII.GetString(bytes, start, length));
    }

    [Theory]
    [InlineData("application/grpc-web-text", true)]
    [InlineData("application/json, application/grpc-web-text+proto;q=0.9", true)]
    [InlineData("application/grpc-web", false)]
    [InlineData("*/*", false)]
    public void Accept_asks_for_text(string accept, bool text)
        => Assert.Equal(text, GrpcWebContentType.AcceptsText(Encoding.ASCII.GetBytes(accept)));

    [Theory]
    [InlineData("application/grpc", true)]
    [InlineData("application/grpc+proto", true)]
    [InlineData("application/GRPC; x=y", true)]
    [InlineData("application/grpc-web+proto", false)]
    [InlineData("text/html", false)]
    public void Grpc_answers_are_recognised(string value, bool grpc)
        => Assert.Equal(grpc, GrpcWebContentType.IsGrpc(Encoding.ASCII.GetBytes(value)));

    /// <summary>Every way of cutting a body into two reads, and one character per read, decodes to the same bytes.</summary>
    [Fact]
    public void Decoding_resumes_at_every_split()
    {
        var random = new Random(5);
        for (int length = 0; length < 40; length++)
        {
            var data = new byte[length];
            random.NextBytes(data);
            var text = Encoding.ASCII.GetBytes(Convert.ToBase64String(data));
            for (int split = 0; split <= text.Length; split++)
            {
                Assert.Equal(data, Decode(text[..split], text[split..]));
            }
            Assert.Equal(data, Decode(text.Select(c => new[] { c }).ToArray()));
        }
    }

    /// <summary>A sender may pad after each message (PROTOCOL-WEB.md): decoding goes on after a padded group.</summary>
    [Fact]
    public void Padding_in_the_middle_is_decoded_and_decoding_goes_on()
    {
        var parts = new[] { "a"u8.ToArray(), "bc"u8.ToArray(), "def"u8.ToArray(), "g"u8.ToArray() };
        var text = Encoding.ASCII.GetBytes(string.Concat(parts.Select(p => Convert.ToBase64String(p))));
        Assert.Equal("YQ==YmM=ZGVmZw==", Encoding.ASCII.GetString(text));
        Assert.Equal("abcdefg"u8.ToArray(), Decode(text));
    }

    [Theory]
    [InlineData("YQ=")] // ends inside a group
    [InlineData("YQ")]
    [InlineData("Y")]
    public void A_body_ending_inside_a_group_is_not_at_a_boundary(string text)
    {
        var decoder = new GrpcWebTextDecoder();
        var output = new byte[GrpcWebTextDecoder.MaxDecodedLength(text.Length)];
        Assert.True(decoder.Decode(Encoding.ASCII.GetBytes(text), output) >= 0);
        Assert.False(decoder.IsAtGroupBoundary);
    }

    [Theory]
    [InlineData("YQ==\n")]
    [InlineData("Y Q==")]
    [InlineData("Y===")]
    [InlineData("=AAA")]
    [InlineData("YQ=A")]
    [InlineData("YQ-_")] // the URL-safe alphabet is not gRPC-Web's
    [InlineData("\u00e9AAA")]
    public void Invalid_text_fails(string text)
    {
        var decoder = new GrpcWebTextDecoder();
        var bytes = Encoding.UTF8.GetBytes(text);
        var output = new byte[GrpcWebTextDecoder.MaxDecodedLength(bytes.Length)];
        Assert.Equal(-1, decoder.Decode(bytes, output));
        Assert.True(decoder.Failed);
        Assert.False(decoder.IsAtGroupBoundary);
    }

    /// <summary>
    /// The encoder pads each gRPC frame on its own (as Envoy does), whatever the reads it comes in: the output is the
    /// concatenation of each frame's own base64.
    /// </summary>
    [Fact]
    public void Encoding_pads_each_frame_whatever_the_reads()
    {
        var random = new Random(9);
        var frames = new List<byte[]>();
        foreach (int size in new[] { 0, 1, 2, 3, 4, 10, 100, 0, 17 })
        {
            var message = new byte[size];
            random.NextBytes(message);
            frames.Add(Frame(0, message));
        }
        frames.Add(Frame(0x80, "grpc-status:0\r\n"u8.ToArray()));
        var body = frames.SelectMany(f => f).ToArray();
        string expected = string.Concat(frames.Select(Convert.ToBase64String));

        for (int split = 0; split <= body.Length; split++)
        {
            Assert.Equal(expected, Encode(body[..split], body[split..]));
        }
        Assert.Equal(expected, Encode(body.Select(b => new[] { b }).ToArray()));
        // And what the decoder reads back, in one go, is the body.
        Assert.Equal(body, Decode(Encoding.ASCII.GetBytes(expected)));
    }

    [Fact]
    public void A_body_cut_inside_a_frame_is_flushed_padded()
    {
        var encoder = new GrpcWebTextEncoder();
        var output = new byte[64];
        var partial = Frame(0, "hello"u8.ToArray())[..7]; // prefix and two message octets
        int n = encoder.Encode(partial, output);
        Assert.False(encoder.IsAtFrameBoundary);
        n += encoder.Flush(output.AsSpan(n));
        Assert.Equal(Convert.ToBase64String(partial), Encoding.ASCII.GetString(output, 0, n));
    }

    [Fact]
    public void The_trailer_frame_lowercases_names_and_drops_the_space()
    {
        var section = "Grpc-Status: 7\r\ngrpc-message:  not you \r\nX-Checksum: abc\r\n"u8;
        var frame = new byte[GrpcWebTrailerFrame.MaxLength(section)];
        int n = GrpcWebTrailerFrame.Write(section, frame);
        const string lines = "grpc-status:7\r\ngrpc-message:not you\r\nx-checksum:abc\r\n";
        Assert.Equal(0x80, frame[0]);
        Assert.Equal(lines.Length, BinaryPrimitives.ReadInt32BigEndian(frame.AsSpan(1)));
        Assert.Equal(lines, Encoding.ASCII.GetString(frame, 5, n - 5));
        Assert.Equal(5, GrpcWebTrailerFrame.Write(default, frame));
        Assert.Equal(0, BinaryPrimitives.ReadInt32BigEndian(frame.AsSpan(1)));
    }

    internal static byte[] Frame(byte flags, byte[] message)
    {
        var frame = new byte[5 + message.Length];
        frame[0] = flags;
        BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(1), message.Length);
        message.CopyTo(frame, 5);
        return frame;
    }

    private static byte[] Decode(params byte[][] pieces)
    {
        var decoder = new GrpcWebTextDecoder();
        var result = new List<byte>();
        foreach (var piece in pieces)
        {
            var output = new byte[GrpcWebTextDecoder.MaxDecodedLength(piece.Length)];
            int n = decoder.Decode(piece, output);
            Assert.True(n >= 0);
            result.AddRange(output[..n]);
        }
        Assert.True(decoder.IsAtGroupBoundary);
        return result.ToArray();
    }

    private static string Encode(params byte[][] pieces)
    {
        var encoder = new GrpcWebTextEncoder();
        var result = new StringBuilder();
        foreach (var piece in pieces)
        {
            var output = new byte[GrpcWebTextEncoder.MaxEncodedLength(piece.Length)];
            int n = encoder.Encode(piece, output);
            result.Append(Encoding.ASCII.GetString(output, 0, n));
        }
        Assert.True(encoder.IsAtFrameBoundary);
        return result.ToString();
    }
}
