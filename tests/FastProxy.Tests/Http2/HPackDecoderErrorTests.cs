using FastProxy.Http2.HPack;
using static FastProxy.Tests.Http2.H2Bytes;

namespace FastProxy.Tests.Http2;

/// <summary>Malformed and hostile HPACK input: each refused with its own error, at once, and for good.</summary>
public sealed class HPackDecoderErrorTests
{
    private struct Count : IHPackHeaderHandler
    {
        public int Fields;
        public void OnHeader(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value, bool neverIndexed) => Fields++;
    }

    private static HPackError Decode(string hex, int tableSize = 4096, int maxList = 16 * 1024, bool end = true) =>
        Decode(new HPackDecoder(tableSize, maxList), Hex(hex), end);

    private static HPackError Decode(HPackDecoder decoder, byte[] wire, bool end = true)
    {
        var sink = new Count();
        return decoder.Decode(wire.AsSpan(), end, ref sink);
    }

    [Theory]
    [InlineData("80")]                 // index 0 (§6.1: MUST be treated as a decoding error)
    [InlineData("be")]                 // index 62 with an empty dynamic table
    [InlineData("ff80 01")]            // index 255: past both tables
    [InlineData("7e 03 616263")]       // literal with indexed name 62: nothing there
    [InlineData("1f 30 03 616263")]    // never indexed, name index 15 + 48 = 63: nothing there
    public void Index_out_of_the_tables_is_refused(string hex) => Assert.Equal(HPackError.BadIndex, Decode(hex));

    [Theory]
    [InlineData("ff ffffffff 0f")]     // 127 + 0x7f_ffff_ff.. : past int.MaxValue
    [InlineData("ff ffffffff 7f")]
    [InlineData("ff 8080808080 00")]   // six continuation octets (zero padding): refused, not looped on
    [InlineData("7f ffffffffff 01")]   // a literal's name index overflowing
    [InlineData("3f ffffffff 0f")]     // a table size update overflowing
    public void Integer_overflow_is_refused(string hex) => Assert.Equal(HPackError.IntegerOverflow, Decode(hex));

    [Fact]
    public void Largest_five_octet_integer_that_fits_is_accepted_as_an_index_and_then_refused_as_bad()
    {
        // 127 + 0x7FFFFF80 = int.MaxValue: a valid integer, but no such entry.
        Assert.Equal(HPackError.BadIndex, Decode("ff 80ffffff07"));
    }

    [Fact]
    public void Oversized_string_is_refused_from_its_length_before_its_octets_arrive()
    {
        // Literal name of 100,000 octets against a 4 KiB list limit: refused with only the length read.
        var decoder = new HPackDecoder(4096, 4096);
        Assert.Equal(HPackError.StringTooLong, Decode(decoder, Hex("40 7f a1 8c 06"), end: false));
        Assert.Equal(HPackError.StringTooLong, decoder.Error);
        // And the decoder stays failed: the dynamic table can no longer be trusted.
        Assert.Equal(HPackError.StringTooLong, Decode(decoder, Hex("82")));
    }

    [Fact]
    public void Huffman_string_that_decodes_past_the_buffer_is_refused()
    {
        // 200 octets of Huffman '0's (5 bits each) decode to 320 octets; the limit is 256.
        byte[] huffman = new byte[200]; // all zero bits: '0' '0' ... then the last 0 bits are bad padding, but it overflows first
        byte[] wire = [0x40, 0x01, (byte)'a', 0xff, 0x49, .. huffman]; // value: H=1, length 127 + 73 = 200
        Assert.Equal(HPackError.StringTooLong, Decode(new HPackDecoder(4096, 256), wire));
    }

    [Theory]
    [InlineData("40 01 61 84 ffffffff")]  // the value is EOS (30 ones) plus 2 more: EOS may never be decoded (§5.2)
    [InlineData("40 01 61 82 1fff")]      // 'a' (00011) then 11 bits of ones: padding longer than 7 bits
    [InlineData("40 01 61 81 18")]        // 'a' then padding 000: not the most significant bits of EOS
    [InlineData("40 01 61 81 1e")]        // 'a' then 110: not all ones
    [InlineData("40 81 ff 01 61")]        // a name of nothing but 8 bits of padding
    public void Bad_huffman_is_refused(string hex) => Assert.Equal(HPackError.BadHuffman, Decode(hex));

    [Fact]
    public void Valid_huffman_padding_of_one_to_seven_bits_is_accepted()
    {
        // 'a' + 111 padding; "aa" = 00011 00011 + 111111; empty Huffman string (length 0).
        Assert.Equal(HPackError.None, Decode("40 01 61 81 1f"));
        Assert.Equal(HPackError.None, Decode("40 01 61 82 18ff"));
        Assert.Equal(HPackError.None, Decode("40 01 61 80"));
    }

    [Fact]
    public void Table_size_update_up_to_the_setting_is_applied_and_over_it_refused()
    {
        var decoder = new HPackDecoder(4096, 16 * 1024);
        Assert.Equal(HPackError.None, Decode(decoder, Hex("3fe11f"))); // 31 + 97 + 31*128 = 4096
        Assert.Equal(4096, decoder.DynamicTable.MaxSize);
        Assert.Equal(HPackError.TableSizeUpdateTooLarge, Decode("3fe21f")); // 4097
    }

