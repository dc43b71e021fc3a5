using System.Buffers.Binary;
using System.Text;

namespace FastProxy.Tests.Observability.Tracing;

/// <summary>
/// A small Protocol Buffers decoder for the tests: a message as its fields (number, wire type, value), nothing
/// typed. Enough to read OTLP export requests back without the proxy's own encoder.
/// </summary>
internal sealed class ProtoMessage
{
    public List<(int Field, int Wire, ulong Number, byte[] Bytes)> Fields { get; } = [];

    public static ProtoMessage Parse(ReadOnlySpan<byte> data)
    {
        var message = new ProtoMessage();
        int at = 0;
        while (at < data.Length)
        {
            ulong tag = Varint(data, ref at);
            int field = (int)(tag >> 3), wire = (int)(tag & 7);
            switch (wire)
            {
                case 0:
                    message.Fields.Add((field, wire, Varint(data, ref at), []));
                    break;
                case 1:
                    message.Fields.Add((field, wire, BinaryPrimitives.ReadUInt64LittleEndian(data[at..]), []));
                    at += 8;
                    break;
                case 2:
                    int length = checked((int)Varint(data, ref at));
                    message.Fields.Add((field, wire, 0, data.Slice(at, length).ToArray()));
                    at += length;
                    break;
                case 5:
                    message.Fields.Add((field, wire, BinaryPrimitives.ReadUInt32LittleEndian(data[at..]), []));
                    at += 4;
                    break;
                default:
                    throw new FormatException($"wire type {wire} at {at}");
            }
        }
        return message;
    }

    public IEnumerable<ProtoMessage> Messages(int field) => Fields.Where(f => f.Field == field && f.Wire == 2).Select(f => Parse(f.Bytes));

    public ProtoMessage Message(int field) => Messages(field).Single();

    public byte[]? Bytes(int field) => Fields.Where(f => f.Field == field && f.Wire == 2).Select(f => f.Bytes).SingleOrDefault();

    public string? String(int field) => Bytes(field) is { } b ? Encoding.UTF8.GetString(b) : null;

    public ulong? Number(int field) => Fields.Where(f => f.Field == field && f.Wire != 2).Select(f => (ulong?)f.Number).SingleOrDefault();

    public string Hex(int field) => Convert.ToHexStringLower(Bytes(field) ?? []);

    private static ulong Varint(ReadOnlySpan<byte> data, ref int at)
    {
        ulong value = 0;
        for (int shift = 0; shift < 64; shift += 7)
        {
            byte b = data[at++];
            value |= (ulong)(b & 0x7f) << shift;
            if (b < 0x80) return value;
        }
        throw new FormatException("varint too long");
    }
}

/// <summary>An OTLP span read back: ids as hex, attributes as text.</summary>
internal sealed record DecodedSpan(string TraceId, string SpanId, string ParentSpanId, string Name, ulong Kind, ulong Start, ulong End,
    uint Flags, Dictionary<string, string> Attributes, List<(string Name, Dictionary<string, string> Attributes)> Events, ulong StatusCode)
{
    /// <summary>ExportTraceServiceRequest → resource_spans(1) → scope_spans(2) → spans(2); resource attributes alongside.</summary>
    public static (List<DecodedSpan> Spans, Dictionary<string, string> Resource) Decode(byte[] body)
    {
        var spans = new List<DecodedSpan>();
        var resource = new Dictionary<string, string>();
        foreach (var resourceSpans in ProtoMessage.Parse(body).Messages(1))
        {
            foreach (var kv in resourceSpans.Message(1).Messages(1)) resource[kv.String(1)!] = Value(kv.Message(2));
            foreach (var scopeSpans in resourceSpans.Messages(2))
            {
                foreach (var s in scopeSpans.Messages(2))
                {
                    spans.Add(new DecodedSpan(s.Hex(1), s.Hex(2), s.Hex(4), s.String(5)!, s.Number(6) ?? 0, s.Number(7) ?? 0, s.Number(8) ?? 0,
                        (uint)(s.Number(16) ?? 0), ReadAttributes(s, 9),
                        s.Messages(11).Select(e => (e.String(2)!, ReadAttributes(e, 3))).ToList(),
                        s.Messages(15).SingleOrDefault()?.Number(3) ?? 0));
                }
            }
        }
        return (spans, resource);
    }

    private static Dictionary<string, string> ReadAttributes(ProtoMessage m, int field)
        => m.Messages(field).ToDictionary(kv => kv.String(1)!, kv => Value(kv.Message(2)));

    /// <summary>AnyValue: string_value 1, int_value 3 (as decimal text).</summary>
    private static string Value(ProtoMessage any) => any.String(1) ?? ((long)(any.Number(3) ?? 0)).ToString(System.Globalization.CultureInfo.InvariantCulture);
}
