using System.Buffers.Binary;
using System.Net;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Text;

namespace FastProxy.Tests.GrpcWeb;

/// <summary>
/// A gRPC-Web client written for the tests, as a browser library would speak it: a 5-octet framed message POSTed
/// with application/grpc-web+proto (or the -text variant, base64), the answer's frames read back from the body
/// (data frames, then the trailer frame, flag 0x80, with "name:value" lines). Its base64 reading is its own (group by
/// group with Convert), not the proxy's decoder.
/// </summary>
internal static class GrpcWebClient
{
    public sealed record Reply(HttpStatusCode Status, string? ContentType, HttpResponseMessage Response, List<byte[]> Messages,
        Dictionary<string, string>? Trailers, byte[] RawBody)
    {
        /// <summary>A response header (or a trailers-only field in the head).</summary>
        public string? Header(string name) => Response.Headers.TryGetValues(name, out var values) ? string.Join(",", values) : null;
    }

    public static HttpClient Client(Version version) => new(new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(10) })
    {
        DefaultRequestVersion = version,
        DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        Timeout = TimeSpan.FromSeconds(30),
    };

    public static byte[] Frame(byte flags, byte[] message)
    {
        var frame = new byte[5 + message.Length];
        frame[0] = flags;
        BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(1), message.Length);
        message.CopyTo(frame, 5);
        return frame;
    }

    /// <summary>
    /// One call. <paramref name="text"/>: the -text content-type and a base64 body; <paramref name="unknownLength"/>:
    /// the body goes without Content-Length (chunked over HTTP/1.1, DATA without content-length over h2).
    /// </summary>
    public static async Task<Reply> CallAsync(HttpClient client, Uri url, byte[] message, bool text, bool unknownLength = false,
        string? acceptText = null, string? contentType = null)
    {
        var body = Frame(0, message);
        if (text) body = Encoding.ASCII.GetBytes(Convert.ToBase64String(body));
        HttpContent content = unknownLength ? new StreamContent(new UnknownLengthStream(body)) : new ByteArrayContent(body);
        content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType ?? (text ? "application/grpc-web-text+proto" : "application/grpc-web+proto"));
        using var request = new HttpRequestMessage(System.Net.Http.HttpMethod.Post, url) { Content = content };
        request.Headers.Add("x-grpc-web", "1");
        if (acceptText is not null) request.Headers.TryAddWithoutValidation("accept", acceptText);
        var response = await client.SendAsync(request);
        var raw = await response.Content.ReadAsByteArrayAsync();
        var contentTypeBack = response.Content.Headers.ContentType?.ToString();
        bool textBack = contentTypeBack?.StartsWith("application/grpc-web-text", StringComparison.Ordinal) == true;
        var (messages, trailers) = contentTypeBack?.StartsWith("application/grpc-web", StringComparison.Ordinal) == true
            ? ReadFrames(textBack ? DecodeText(raw) : raw)
            : ([], null);
        return new Reply(response.StatusCode, contentTypeBack, response, messages, trailers, raw);
    }

    /// <summary>Base64 group by group: a sender may pad at the end of any frame, so the body is not one base64 string.</summary>
    public static byte[] DecodeText(byte[] text)
    {
        Assert.True(text.Length % 4 == 0, $"text body of {text.Length} characters is not whole groups");
        var result = new List<byte>();
        for (int i = 0; i < text.Length; i += 4) result.AddRange(Convert.FromBase64String(Encoding.ASCII.GetString(text, i, 4)));
        return result.ToArray();
    }

    /// <summary>The data frames' messages, and the trailer frame's fields (null: none), which must come last.</summary>
    public static (List<byte[]> Messages, Dictionary<string, string>? Trailers) ReadFrames(byte[] body)
    {
        var messages = new List<byte[]>();
        Dictionary<string, string>? trailers = null;
        int at = 0;
        while (at < body.Length)
        {
            Assert.True(trailers is null, "a frame after the trailer frame");
            Assert.True(body.Length - at >= 5, "a cut frame prefix");
            byte flags = body[at];
            int length = BinaryPrimitives.ReadInt32BigEndian(body.AsSpan(at + 1));
            Assert.True(body.Length - at - 5 >= length, "a cut frame");
            var payload = body.AsSpan(at + 5, length).ToArray();
            at += 5 + length;
            if ((flags & 0x80) == 0)
            {
                messages.Add(payload);
                continue;
            }
            trailers = [];
            foreach (var line in Encoding.ASCII.GetString(payload).Split("\r\n", StringSplitOptions.RemoveEmptyEntries))
            {
                int colon = line.IndexOf(':');
                trailers[line[..colon]] = line[(colon + 1)..].Trim();
            }
        }
        return (messages, trailers);
    }

    /// <summary>A body whose length the client cannot know in advance (no Content-Length is sent).</summary>
    private sealed class UnknownLengthStream(byte[] data) : MemoryStream(data)
    {
        public override bool CanSeek => false;
    }
}
