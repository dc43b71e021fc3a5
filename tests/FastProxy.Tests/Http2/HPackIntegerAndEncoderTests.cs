using FastProxy.Http2.HPack;
using static FastProxy.Tests.Http2.H2Bytes;

namespace FastProxy.Tests.Http2;

/// <summary>RFC 7541 §5.1 integers (the C.1 examples) and the encoder's table size signalling (§4.2, §6.3).</summary>
public sealed class HPackIntegerAndEncoderTests
{
    [Theory]
    [InlineData(10, 5, "0A")]        // C.1.1: 10 on a 5-bit prefix
    [InlineData(1337, 5, "1F9A0A")]  // C.1.2: 1337 on a 5-bit prefix
    [InlineData(42, 8, "2A")]        // C.1.3: 42 starting at an octet boundary
    [InlineData(31, 5, "1F00")]      // exactly the prefix maximum takes a zero continuation octet
    [InlineData(int.MaxValue, 7, "7F80FFFFFF07")]
    public void Integers_encode_and_decode_as_appendix_c_1(int value, int prefixBits, string hex)
    {
        var output = new byte[8];
        int n = HPackInteger.Encode(value, prefixBits, 0, output);
        Assert.Equal(hex, Convert.ToHexString(output, 0, n));
        Assert.Equal(-1, HPackInteger.Encode(value, prefixBits, 0, new byte[n - 1]));

        byte[] wire = Hex(hex);
        var decoder = new HPackIntegerDecoder();
        bool done = decoder.Start(wire[0], prefixBits, out int decoded);
        for (int i = 1; i < wire.Length; i++)
        {
            Assert.False(done);
            done = decoder.Next(wire[i], out decoded, out bool overflow);
            Assert.False(overflow);
        }
        Assert.True(done);
        Assert.Equal(value, decoded);
    }

    [Fact]
    public void Flags_above_the_prefix_are_kept()
    {
        var output = new byte[4];
        Assert.Equal(1, HPackInteger.Encode(2, 7, 0x80, output));
        Assert.Equal(0x82, output[0]);
    }

    private static string Block(HPackEncoder encoder, params (string Name, string Value)[] fields)
    {
        var output = new byte[512];
        int written = 0;
        Assert.True(encoder.BeginBlock(output, ref written));
        foreach (var (name, value) in fields) Assert.True(encoder.TryEncode(Ascii(name), Ascii(value), HPackIndexing.Incremental, output, ref written));
        return Convert.ToHexString(output, 0, written);
    }

    [Fact]
    public void Peer_table_size_change_is_signalled_once_at_the_start_of_the_next_block()
    {
        var encoder = new HPackEncoder(4096) { UseHuffman = false };
        encoder.SetPeerMaxTableSize(0);
        // 0x20: size update to 0, then :method GET; and the literal is not kept (table of size 0).
        Assert.Equal("20" + "82", Block(encoder, (":method", "GET")));
        Assert.Equal("82", Block(encoder, (":method", "GET")));
        Assert.Equal(0, encoder.DynamicTable.MaxSize);
    }

    [Fact]
    public void Shrink_then_grow_between_blocks_signals_the_smallest_then_the_final_size()
    {
        var encoder = new HPackEncoder(4096) { UseHuffman = false };
        Block(encoder, ("x-a", "1")); // one entry
        encoder.SetPeerMaxTableSize(0);
        encoder.SetPeerMaxTableSize(1000);
        // §4.2: 0x20 (0), then 0x3f c9 07 (31 + 73 + 7*128 = 1000); the entry was evicted by the shrink.
        Assert.Equal("20" + "3FC907" + "82", Block(encoder, (":method", "GET")));
        Assert.Equal(0, encoder.DynamicTable.Count);
        Assert.Equal(1000, encoder.DynamicTable.MaxSize);
    }

    [Fact]
    public void Peer_allowing_more_than_the_encoder_capacity_is_capped()
    {
        var encoder = new HPackEncoder(256);
        encoder.SetPeerMaxTableSize(1 << 20);
        Assert.Equal(256, encoder.DynamicTable.MaxSize);
    }

