using FastProxy.Http2.HPack;
using static FastProxy.Tests.Http2.H2Bytes;

namespace FastProxy.Tests.Http2;

/// <summary>
/// Every example of RFC 7541 Appendix C (C.2 - C.6), byte for byte as the RFC prints them: decoded whole, at every
/// split point, one byte per segment and one byte per call; the decoded list and the dynamic table (entries and
/// size) checked after each block; and the encoder must produce the RFC's exact bytes from the header lists.
/// </summary>
public sealed class HPackAppendixCTests
{
    /// <summary>One header block of an example: its wire bytes, its header list, the dynamic table after it (newest first).</summary>
    public sealed record Block(string Hex, string[] Headers, string[] Table, int TableSize);

    public sealed record Example(string Name, int TableSize, bool Huffman, Block[] Blocks, HPackIndexing Indexing = HPackIndexing.Incremental)
    {
        public override string ToString() => Name;
    }

    private static readonly string[] Request1 = [":method: GET", ":scheme: http", ":path: /", ":authority: www.example.com"];
    private static readonly string[] Request2 = [.. Request1, "cache-control: no-cache"];
    private static readonly string[] Request3 = [":method: GET", ":scheme: https", ":path: /index.html", ":authority: www.example.com", "custom-key: custom-value"];
    private static readonly string[] Table1 = [":authority: www.example.com"];
    private static readonly string[] Table2 = ["cache-control: no-cache", ":authority: www.example.com"];
    private static readonly string[] Table3 = ["custom-key: custom-value", "cache-control: no-cache", ":authority: www.example.com"];

    private static readonly string[] Response1 = [":status: 302", "cache-control: private", "date: Mon, 21 Oct 2013 20:13:21 GMT", "location: https://www.example.com"];
    private static readonly string[] Response2 = [":status: 307", "cache-control: private", "date: Mon, 21 Oct 2013 20:13:21 GMT", "location: https://www.example.com"];
    private static readonly string[] Response3 =
    [
        ":status: 200", "cache-control: private", "date: Mon, 21 Oct 2013 20:13:22 GMT", "location: https://www.example.com",
        "content-encoding: gzip", "set-cookie: foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1",
    ];
    private static readonly string[] RTable1 = ["location: https://www.example.com", "date: Mon, 21 Oct 2013 20:13:21 GMT", "cache-control: private", ":status: 302"];
    private static readonly string[] RTable2 = [":status: 307", "location: https://www.example.com", "date: Mon, 21 Oct 2013 20:13:21 GMT", "cache-control: private"];
    private static readonly string[] RTable3 = ["set-cookie: foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1", "content-encoding: gzip", "date: Mon, 21 Oct 2013 20:13:22 GMT"];

    public static TheoryData<Example> Examples() =>
    [
        // C.2.1 Literal Header Field with Indexing
        new("C.2.1", 4096, false, [new("400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572", ["custom-key: custom-header"], ["custom-key: custom-header"], 55)]),
        // C.2.2 Literal Header Field without Indexing
        new("C.2.2", 4096, false, [new("040c 2f73 616d 706c 652f 7061 7468", [":path: /sample/path"], [], 0)], HPackIndexing.Without),
        // C.2.3 Literal Header Field Never Indexed
        new("C.2.3", 4096, false, [new("1008 7061 7373 776f 7264 0673 6563 7265 74", ["password: secret"], [], 0)], HPackIndexing.Never),
        // C.2.4 Indexed Header Field
        new("C.2.4", 4096, false, [new("82", [":method: GET"], [], 0)]),
        // C.3 Request Examples without Huffman Coding
        new("C.3", 4096, false,
        [
            new("8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d", Request1, Table1, 57),
            new("8286 84be 5808 6e6f 2d63 6163 6865", Request2, Table2, 110),
            new("8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65", Request3, Table3, 164),
        ]),
        // C.4 Request Examples with Huffman Coding
        new("C.4", 4096, true,
        [
            new("8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff", Request1, Table1, 57),
            new("8286 84be 5886 a8eb 1064 9cbf", Request2, Table2, 110),
            new("8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf", Request3, Table3, 164),
        ]),
        // C.5 Response Examples without Huffman Coding (SETTINGS_HEADER_TABLE_SIZE 256: evictions)
        new("C.5", 256, false,
        [
            new("""
                4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133
                2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70 6c65 2e63 6f6d
                """, Response1, RTable1, 222),
            new("4803 3330 37c1 c0bf", Response2, RTable2, 222),
            new("""
                88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d
                54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049
                5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e 3d31
                """, Response3, RTable3, 215),
        ]),
        // C.6 Response Examples with Huffman Coding
        new("C.6", 256, true,
        [
            new("""
                4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6
                2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3
                """, Response1, RTable1, 222),
            new("4883 640e ffc1 c0bf", Response2, RTable2, 222),
            new("""
                88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab
                77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f
                9587 3160 65c0 03ed 4ee5 b106 3d50 07
                """, Response3, RTable3, 215),
        ]),
    ];

    private sealed class Collect : IHPackHeaderHandler
    {
        public readonly List<string> Headers = [];
        public readonly List<bool> NeverIndexed = [];

