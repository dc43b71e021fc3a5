using System.Text;
using BenchmarkDotNet.Attributes;
using FastProxy.Http1;

namespace FastProxy.Benchmarks.Http1;

/// <summary>
/// One whole request head per call, arriving in one read (the common case): a browser's navigation request with
/// 20 header fields, and the smallest valid HTTP/1.1 request. The head object is reused, as a connection reuses it.
/// </summary>
[MemoryDiagnoser]
public class RequestParserBenchmarks
{
    /// <summary>What a desktop browser sends when following a link: 20 fields, about 1 KB.</summary>
    private static readonly byte[] Browser = Encoding.ASCII.GetBytes(
        "GET /products/shoes/running?size=42&color=blue&sort=price HTTP/1.1\r\n" +
        "Host: shop.example.com\r\n" +
        "Connection: keep-alive\r\n" +
        "Cache-Control: max-age=0\r\n" +
        "sec-ch-ua: \"Chromium\";v=\"130\", \"Google Chrome\";v=\"130\", \"Not?A_Brand\";v=\"99\"\r\n" +
        "sec-ch-ua-mobile: ?0\r\n" +
        "sec-ch-ua-platform: \"Linux\"\r\n" +
        "Upgrade-Insecure-Requests: 1\r\n" +
        "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36\r\n" +
        "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7\r\n" +
        "Sec-Fetch-Site: same-origin\r\n" +
        "Sec-Fetch-Mode: navigate\r\n" +
        "Sec-Fetch-User: ?1\r\n" +
        "Sec-Fetch-Dest: document\r\n" +
        "Referer: https://shop.example.com/products/shoes\r\n" +
        "Accept-Encoding: gzip, deflate, br, zstd\r\n" +
        "Accept-Language: en-GB,en-US;q=0.9,en;q=0.8,de;q=0.7\r\n" +
        "Cookie: session=3f2a9c1e7b4d4e8f9a0b1c2d3e4f5a6b; cart=17; consent=analytics%3Dno%26ads%3Dno\r\n" +
        "If-None-Match: \"5f3c-61a2b7c9d8e0f\"\r\n" +
        "If-Modified-Since: Tue, 12 Nov 2024 08:30:00 GMT\r\n" +
        "Priority: u=0, i\r\n" +
        "\r\n");

    /// <summary>The least a client may send on HTTP/1.1 (Host is required, RFC 9112 §3.2).</summary>
    private static readonly byte[] Minimal = "GET / HTTP/1.1\r\nHost: a\r\n\r\n"u8.ToArray();

    private readonly RequestHead _head = new();

    [GlobalSetup]
    public void Setup()
    {
        // A benchmark of the error path would measure nothing useful: make sure both inputs parse, fully.
        Check(Browser, expectedFields: 20);
        Check(Minimal, expectedFields: 1);
    }

    [Benchmark(Baseline = true)]
    public ParseStatus BrowserRequest()
    {
        _head.Reset();
        return RequestParser.Parse(Browser, _head, HeadLimits.Default);
    }

    [Benchmark]
    public ParseStatus MinimalRequest()
    {
        _head.Reset();
        return RequestParser.Parse(Minimal, _head, HeadLimits.Default);
    }

    private void Check(byte[] input, int expectedFields)
    {
        _head.Reset();
        var status = RequestParser.Parse(input, _head, HeadLimits.Default);
        if (status != ParseStatus.Complete || _head.FieldCount != expectedFields || _head.HeadLength != input.Length)
        {
            throw new InvalidOperationException($"benchmark input does not parse: {status} {_head.Error}, {_head.FieldCount} fields");
        }
    }
}
