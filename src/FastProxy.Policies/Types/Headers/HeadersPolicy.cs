using FastProxy.Configuration;
using FastProxy.Policies.Pipeline;

namespace FastProxy.Policies.Types.Headers;

/// <summary>
/// type = "headers": edits the request the upstream receives and the response the client receives (set, add, remove,
/// rename), with values from templates compiled at load ({client_ip}, {consumer}, {request_id}, {claim.NAME},
/// {header.NAME}). Never answers. A value a variable would break (CR, LF, NUL) is not written, and counted.
/// A policy with response edits is also an <see cref="IResponsePolicy"/>; one with none is <see cref="RequestHeadersPolicy"/>,
/// so a chain without response work stays without it.
/// </summary>
internal sealed class HeadersPolicy : IPolicy, IResponsePolicy
{
    private readonly HeaderEditor _request;
    private readonly HeaderEditor _response;

    private HeadersPolicy(string name, HeadersOptions options)
    {
        Name = name;
        _request = new HeaderEditor(options.Request, Skips);
        _response = new HeaderEditor(options.Response, Skips);
    }

    public static IPolicy Create(string name, HeadersOptions options) =>
        options.Response.IsEmpty ? new RequestHeadersPolicy(name, new HeaderEditor(options.Request, new HeaderSkips())) : new HeadersPolicy(name, options);

    public string Name { get; }

    public HeaderSkips Skips { get; } = new();

    public ValueTask<PolicyAnswer?> OnRequestAsync(PolicyContext context)
    {
        if (!_request.IsEmpty) _request.ApplyToRequest(context);
        return default;
    }

    public void OnResponse(PolicyContext context, ResponseView response) => _response.ApplyToResponse(context, response);
}

/// <summary>A headers policy with request edits only: not an <see cref="IResponsePolicy"/>.</summary>
internal sealed class RequestHeadersPolicy(string name, HeaderEditor request) : IPolicy
{
    public string Name { get; } = name;

    public HeaderSkips Skips => request.Skips;

    public ValueTask<PolicyAnswer?> OnRequestAsync(PolicyContext context)
    {
        request.ApplyToRequest(context);
        return default;
    }
}
