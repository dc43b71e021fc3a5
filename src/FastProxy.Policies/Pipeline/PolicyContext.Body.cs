using System.Buffers;

namespace FastProxy.Policies.Pipeline;

/// <summary>
/// A request body replaced by a body policy (<see cref="IRequestBodyPolicy"/>): the forwarder sends it instead of the
/// client's, with a Content-Length. Two writers, so that a policy can read the body an earlier policy wrote while it
/// writes its own. Made the first time a body is replaced on this (pooled) context, then reused.
/// </summary>
public sealed partial class PolicyContext
{
    private ArrayBufferWriter<byte>?[]? _bodyWriters;
    /// <summary>-1: the body is the client's; else the writer holding the replacement.</summary>
    private int _bodyWriter = -1;

    /// <summary>A body policy replaced the request body.</summary>
    public bool BodyReplaced => _bodyWriter >= 0;

    /// <summary>The replacement body (empty unless <see cref="BodyReplaced"/>).</summary>
    public ReadOnlyMemory<byte> ReplacedBody => _bodyWriter >= 0 ? _bodyWriters![_bodyWriter]!.WrittenMemory : default;

    /// <summary>
    /// Starts replacing the request body: write the new body into the writer returned (empty). The upstream receives
    /// it with a Content-Length (the client's Transfer-Encoding and Content-Length go); set Content-Type yourself if it
    /// changes. Only from <see cref="IRequestBodyPolicy.OnBody"/>.
    /// </summary>
    public IBufferWriter<byte> ReplaceBody()
    {
        _bodyWriters ??= new ArrayBufferWriter<byte>?[2];
        int next = _bodyWriter == 0 ? 1 : 0;
        var writer = _bodyWriters[next] ??= new ArrayBufferWriter<byte>(1024);
        writer.ResetWrittenCount();
        _bodyWriter = next;
        return writer;
    }

    /// <summary>Replaces the request body with <paramref name="body"/> (copied).</summary>
    public void ReplaceBody(ReadOnlySpan<byte> body) => ReplaceBody().Write(body);

    private void ResetBody()
    {
        if (_bodyWriter < 0) return;
        _bodyWriter = -1;
        // A large replacement is not kept by an idle connection.
        for (int i = 0; i < 2; i++)
        {
            if (_bodyWriters![i] is { Capacity: > 256 * 1024 }) _bodyWriters[i] = null;
        }
    }
}
