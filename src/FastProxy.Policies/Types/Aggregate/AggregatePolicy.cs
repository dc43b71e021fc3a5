using System.Buffers;
using System.Text;
using System.Text.Json;
using FastProxy.Configuration;
using FastProxy.Policies.Pipeline;

namespace FastProxy.Policies.Types.Aggregate;

/// <summary>
/// type = "aggregate": answers the request itself with one JSON object merged from its parts' answers. The parts'
/// requests are built from the client's request (targets and headers), sent in parallel through each part's
/// upstream (<see cref="IUpstreamCalls"/>: its pool, balancer, health and timeouts), and their bodies, each checked to
/// be one JSON value, become the object's members in config order, whatever order they finish in (the slowest never
/// overwrites the fastest). A part that fails (no answer in its time, non-2xx, not JSON, over max_part_body) is left
/// out with <c>x-aggregate-partial: true</c> (partial = "omit") or makes the answer a 502 naming it ("fail"); with
/// every part failed the answer is a 502 either way. Not the hot path: a request here allocates (bounded by the
/// parts' count and max_part_body).
/// </summary>
internal sealed class AggregatePolicy : IPolicy
{
    private static readonly byte[] s_jsonLines = "Content-Type: application/json\r\n"u8.ToArray();
    private static readonly byte[] s_partialLines = "Content-Type: application/json\r\nx-aggregate-partial: true\r\n"u8.ToArray();
    private static readonly byte[] s_problemLines = "Content-Type: application/problem+json\r\n"u8.ToArray();

    private readonly CompiledPart[] _parts;
    private readonly IUpstreamCalls? _upstreams;
    private readonly TimeSpan _timeout;
    private readonly AggregatePartial _partial;
    private readonly int _maxPartBody;
    private readonly RejectionCounter _merged;
    private readonly RejectionCounter _partialCounter;
    private readonly RejectionCounter _failed;

    public AggregatePolicy(string name, AggregateOptions options, PolicyBuildContext context)
    {
        Name = name;
        _upstreams = context.Upstreams;
        _timeout = options.Timeout;
        _partial = options.Partial;
        _maxPartBody = (int)Math.Min(options.MaxPartBody, int.MaxValue);
        _parts = [.. options.Parts.Select(p => new CompiledPart(p, options.Timeout))];
        _merged = RejectionCounter.For(name, "aggregate", "merged");
        _partialCounter = RejectionCounter.For(name, "aggregate", "partial");
        _failed = RejectionCounter.For(name, "aggregate", "part_failed");
    }

    public string Name { get; }

    public ValueTask<PolicyAnswer?> OnRequestAsync(PolicyContext context)
    {
        // Everything read from the request is read now, before any wait: the head's bytes are the forwarder's.
        var calls = new UpstreamCall?[_parts.Length];
        var problems = new string?[_parts.Length];
        for (int i = 0; i < _parts.Length; i++)
        {
            var part = _parts[i];
            var target = part.Target.Expand(context, out problems[i]);
            if (target is null) continue;
            calls[i] = new UpstreamCall
            {
                Upstream = part.Upstream,
                Method = part.Method,
                PathAndQuery = target,
                HeaderLines = part.HeaderLines(context),
                MaxBody = _maxPartBody,
                Timeout = part.Timeout,
                Client = context.Client,
            };
        }
        return new ValueTask<PolicyAnswer?>(RunAsync(calls, problems, context.RequestAborted));
    }

    private async Task<PolicyAnswer?> RunAsync(UpstreamCall?[] calls, string?[] problems, CancellationToken aborted)
    {
        using var whole = CancellationTokenSource.CreateLinkedTokenSource(aborted);
        whole.CancelAfter(_timeout);
        var results = new UpstreamCallResult[_parts.Length];
        var tasks = new Task[_parts.Length];
        for (int i = 0; i < _parts.Length; i++)
        {
            if (calls[i] is null)
            {
                tasks[i] = Task.CompletedTask;
                if (_partial == AggregatePartial.Fail) whole.Cancel();
                continue;
            }
            tasks[i] = CallAsync(i, calls[i]!, results, problems, whole);
        }
        await Task.WhenAll(tasks).ConfigureAwait(false);

        // The first part (in config order) that failed for a reason of its own names the failure; parts cut short
        // because another had failed already (partial = "fail") say only that.
        int failedCount = 0;
        int named = -1;
        for (int i = 0; i < _parts.Length; i++)
        {
            if (problems[i] is null) continue;
            failedCount++;
            if (named < 0 && results[i].Outcome != UpstreamCallOutcome.Canceled) named = i;
        }
        if (named < 0 && failedCount > 0) named = Array.FindIndex(problems, p => p is not null);
        if (failedCount == _parts.Length || (failedCount > 0 && _partial == AggregatePartial.Fail))
        {
            // "Every part failed" only when each failed on its own: with partial = "fail", the others were cut short by the first.
            return Problem(_parts[named].Name, problems[named]!, _partial == AggregatePartial.Omit && _parts.Length > 1);
        }

        var body = new ArrayBufferWriter<byte>(1024);
        using (var writer = new Utf8JsonWriter(body, new JsonWriterOptions { SkipValidation = true }))
        {
            writer.WriteStartObject();
            for (int i = 0; i < _parts.Length; i++)
            {
                if (problems[i] is not null) continue;
                writer.WritePropertyName(_parts[i].Member);
                writer.WriteRawValue(results[i].Body.Span, skipInputValidation: true);
            }
            writer.WriteEndObject();
        }
        // The chain counts the answer it returns, under the counter that says which kind of answer it was.
        var counter = failedCount > 0 ? _partialCounter : _merged;
        return new PolicyAnswer(200, counter, failedCount > 0 ? s_partialLines : s_jsonLines, body.WrittenSpan.ToArray());
    }

