using System.Buffers;
using System.Text;
using FastProxy.Configuration;
using FastProxy.Http1;
using FastProxy.Policies.Pipeline;

namespace FastProxy.Policies.Types.Validate;

/// <summary>
/// type = "validate": the request's method (405 with Allow), its body's size (413), required header fields and query
/// parameters (400 naming the missing one), and with json_schema its JSON body (415 when not JSON, 400 when it does
/// not parse or fails the schema, naming the field). Everything about the head is judged here, before a byte of the
/// body is read, from answers built at load, without allocating. A policy with max_body or json_schema is also a body
/// policy (<see cref="ValidateBodyPolicy"/>): the body is read whole, within its cap, before anything is forwarded.
/// </summary>
internal sealed class ValidatePolicy : IPolicy
{
    private readonly ValidateRules _rules;

    private ValidatePolicy(string name, ValidateRules rules)
    {
        Name = name;
        _rules = rules;
    }

    /// <summary>The head-only policy, or the body policy when max_body or json_schema asks for the body.</summary>
    public static IPolicy Create(string name, ValidateOptions options)
    {
        var rules = new ValidateRules(name, options);
        return rules.NeedsBody ? new ValidateBodyPolicy(name, rules) : new ValidatePolicy(name, rules);
    }

    public string Name { get; }

    public ValueTask<PolicyAnswer?> OnRequestAsync(PolicyContext context) => new(_rules.OnHead(context));
}

/// <summary>validate with max_body or json_schema: the head checks, then the whole body (<see cref="IRequestBodyPolicy"/>).</summary>
internal sealed class ValidateBodyPolicy : IPolicy, IRequestBodyPolicy
{
    private readonly ValidateRules _rules;

    public ValidateBodyPolicy(string name, ValidateRules rules)
    {
        Name = name;
        _rules = rules;
    }

    public string Name { get; }

    public long MaxBody => _rules.BodyCap;

    public ValueTask<PolicyAnswer?> OnRequestAsync(PolicyContext context) => new(_rules.OnHead(context));

    public PolicyAnswer? OnBody(PolicyContext context, ReadOnlySequence<byte> body) => _rules.OnBody(context, body);

    public PolicyAnswer? OnTooLarge(PolicyContext context) => _rules.TooLarge;
}

/// <summary>A validate policy's checks, compiled at load: byte names to compare, one answer per refusal reason.</summary>
internal sealed class ValidateRules
{
    private readonly byte[][]? _methods;
    private readonly PolicyAnswer? _methodNotAllowed;
    private readonly long _maxBody;
    private readonly byte[][] _headers;
    private readonly PolicyAnswer[] _missingHeader;
    private readonly byte[][] _query;
    private readonly PolicyAnswer[] _missingQuery;
    private readonly SchemaCheck? _schema;
    private readonly PolicyAnswer _notJson;
    private readonly PolicyAnswer _encoded;
    private readonly PolicyAnswer _bodyRequired;

    public ValidateRules(string name, ValidateOptions options)
    {
        RejectionCounter Counter(string reason) => RejectionCounter.For(name, "validate", reason);
        if (options.Methods is { } methods)
        {
            _methods = [.. methods.Select(Encoding.ASCII.GetBytes)];
            var allow = string.Join(", ", methods);
            _methodNotAllowed = ProblemDetails.Answer(405, Counter("method"), $"the method is not allowed here; allowed: {allow}",
                field: "method", headers: [new("Allow", allow)]);
        }
        _maxBody = options.MaxBody;
        BodyCap = options.MaxBody > 0 ? options.MaxBody : options.JsonSchemaText is null ? 0 : ValidateOptions.DefaultSchemaMaxBody;
        TooLarge = ProblemDetails.Answer(413, Counter("body_too_large"), $"the request body is over {BodyCap} bytes", field: "body");
        _headers = [.. options.RequiredHeaders.Select(Encoding.ASCII.GetBytes)];
        _missingHeader = [.. options.RequiredHeaders.Select(h => ProblemDetails.Answer(400, Counter("missing_header"),
            $"the request has no {h} header field", field: h))];
        _query = [.. options.RequiredQuery.Select(Encoding.UTF8.GetBytes)];
        _missingQuery = [.. options.RequiredQuery.Select(q => ProblemDetails.Answer(400, Counter("missing_query"),
            $"the query has no {q} parameter", field: q))];
        if (options.JsonSchemaText is { } text) _schema = new SchemaCheck(name, text);
        _notJson = ProblemDetails.Answer(415, Counter("media_type"), "the request body must be application/json (or a +json type)", field: "content-type");
        _encoded = ProblemDetails.Answer(415, Counter("media_type"), "a content-coded (compressed) body cannot be validated: send it as identity",
            field: "content-encoding");
        _bodyRequired = ProblemDetails.Answer(400, Counter("invalid_json"), "the request has no body; a JSON body is required", field: "body");
    }

