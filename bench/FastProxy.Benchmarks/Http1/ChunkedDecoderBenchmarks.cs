using System.Text;
using BenchmarkDotNet.Attributes;
using FastProxy.Http1;

namespace FastProxy.Benchmarks.Http1;

/// <summary>
/// Decodes one whole chunked body per call, all of it in one buffer: 16 KiB of payload cut into chunks of
/// <see cref="ChunkSize"/> bytes, then the last chunk and an empty trailer. Small chunks measure the framing
/// state machine (a streaming origin flushing often); large ones the per-chunk bookkeeping around skipped data.
/// </summary>
[MemoryDiagnoser]
public class ChunkedDecoderBenchmarks
{
    private const int PayloadBytes = 16 * 1024;

    private byte[] _body = null!;

    [Params(64, 4096)]
    public int ChunkSize { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var text = new StringBuilder();
        var chunk = new string('x', ChunkSize);
        for (int sent = 0; sent < PayloadBytes; sent += ChunkSize)
        {
            text.Append(ChunkSize.ToString("x")).Append("\r\n").Append(chunk).Append("\r\n");
        }
        text.Append("0\r\n\r\n");
        _body = Encoding.ASCII.GetBytes(text.ToString());

        long data = Decode();
        if (data != PayloadBytes) throw new InvalidOperationException($"benchmark body decoded to {data} bytes, expected {PayloadBytes}");
    }

    [Benchmark]
    public long Decode()
    {
        var decoder = new ChunkedDecoder(maxBody: 0, maxTrailerBytes: 32768, maxTrailerFields: 100);
        ReadOnlySpan<byte> input = _body;
        while (true)
        {
            var step = decoder.Next(input, out int consumed);
            input = input[consumed..];
            if (step == ChunkedStep.Done) return decoder.TotalDataBytes;
            if (step == ChunkedStep.Error || (consumed == 0 && input.IsEmpty)) return -1;
        }
    }
}