    [Fact]
    public void Full_destination_writes_nothing_and_leaves_the_table_alone()
    {
        var encoder = new HPackEncoder(4096) { UseHuffman = false };
        var output = new byte[10];
        int written = 3;
        Assert.False(encoder.TryEncode(Ascii("custom-key"), Ascii("custom-header"), HPackIndexing.Incremental, output, ref written));
        Assert.Equal(3, written);
        Assert.Equal(0, encoder.DynamicTable.Count);
    }

    [Fact]
    public void Never_indexed_field_is_never_an_index_even_when_it_matches()
    {
        var encoder = new HPackEncoder(4096) { UseHuffman = false };
        Block(encoder, ("authorization", "secret"));  // now in the dynamic table
        var output = new byte[64];
        int written = 0;
        Assert.True(encoder.TryEncode(Ascii("authorization"), Ascii("secret"), HPackIndexing.Never, output, ref written));
        // 0001 | name index 23 (static authorization) = 0x1f 0x08, then the value as a literal.
        Assert.Equal("1F08" + "06" + Convert.ToHexString(Ascii("secret")), Convert.ToHexString(output, 0, written));

        var decoder = new HPackDecoder(4096, 4096);
        var sink = new NeverSink();
        Assert.Equal(HPackError.None, decoder.Decode(output.AsSpan(0, written), true, ref sink));
        Assert.True(sink.Never);
    }

    private struct NeverSink : IHPackHeaderHandler
    {
        public bool Never;
        public void OnHeader(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value, bool neverIndexed) => Never = neverIndexed;
    }

    [Fact]
    public void Encoder_and_decoder_agree_over_many_blocks_with_evictions()
    {
        var encoder = new HPackEncoder(512);
        var decoder = new HPackDecoder(512, 64 * 1024);
        var random = new Random(5);
        for (int block = 0; block < 300; block++)
        {
            var fields = Enumerable.Range(0, random.Next(1, 12)).Select(_ => ($"x-h{random.Next(20)}", new string((char)('a' + random.Next(26)), random.Next(0, 90)))).ToArray();
            var output = new byte[8192];
            int written = 0;
            encoder.BeginBlock(output, ref written);
            foreach (var (n, v) in fields) Assert.True(encoder.TryEncode(Ascii(n), Ascii(v), (HPackIndexing)(random.Next(3)), output, ref written));
            var sink = new ListSink { Items = [] };
            Assert.Equal(HPackError.None, decoder.Decode(BytePerSegment(output[..written]), true, ref sink));
            Assert.Equal(fields.Select(f => f.Item1 + ": " + f.Item2), sink.Items);
            Assert.Equal(encoder.DynamicTable.Size, decoder.DynamicTable.Size);
        }
    }

    private struct ListSink : IHPackHeaderHandler
    {
        public List<string> Items;
        public void OnHeader(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value, bool neverIndexed) => Items.Add(Text(name) + ": " + Text(value));
    }
}

public sealed class HPackStaticTableTests
{
    [Fact]
    public void Find_returns_the_first_index_of_a_name_and_the_exact_entry_for_every_static_entry()
    {
        for (int i = 1; i <= HPackStaticTable.Count; i++)
        {
            var name = HPackStaticTable.Name(i);
            int first = 1;
            while (!HPackStaticTable.Name(first).SequenceEqual(name)) first++;
            Assert.Equal(first, HPackStaticTable.Find(name, HPackStaticTable.Value(i), out int full));
            Assert.Equal(i, full);
        }
        Assert.Equal(8, HPackStaticTable.Find(":status"u8, "302"u8, out int none));
        Assert.Equal(0, none);
        Assert.Equal(0, HPackStaticTable.Find("x-unknown"u8, ""u8, out _));
        Assert.Equal(0, HPackStaticTable.Find(new byte[100], ""u8, out _));
        Assert.Equal(0, HPackStaticTable.Find(""u8, ""u8, out _));
    }
}
