using System.Text;
using FastProxy.Policies.Pipeline;

namespace FastProxy.Policies.Types.ForwardAuth;

/// <summary>
/// The auth service's own 3xx or 4xx, relayed to the client: its status, body (at most
/// <see cref="ForwardAuthPolicy.MaxAnswerBytes"/>; the call fails beyond) and the headers a login flow or an API
/// client needs from it. Built per request, since every answer is the auth service's own: allocation is expected on
/// this path (the call itself allocated). Other fields (its Server, Date, framing, anything internal) stay behind.
/// </summary>
internal static class ForwardAuthRelay
{
    /// <summary>
    /// Location (a 302 to the login page), WWW-Authenticate (a 401's challenge), Set-Cookie (the login flow's state,
    /// every one of them), Content-Type (of the body), Retry-After (a 429) and Cache-Control (a login redirect must not
    /// be cached), written with these spellings.
    /// </summary>
    public static readonly string[] RelayedHeaders = ["Location", "WWW-Authenticate", "Set-Cookie", "Content-Type", "Retry-After", "Cache-Control"];

    public static PolicyAnswer Answer(OutboundResponse answer, RejectionCounter counter)
    {
        var lines = new StringBuilder();
        foreach (var relayed in RelayedHeaders)
        {
            foreach (var (name, value) in answer.Headers)
            {
                // A value the client could split into two lines is dropped (the outbound client refuses those anyway).
                if (!string.Equals(name, relayed, StringComparison.OrdinalIgnoreCase) || !HeaderText.IsFieldValue(value)) continue;
                lines.Append(relayed).Append(": ").Append(value.AsSpan().Trim(" \t")).Append("\r\n");
            }
        }
        // RFC 9110 §15.3.5 and §15.4.5: 204 and 304 have no content. (1xx and 2xx never come here.)
        var body = answer.Status is 204 or 304 ? [] : answer.Body;
        return new PolicyAnswer(answer.Status, counter, Encoding.Latin1.GetBytes(lines.ToString()), body) { Relayed = true };
    }
}
