using System.Buffers;
using System.Text;
using BenchmarkDotNet.Attributes;
using FastProxy.Forwarding;
using FastProxy.Http1;
using FastProxy.Observability.Tracing;

namespace FastProxy.Benchmarks.Observability;

/// <summary>
/// What trace propagation adds to every forwarded request: the forwarded head written without a trace (what the
/// proxy did before), with a trace the proxy starts (two random ids, a request id, two lines formatted), and with a
/// client's traceparent continued (parsed, one random id). Each call is a whole request's part: RequestTrace.Begin
/// (reading traceparent and x-request-id, sampling off) and RequestHeadWriter.Write into a reused buffer.
/// </summary>
[MemoryDiagnoser]
public class TracePropagationBenchmarks
{
    private static readonly byte[] Plain = Encoding.ASCII.GetBytes(
        "GET /api/orders/17?expand=items HTTP/1.1\r\nHost: api.example.com\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n");

    private static readonly byte[] Traced = Encoding.ASCII.GetBytes(
        "GET /api/orders/17?expand=items HTTP/1.1\r\nHost: api.example.com\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n" +
        "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\ntracestate: congo=t61rcWkgMzE\r\n" +
        "X-Request-Id: 2f1c6a0e-5c1b-4a53-9d4e-1b7f3f0a9c11\r\n\r\n");

    private readonly RequestHead _plain = new();
    private readonly RequestHead _traced = new();
    private readonly RequestTrace _trace = new();
    private readonly ArrayBufferWriter<byte> _output = new(4096);
    private static readonly byte[] Client = "192.0.2.10"u8.ToArray();
    private static readonly byte[] Scheme = "http"u8.ToArray();

    [GlobalSetup]
    public void Setup()
    {
        if (RequestParser.Parse(Plain, _plain, HeadLimits.Default) != ParseStatus.Complete) throw new InvalidOperationException("plain");
        if (RequestParser.Parse(Traced, _traced, HeadLimits.Default) != ParseStatus.Complete) throw new InvalidOperationException("traced");
    }

    [Benchmark(Baseline = true)]
    public int WithoutTrace()
    {
        _output.ResetWrittenCount();
        RequestHeadWriter.Write(_output, _plain, Plain, new RequestRewrite { ClientAddress = Client, Scheme = Scheme });
        return _output.WrittenCount;
    }

    [Benchmark]
    public int TraceStarted()
    {
        _output.ResetWrittenCount();
        _trace.Begin(_plain, Plain, tracer: null, Client);
        RequestHeadWriter.Write(_output, _plain, Plain, new RequestRewrite { ClientAddress = Client, Scheme = Scheme, Trace = _trace });
        return _output.WrittenCount;
    }

    [Benchmark]
    public int TraceContinued()
    {
        _output.ResetWrittenCount();
        _trace.Begin(_traced, Traced, tracer: null, Client);
        RequestHeadWriter.Write(_output, _traced, Traced, new RequestRewrite { ClientAddress = Client, Scheme = Scheme, Trace = _trace });
        return _output.WrittenCount;
    }
}
