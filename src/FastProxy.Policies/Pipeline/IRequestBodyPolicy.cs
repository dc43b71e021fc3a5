using System.Buffers;

namespace FastProxy.Policies.Pipeline;

/// <summary>
/// A policy that needs the whole request body before anything is forwarded (validate's JSON Schema, a JSON body
/// transform). The forwarder runs it after every policy's <see cref="IPolicy.OnRequestAsync"/> let the request go on:
/// it reads the body whole (Content-Length or chunked, an HTTP/2 stream's DATA alike), up to <see cref="MaxBody"/>,
/// answering 413 as soon as the body passes it (a Content-Length over it before a byte of the body is read; a chunked
/// body while it streams), and nothing reaches the upstream until every body policy has seen it. The body then goes
/// upstream whole with a Content-Length: as the client sent it, or as a policy replaced it
/// (<see cref="PolicyContext.ReplaceBody()"/>). Only routes whose chain holds such a policy pay for any of this.
/// </summary>
public interface IRequestBodyPolicy
{
    /// <summary>The most body this policy will hold, in octets (&gt; 0); the listener's max_body still applies when lower.</summary>
    long MaxBody { get; }

    /// <summary>
    /// The whole body (de-chunked; empty when the request has none; a previous body policy's replacement if one replaced
    /// it). Null: go on. It may call <see cref="PolicyContext.ReplaceBody()"/> to change what the upstream receives.
    /// The sequence is valid only during the call.
    /// </summary>
    PolicyAnswer? OnBody(PolicyContext context, ReadOnlySequence<byte> body);

    /// <summary>The answer when the body passes <see cref="MaxBody"/>; null: the proxy's plain 413.</summary>
    PolicyAnswer? OnTooLarge(PolicyContext context) => null;
}