    private async Task CallAsync(int index, UpstreamCall call, UpstreamCallResult[] results, string?[] problems, CancellationTokenSource whole)
    {
        UpstreamCallResult result;
        try
        {
            result = _upstreams is null
                ? UpstreamCallResult.Failed(UpstreamCallOutcome.UnknownUpstream)
                : await _upstreams.SendAsync(call, whole.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // The host promises not to throw; a bug there must not take the answer down with it.
            result = UpstreamCallResult.Failed(UpstreamCallOutcome.BadResponse);
        }
        results[index] = result;
        var problem = Check(result, whole.IsCancellationRequested);
        if (problem is null) return;
        problems[index] = problem;
        // Nothing more to wait for: the answer is a 502 whatever the others say.
        if (_partial == AggregatePartial.Fail)
        {
            try
            {
                whole.Cancel();
            }
            catch (ObjectDisposedException)
            {
            }
        }
    }

    /// <summary>Why a part's answer cannot be merged; null when it can.</summary>
    private string? Check(in UpstreamCallResult result, bool cut)
    {
        switch (result.Outcome)
        {
            case UpstreamCallOutcome.Answered:
                break;
            case UpstreamCallOutcome.TimedOut:
                return "no answer within its timeout";
            case UpstreamCallOutcome.Canceled:
                return cut ? "no answer within the aggregate's timeout (or another part failed first)" : "cancelled";
            case UpstreamCallOutcome.TooLarge:
                return $"body larger than max_part_body ({_maxPartBody} bytes)";
            case UpstreamCallOutcome.Unavailable:
                return "no server available (down, ejected, drained or at its limits)";
            case UpstreamCallOutcome.ConnectFailed:
                return "could not connect";
            case UpstreamCallOutcome.UnknownUpstream:
                return "no such upstream in this configuration";
            default:
                return "bad or cut-short response";
        }
        if (result.Status is < 200 or >= 300) return $"status {result.Status}";
        if (result.ContentEncoding is { } encoding && !encoding.Equals("identity", StringComparison.OrdinalIgnoreCase))
            return $"Content-Encoding {encoding} (not decoded)";
        return IsOneJsonValue(result.Body.Span) ? null : "body is not JSON";
    }

    /// <summary>Exactly one JSON value (RFC 8259), with nothing but whitespace around it; written as it is into the answer.</summary>
    internal static bool IsOneJsonValue(ReadOnlySpan<byte> body)
    {
        if (body.IsEmpty) return false;
        var reader = new Utf8JsonReader(body, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Disallow, MaxDepth = 64 });
        try
        {
            if (!reader.Read()) return false;
            reader.Skip();
            // A second value (or garbage) after the first throws here.
            return !reader.Read();
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private PolicyAnswer Problem(string part, string why, bool every)
    {
        var body = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(body))
        {
            // RFC 9457 problem details.
            writer.WriteStartObject();
            writer.WriteString("type", "about:blank");
            writer.WriteString("title", "Bad Gateway");
            writer.WriteNumber("status", 502);
            writer.WriteString("detail", every ? $"every part of the aggregate failed; part \"{part}\": {why}" : $"aggregate part \"{part}\" failed: {why}");
            writer.WriteString("part", part);
            writer.WriteEndObject();
        }
        return new PolicyAnswer(502, _failed, s_problemLines, body.WrittenSpan.ToArray());
    }

    /// <summary>A part as the policy runs it: its target template, member name, method, headers to copy.</summary>
    private sealed class CompiledPart
    {
        private readonly byte[][] _copied;

        public CompiledPart(AggregatePart part, TimeSpan policyTimeout)
        {
            Name = part.Name;
            Member = JsonEncodedText.Encode(part.Name);
            Upstream = part.Upstream;
            Method = part.Method;
            Target = new AggregateTarget(part.Path);
            Timeout = part.Timeout is { } own && own < policyTimeout ? own : policyTimeout;
            _copied = [.. part.Headers.Select(h => Encoding.ASCII.GetBytes(h))];
            SendsAccept = !part.Headers.Contains("accept");
        }

        public string Name { get; }
        public JsonEncodedText Member { get; }
        public string Upstream { get; }
        public string Method { get; }
        public AggregateTarget Target { get; }
        public TimeSpan Timeout { get; }
        private bool SendsAccept { get; }

        /// <summary>x-request-id (the request's), the client's traceparent, the listed client fields, Accept: application/json unless copied.</summary>
        public byte[] HeaderLines(PolicyContext context)
        {
            var lines = new ArrayBufferWriter<byte>(256);
            Line(lines, "x-request-id"u8, context.RequestId);
            if (context.TryGetHeader("traceparent"u8, out var traceparent)) Line(lines, "traceparent"u8, traceparent);
            foreach (var name in _copied)
            {
                for (int i = context.FindHeader(name); i >= 0; i = context.FindHeader(name, i + 1)) Line(lines, name, context.HeaderValue(i));
            }
            if (SendsAccept) lines.Write("accept: application/json\r\n"u8);
            return lines.WrittenSpan.ToArray();
        }

        private static void Line(ArrayBufferWriter<byte> lines, ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
        {
            // A parsed field's value holds no CR, LF or NUL already; checked again because this becomes a line as it is.
            if (!HeaderText.IsFieldValue(value)) return;
            lines.Write(name);
            lines.Write(": "u8);
            lines.Write(value);
            lines.Write("\r\n"u8);
        }
    }
}
