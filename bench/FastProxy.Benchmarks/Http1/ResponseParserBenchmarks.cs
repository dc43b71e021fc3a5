using System.Text;
using BenchmarkDotNet.Attributes;
using FastProxy.Http1;

namespace FastProxy.Benchmarks.Http1;

/// <summary>
/// One response head per call, as an origin sends it: a typical web server's head for a cached page (11 fields),
/// and the smallest head a keep-alive origin can send. The head object is reused, as an upstream connection reuses it.
/// </summary>
[MemoryDiagnoser]
public class ResponseParserBenchmarks
{
    private static readonly byte[] Typical = Encoding.ASCII.GetBytes(
        "HTTP/1.1 200 OK\r\n" +
        "Server: nginx/1.22.1\r\n" +
        "Date: Sun, 23 Nov 2025 07:45:00 GMT\r\n" +
        "Content-Type: text/html; charset=utf-8\r\n" +
        "Content-Length: 16384\r\n" +
        "Last-Modified: Tue, 12 Nov 2024 08:30:00 GMT\r\n" +
        "Connection: keep-alive\r\n" +
        "ETag: \"5f3c-61a2b7c9d8e0f\"\r\n" +
        "Cache-Control: public, max-age=3600\r\n" +
        "Vary: Accept-Encoding\r\n" +
        "X-Content-Type-Options: nosniff\r\n" +
        "Accept-Ranges: bytes\r\n" +
        "\r\n");

    private static readonly byte[] Minimal = "HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\n"u8.ToArray();

    private readonly ResponseHead _head = new();

    [GlobalSetup]
    public void Setup()
    {
        Check(Typical, expectedFields: 11, expectedLength: 16384);
        Check(Minimal, expectedFields: 1, expectedLength: 13);
    }

    [Benchmark(Baseline = true)]
    public ParseStatus TypicalResponse()
    {
        _head.Reset();
        return ResponseParser.Parse(Typical, _head, HeadLimits.Default);
    }

    [Benchmark]
    public ParseStatus MinimalResponse()
    {
        _head.Reset();
        return ResponseParser.Parse(Minimal, _head, HeadLimits.Default);
    }

    private void Check(byte[] input, int expectedFields, long expectedLength)
    {
        _head.Reset();
        var status = ResponseParser.Parse(input, _head, HeadLimits.Default);
        if (status != ParseStatus.Complete || _head.FieldCount != expectedFields || _head.ContentLength != expectedLength || _head.StatusCode != 200)
        {
            throw new InvalidOperationException($"benchmark input does not parse: {status} {_head.Error}, {_head.FieldCount} fields");
        }
    }
}