    [Fact]
    public void Table_size_update_evicts_and_zero_empties()
    {
        var decoder = new HPackDecoder(4096, 16 * 1024);
        Assert.Equal(HPackError.None, Decode(decoder, Hex("400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572")));
        Assert.Equal(1, decoder.DynamicTable.Count);
        Assert.Equal(HPackError.None, Decode(decoder, Hex("20 82"))); // size 0, then a field
        Assert.Equal(0, decoder.DynamicTable.Count);
        Assert.Equal(HPackError.BadIndex, Decode(decoder, Hex("3f e11f be"))); // back to 4096 (allowed), but entry 62 is gone
    }

    [Fact]
    public void Two_size_updates_at_the_start_of_a_block_are_allowed()
    {
        Assert.Equal(HPackError.None, Decode("20 3fe11f 82")); // §4.2: the smallest, then the final size
    }

    [Theory]
    [InlineData("82 20")]           // after an indexed field
    [InlineData("0400 3f00")]       // after a literal field: "0400" is :path with empty value, then an update
    public void Table_size_update_after_a_field_is_refused(string hex) =>
        Assert.Equal(HPackError.TableSizeUpdateNotAtStart, Decode(hex));

    [Fact]
    public void Table_size_update_at_the_start_of_the_next_block_is_allowed()
    {
        var decoder = new HPackDecoder(4096, 16 * 1024);
        Assert.Equal(HPackError.None, Decode(decoder, Hex("82")));
        Assert.Equal(HPackError.None, Decode(decoder, Hex("20 82")));
    }

    [Theory]
    [InlineData("40 0a 6375 73")]   // inside a literal name
    [InlineData("40 0a")]           // after a name length
    [InlineData("41")]              // before the value's length
    [InlineData("ff")]              // inside an integer
    public void Block_ending_inside_a_field_is_refused(string hex) => Assert.Equal(HPackError.TruncatedBlock, Decode(hex));

    [Fact]
    public void Hpack_bomb_indexing_one_large_entry_many_times_stops_at_the_header_list_limit()
    {
        // One 4,000-octet value added to the table (about 4 KiB), then 1,000 one-octet references to it: 4 MB decoded
        // from 1 KB if unchecked. Each reference counts 4,033 against the 16 KiB limit: the fifth is refused.
        var decoder = new HPackDecoder(4096, 16 * 1024);
        byte[] add = [0x40, 0x01, (byte)'x', 0x7f, 0xa1, 0x1e, .. new byte[4000].Select(_ => (byte)'v')]; // 127 + 33 + 30*128 = 4000
        Assert.Equal(HPackError.None, Decode(decoder, add));
        var sink = new Count();
        byte[] bomb = Enumerable.Repeat((byte)0xbe, 1000).ToArray();
        Assert.Equal(HPackError.HeaderListTooLarge, decoder.Decode(bomb.AsSpan(), true, ref sink));
        Assert.Equal(4, sink.Fields); // 4 * 4,033 = 16,132 fits in 16,384; a fifth does not
    }

    [Fact]
    public void Header_list_limit_counts_across_a_whole_block_and_resets_for_the_next()
    {
        var decoder = new HPackDecoder(4096, 100);
        // Each ":method: GET" counts 7 + 3 + 32 = 42: two fit in 100, three do not.
        Assert.Equal(HPackError.None, Decode(decoder, Hex("8282")));
        Assert.Equal(HPackError.None, Decode(decoder, Hex("8282")));
        Assert.Equal(HPackError.HeaderListTooLarge, Decode(decoder, Hex("828282")));
    }

    [Fact]
    public void Entry_larger_than_the_table_empties_it_and_is_not_added()
    {
        var decoder = new HPackDecoder(64, 16 * 1024);
        Assert.Equal(HPackError.None, Decode(decoder, Hex("40 01 61 01 62"))); // a: b, size 34
        Assert.Equal(1, decoder.DynamicTable.Count);
        byte[] big = [0x40, 0x01, (byte)'c', 0x20, .. Enumerable.Repeat((byte)'d', 32)]; // size 65 > 64
        Assert.Equal(HPackError.None, Decode(decoder, big));
        Assert.Equal(0, decoder.DynamicTable.Count);
        Assert.Equal(0, decoder.DynamicTable.Size);
    }

    [Fact]
    public void Literal_naming_the_entry_it_evicts_keeps_the_name()
    {
        // §4.4: a new entry may name an entry that adding it evicts. Table of 70: "aaaa: b" (37), then a literal
        // with name index 62 (that entry) and a 30-octet value: adding it (4 + 30 + 32 = 66) evicts the first.
        var decoder = new HPackDecoder(70, 16 * 1024);
        Assert.Equal(HPackError.None, Decode(decoder, Hex("40 04 61616161 01 62")));
        byte[] wire = [0x7e, 0x1e, .. Enumerable.Repeat((byte)'z', 30)];
        var sink = new Collect2();
        Assert.Equal(HPackError.None, decoder.Decode(wire.AsSpan(), true, ref sink));
        Assert.Equal("aaaa", sink.Last);
        Assert.Equal(1, decoder.DynamicTable.Count);
        Assert.Equal("aaaa", Text(decoder.DynamicTable.Name(1)));
    }

    private struct Collect2 : IHPackHeaderHandler
    {
        public string Last;
        public void OnHeader(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value, bool neverIndexed) => Last = Text(name);
    }
}