    /// <summary>The body must be read whole before the request goes on.</summary>
    public bool NeedsBody => BodyCap > 0;

    /// <summary>How much body the policy holds; 0 when it does not read bodies.</summary>
    public long BodyCap { get; }

    public PolicyAnswer TooLarge { get; }

    /// <summary>The head's checks, in the order a client would fix them: method, size, header fields, query, media type.</summary>
    public PolicyAnswer? OnHead(PolicyContext context)
    {
        if (_methods is not null && !Allowed(context.MethodBytes)) return _methodNotAllowed;
        var request = context.Request;
        // A Content-Length over max_body is refused before the body is read (a chunked one while it streams: the forwarder).
        if (_maxBody > 0 && !request.IsChunked && request.ContentLength > _maxBody) return TooLarge;
        for (int i = 0; i < _headers.Length; i++)
        {
            if (context.FindHeader(_headers[i]) < 0) return _missingHeader[i];
        }
        for (int i = 0; i < _query.Length; i++)
        {
            if (!context.TryGetQuery(_query[i], out _, out _)) return _missingQuery[i];
        }
        if (_schema is not null)
        {
            if (!request.HasBody)
            {
                // GET, DELETE... carry no body to check; a request whose method is for sending one must send it.
                return context.Method is HttpMethod.Post or HttpMethod.Put or HttpMethod.Patch ? _bodyRequired : null;
            }
            if (!IsJson(context)) return _notJson;
            if (context.TryGetHeader("content-encoding"u8, out var coding) && !coding.Trim(" \t"u8).SequenceEqual("identity"u8)) return _encoded;
        }
        return null;
    }

    /// <summary>The whole body: parsed and checked against the schema (without one, the size was all there was to check).</summary>
    public PolicyAnswer? OnBody(PolicyContext context, ReadOnlySequence<byte> body)
    {
        if (_schema is null) return null;
        if (body.IsEmpty) return context.Request.HasBody || context.Method is HttpMethod.Post or HttpMethod.Put or HttpMethod.Patch ? _bodyRequired : null;
        return _schema.Check(body);
    }

    private bool Allowed(ReadOnlySpan<byte> method)
    {
        foreach (var allowed in _methods!)
        {
            if (method.SequenceEqual(allowed)) return true;
        }
        return false;
    }

    /// <summary>Content-Type is application/json or application/*+json (RFC 6839), parameters aside, case-insensitive.</summary>
    private static bool IsJson(PolicyContext context)
    {
        if (!context.TryGetHeader("content-type"u8, out var value)) return false;
        int semi = value.IndexOf((byte)';');
        var type = (semi < 0 ? value : value[..semi]).Trim(" \t"u8);
        if (type.Length < 12 || !Ascii.EqualsIgnoreCase(type[..12], "application/"u8)) return false;
        var subtype = type[12..];
        if (Ascii.EqualsIgnoreCase(subtype, "json"u8)) return true;
        return subtype.Length > 5 && Ascii.EqualsIgnoreCase(subtype[^5..], "+json"u8) && subtype.IndexOf((byte)'/') < 0;
    }
}
