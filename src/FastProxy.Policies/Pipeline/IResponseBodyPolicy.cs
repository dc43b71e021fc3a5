using System.Buffers;

namespace FastProxy.Policies.Pipeline;

/// <summary>
/// A policy that may rewrite the response body (json_body). Asked once the response head is in, before anything is
/// sent to the client: when it wants the body, the forwarder reads it whole (Content-Length or chunked, within the
/// size it names), hands it over, and sends what the policy wrote with a Content-Length in place of the upstream's
/// framing. A chain without such a policy pays nothing for this.
/// </summary>
public interface IResponseBodyPolicy
{
    /// <summary>
    /// Whether to see this response's body: 0 leaves it alone (streamed as usual); a positive number is the most body
    /// bytes to read for it (a larger body is handed over as too large, see <see cref="OnResponseBody"/>); -1 refuses
    /// the response (the client gets 502). The policy may record response edits on <paramref name="context"/> here
    /// (e.g. a field saying why it skipped). <paramref name="bodyLength"/>: the Content-Length, or -1 when chunked.
    /// </summary>
    long WantsResponseBody(PolicyContext context, ResponseView response, long bodyLength);

    /// <summary>
    /// The whole body, de-chunked but still in the Content-Encoding the head names; or, with
    /// <paramref name="tooLarge"/>, nothing (it grew past the size asked for). Write a replacement into
    /// <paramref name="output"/> and say <see cref="ResponseBodyOutcome.Replaced"/>, or leave it as it came.
    /// </summary>
    ResponseBodyOutcome OnResponseBody(PolicyContext context, ResponseView response, ReadOnlyMemory<byte> body, bool tooLarge, IBufferWriter<byte> output);
}

public enum ResponseBodyOutcome : byte
{
    /// <summary>The body goes to the client as the upstream sent it.</summary>
    Unchanged = 0,
    /// <summary>What the policy wrote goes instead, with a Content-Length (Transfer-Encoding dropped).</summary>
    Replaced,
    /// <summary>The client gets 502 instead of this response.</summary>
    Refused,
}
