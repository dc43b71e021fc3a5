using static FastProxy.Http1.HttpChars;

namespace FastProxy.Http1;

/// <summary>
/// Strict HTTP/1.1 response head parser (RFC 9112 §4, §6). A response whose framing is ambiguous is refused
/// (the proxy answers 502) and never passed on: forwarding it could desynchronise the client connection.
/// </summary>
public static class ResponseParser
{
    public static ParseStatus Parse(ReadOnlySpan<byte> input, ResponseHead head, in HeadLimits limits)
        => HeadParser.Parse<StatusLine>(input, head, limits);

    private readonly struct StatusLine : IStartLineParser
    {
        public bool AllowLeadingEmptyLines => false;

        public HeadError StartLineTooLong => HeadError.InvalidStatusLine;

        /// <summary>status-line = HTTP-version SP status-code SP [ reason-phrase ] (RFC 9112 §4).</summary>
        public HeadError Parse(ReadOnlySpan<byte> line, int lineStart, MessageHead message)
        {
            var head = (ResponseHead)message;
            // "HTTP/1.1 200" is the shortest acceptable line; the SP before an empty reason is often omitted.
            if (line.Length < 12 || line[8] != SP) return HeadError.InvalidStatusLine;
            var version = line[..8];
            if (version.SequenceEqual("HTTP/1.1"u8)) head.Version = HttpVersion.Http11;
            else if (version.SequenceEqual("HTTP/1.0"u8)) head.Version = HttpVersion.Http10;
            else return HeadError.InvalidStatusLine;

            int status = 0;
            for (int i = 9; i < 12; i++)
            {
                uint digit = (uint)(line[i] - '0');
                if (digit > 9) return HeadError.InvalidStatusLine;
                status = status * 10 + (int)digit;
            }
            if (status < 100 || status > 599) return HeadError.InvalidStatusLine;
            if (line.Length > 12)
            {
                if (line[12] != SP) return HeadError.InvalidStatusLine;
                if (line[13..].ContainsAny(FieldValueForbidden)) return HeadError.InvalidStatusLine;
            }
            head.StatusCode = status;
            head.StatusStart = lineStart + 9;
            head.StatusLineEnd = lineStart + line.Length + 2;
            return HeadError.None;
        }

        public HeadError Finish(ReadOnlySpan<byte> input, MessageHead head)
        {
            if (head.TransferEncodingFields > 0)
            {
                if (head.ContentLength >= 0) return HeadError.ContentLengthAndTransferEncoding;
                // Anything but a single "chunked" we could not delimit safely; nginx refuses it the same way.
                var error = HeadParser.CheckTransferEncoding(input, head);
                if (error != HeadError.None) return error == HeadError.UnsupportedTransferEncoding ? HeadError.InvalidTransferEncoding : error;
            }
            HeadParser.MarkConnectionNominated(input, head);
            return HeadError.None;
        }
    }
}
