using System.Net.Sockets;
using System.Text.RegularExpressions;
using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Forwarding;

/// <summary>
/// Sends a request the proxy must refuse through a real proxy on loopback, in front of an upstream that only records
/// what reaches it, and checks the whole outcome: the client gets exactly one response, the proxy's own, with the
/// right status and <c>Connection: close</c>; the connection is then closed; and not one byte reached the upstream.
/// </summary>
internal static partial class Refusal
{
    /// <summary>A refusal is written at once; waiting longer than this means it is not coming.</summary>
    public static readonly TimeSpan ReadTimeout = TimeSpan.FromSeconds(5);

    /// <summary>After the refusal has been read, the close must already be there.</summary>
    public static readonly TimeSpan CloseWait = TimeSpan.FromSeconds(1);

    /// <param name="limits">Lines of a [limits] table (without the header), or empty for the defaults.</param>
    /// <param name="pieceSize">0: send in one write; else that many bytes per write, each its own segment.</param>
    public static async Task<string> AssertRefusedAsync(byte[] request, int status, string limits = "", int pieceSize = 0)
    {
        await using var upstream = new RawUpstream(parse: false);
        await using var proxy = TestProxy.Start(Config(upstream.Port, limits));
        using var client = new RawClient(proxy.Port());

        await SendAsync(client, request, pieceSize);
        string response = await client.ReadUntilCloseAsync(ReadTimeout);

        AssertOnlyRefusal(response, status);
        Assert.True(await client.IsClosedAsync(CloseWait), "the connection stayed open after the refusal");
        AssertNothingUpstream(upstream);
        return response;
    }

    public static string Config(int upstreamPort, string limits = "")
        => TestProxy.SimpleConfig([upstreamPort], extraTop: limits.Length == 0 ? "" : "[limits]\n" + limits);

    /// <summary>Sends, tolerating the proxy closing first: a refusal may come before the client has finished.</summary>
    public static async Task SendAsync(RawClient client, byte[] bytes, int pieceSize = 0, int delayMs = 1)
    {
        try
        {
            if (pieceSize <= 0) client.Send(bytes);
            else await client.SendInPiecesAsync(bytes, pieceSize, delayMs);
        }
        catch (SocketException)
        {
            // Refused and closed while we were still sending: what matters is what came back.
        }
    }

    /// <summary>The stream is one response and nothing more: the proxy's <paramref name="status"/>, Connection: close, its body.</summary>
    public static void AssertOnlyRefusal(string stream, int status)
    {
        Assert.True(stream.StartsWith($"HTTP/1.1 {status} ", StringComparison.Ordinal), $"expected {status}, got: {Show(stream)}");
        int end = stream.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        Assert.True(end > 0, $"incomplete response head: {Show(stream)}");
        string head = stream[..(end + 4)];
        Assert.Contains("\r\nConnection: close\r\n", head);
        Assert.Contains("\r\nServer: fastproxy\r\n", head);
        var length = ContentLength().Match(head);
        Assert.True(length.Success, $"no Content-Length: {Show(head)}");
        int bodyLength = int.Parse(length.Groups[1].Value);
        Assert.True(stream.Length == end + 4 + bodyLength, $"more than one response, or a cut one: {Show(stream)}");
    }

    /// <summary>
    /// Splits the first response (head plus Content-Length body) off a stream. RawClient.ReadResponseAsync keeps bytes
    /// read past its response to itself, so tests that want what follows read to the close and split here.
    /// </summary>
    public static (string First, string Following) SplitFirstResponse(string stream)
    {
        int end = stream.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        Assert.True(end > 0, $"incomplete response head: {Show(stream)}");
        var length = ContentLength().Match(stream[..(end + 4)]);
        int total = end + 4 + (length.Success ? int.Parse(length.Groups[1].Value) : 0);
        Assert.True(stream.Length >= total, $"cut response: {Show(stream)}");
        return (stream[..total], stream[total..]);
    }

    public static void AssertNothingUpstream(RawUpstream upstream)
    {
        Assert.Empty(upstream.ReceivedBytes);
        Assert.Equal(0, upstream.Connections);
    }

    public static string Show(string text) => text.Replace("\r", "\\r").Replace("\n", "\\n\n");

    [GeneratedRegex(@"\r\nContent-Length: (\d+)\r\n")]
    private static partial Regex ContentLength();
}