        public void OnHeader(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value, bool neverIndexed)
        {
            Headers.Add(Text(name) + ": " + Text(value));
            NeverIndexed.Add(neverIndexed);
        }
    }

    private static HPackDecoder NewDecoder(Example example) => new(example.TableSize, 16 * 1024);

    private static void AssertTable(HPackDynamicTable table, Block block, string context)
    {
        var entries = Enumerable.Range(1, table.Count).Select(i => Text(table.Name(i)) + ": " + Text(table.Value(i))).ToArray();
        Assert.True(block.Table.SequenceEqual(entries), $"{context}: table [{string.Join(" | ", entries)}]");
        Assert.Equal(block.TableSize, table.Size);
    }

    /// <summary>Decodes the blocks before <paramref name="upTo"/> whole, so the decoder's table is where the RFC's is.</summary>
    private static HPackDecoder DecoderBefore(Example example, int upTo)
    {
        var decoder = NewDecoder(example);
        var sink = new Collect();
        for (int b = 0; b < upTo; b++) Assert.Equal(HPackError.None, decoder.Decode(Hex(example.Blocks[b].Hex).AsSpan(), true, ref sink));
        return decoder;
    }

    [Theory]
    [MemberData(nameof(Examples))]
    public void Decodes_each_block_whole_with_the_table_after_each(Example example)
    {
        var decoder = NewDecoder(example);
        foreach (var block in example.Blocks)
        {
            var sink = new Collect();
            Assert.Equal(HPackError.None, decoder.Decode(Hex(block.Hex).AsSpan(), endOfBlock: true, ref sink));
            Assert.Equal(block.Headers, sink.Headers);
            Assert.All(sink.NeverIndexed, never => Assert.Equal(example.Indexing == HPackIndexing.Never, never));
            AssertTable(decoder.DynamicTable, block, example.Name);
        }
    }

    [Theory]
    [MemberData(nameof(Examples))]
    public void Decodes_every_split_of_every_block(Example example)
    {
        for (int b = 0; b < example.Blocks.Length; b++)
        {
            var block = example.Blocks[b];
            byte[] wire = Hex(block.Hex);
            for (int at = 0; at <= wire.Length; at++)
            {
                // Two calls: the prefix (not the end of the block), then the rest.
                var decoder = DecoderBefore(example, b);
                var sink = new Collect();
                Assert.Equal(HPackError.None, decoder.Decode(wire.AsSpan(0, at), endOfBlock: false, ref sink));
                Assert.Equal(HPackError.None, decoder.Decode(wire.AsSpan(at), endOfBlock: true, ref sink));
                Assert.True(block.Headers.SequenceEqual(sink.Headers), $"{example.Name} block {b} split at {at}");
                AssertTable(decoder.DynamicTable, block, $"{example.Name} block {b} split at {at}");

                // One call over a two-segment sequence cut at the same place.
                decoder = DecoderBefore(example, b);
                sink = new Collect();
                Assert.Equal(HPackError.None, decoder.Decode(Split(wire, at), endOfBlock: true, ref sink));
                Assert.True(block.Headers.SequenceEqual(sink.Headers), $"{example.Name} block {b} sequence split at {at}");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Examples))]
    public void Decodes_one_byte_per_segment_and_one_byte_per_call(Example example)
    {
        for (int b = 0; b < example.Blocks.Length; b++)
        {
            var block = example.Blocks[b];
            byte[] wire = Hex(block.Hex);

            var decoder = DecoderBefore(example, b);
            var sink = new Collect();
            Assert.Equal(HPackError.None, decoder.Decode(BytePerSegment(wire), endOfBlock: true, ref sink));
            Assert.Equal(block.Headers, sink.Headers);
            AssertTable(decoder.DynamicTable, block, example.Name);

            decoder = DecoderBefore(example, b);
            sink = new Collect();
            for (int i = 0; i < wire.Length; i++)
                Assert.Equal(HPackError.None, decoder.Decode(wire.AsSpan(i, 1), endOfBlock: i == wire.Length - 1, ref sink));
            Assert.Equal(block.Headers, sink.Headers);
            AssertTable(decoder.DynamicTable, block, example.Name);
        }
    }

    [Theory]
    [MemberData(nameof(Examples))]
    public void Encoder_produces_the_rfc_bytes_and_table(Example example)
    {
        var encoder = new HPackEncoder(example.TableSize) { UseHuffman = example.Huffman };
        foreach (var block in example.Blocks)
        {
            var output = new byte[1024];
            int written = 0;
            Assert.True(encoder.BeginBlock(output, ref written));
            foreach (string header in block.Headers)
            {
                int colon = header.IndexOf(": ", 1, StringComparison.Ordinal);
                Assert.True(encoder.TryEncode(Ascii(header[..colon]), Ascii(header[(colon + 2)..]), example.Indexing, output, ref written));
            }
            Assert.Equal(Convert.ToHexString(Hex(block.Hex)), Convert.ToHexString(output, 0, written));
            AssertTable(encoder.DynamicTable, block, example.Name + " encoder");
        }
    }
}
