using System.Text;
using static FastProxy.Http1.HttpChars;

namespace FastProxy.Http1;

/// <summary>
/// Strict HTTP/1.1 request head parser (RFC 9112 §3, §5, §6; RFC 9110). Anything ambiguous is refused rather
/// than guessed at: a proxy that reads a request differently from the server behind it can be used to smuggle.
/// </summary>
public static class RequestParser
{
    /// <summary>
    /// Parses as much of the head as <paramref name="input"/> holds. <paramref name="input"/> must hold every byte
    /// since the head started (the same prefix each call, longer each time). Call <see cref="MessageHead.Reset"/>
    /// before each new head.
    /// </summary>
    public static ParseStatus Parse(ReadOnlySpan<byte> input, RequestHead head, in HeadLimits limits)
        => HeadParser.Parse<RequestLine>(input, head, limits);

    private readonly struct RequestLine : IStartLineParser
    {
        public bool AllowLeadingEmptyLines => true;

        public HeadError StartLineTooLong => HeadError.RequestLineTooLong;

        /// <summary>request-line = method SP request-target SP HTTP-version (RFC 9112 §3): exactly one SP each.</summary>
        public HeadError Parse(ReadOnlySpan<byte> line, int lineStart, MessageHead message)
        {
            var head = (RequestHead)message;
            int sp1 = line.IndexOf(SP);
            if (sp1 < 0) return HeadError.InvalidRequestLine;
            if (sp1 == 0) return HeadError.InvalidMethod;
            var method = line[..sp1];
            if (IndexOfNonToken(method) >= 0) return HeadError.InvalidMethod;

            var rest = line[(sp1 + 1)..];
            int sp2 = rest.IndexOf(SP);
            if (sp2 < 0) return HeadError.InvalidRequestLine; // HTTP/0.9 "GET /" is not spoken.
            var target = rest[..sp2];
            var version = rest[(sp2 + 1)..];

            if (version.SequenceEqual("HTTP/1.1"u8)) head.Version = HttpVersion.Http11;
            else if (version.SequenceEqual("HTTP/1.0"u8)) head.Version = HttpVersion.Http10;
            else return HeadError.InvalidVersion;

            head.RequestLineStart = lineStart;
            head.MethodLength = sp1;
            head.Method = HttpMethods.Lookup(method);
            // CONNECT tunnels are not offered by a reverse proxy.
            if (head.Method == HttpMethod.Connect) return HeadError.MethodNotImplemented;

            if (target.IsEmpty || target.ContainsAnyExcept(Target)) return HeadError.InvalidTarget;
            int targetStart = lineStart + sp1 + 1;
            head.TargetStart = targetStart;
            head.TargetLength = target.Length;

            if (target[0] == Slash)
            {
                head.TargetForm = TargetForm.Origin;
                SetPath(head, target, targetStart, 0);
                return HeadError.None;
            }
            if (target.Length == 1 && target[0] == Star)
            {
                // RFC 9112 §3.2.4: asterisk-form is only for a server-wide OPTIONS.
                if (head.Method != HttpMethod.Options) return HeadError.AsteriskFormNotOptions;
                head.TargetForm = TargetForm.Asterisk;
                head.PathStart = targetStart;
                head.PathLength = head.PathAndQueryLength = 1;
                return HeadError.None;
            }
            return ParseAbsoluteForm(head, target, targetStart);
        }

        /// <summary>absolute-form (RFC 9112 §3.2.2): http(s)://authority[path-abempty][?query]; the authority then wins over Host.</summary>
        private static HeadError ParseAbsoluteForm(RequestHead head, ReadOnlySpan<byte> target, int targetStart)
        {
            int schemeLength;
            if (target.Length > 7 && Ascii.EqualsIgnoreCase(target[..7], "http://"u8)) schemeLength = 7;
            else if (target.Length > 8 && Ascii.EqualsIgnoreCase(target[..8], "https://"u8)) schemeLength = 8;
            else return HeadError.InvalidTarget;

            var afterScheme = target[schemeLength..];
            int end = afterScheme.IndexOfAny(Slash, Question);
            var authority = end < 0 ? afterScheme : afterScheme[..end];
            // userinfo is deprecated (RFC 9110 §4.2.4) and a known way to confuse which host is meant.
            if (authority.IsEmpty || !IsAuthority(authority) || authority.Contains(At)) return HeadError.InvalidTarget;
            if (!TryGetHostNameLength(authority, out int hostNameLength)) return HeadError.InvalidTarget;

            head.TargetForm = TargetForm.Absolute;
            head.HostStart = targetStart + schemeLength;
            head.HostLength = authority.Length;
            head.HostNameLength = hostNameLength;
            head.HostFromTarget = true;
            SetPath(head, target, targetStart, schemeLength + authority.Length);
            return HeadError.None;
        }

        /// <summary>
        /// TE = #t-codings, t-codings = "trailers" / ( transfer-coding [ weight ] ) (RFC 9110 §10.1.4): true when
        /// the list holds the "trailers" member (case-insensitive, OWS around commas).
        /// </summary>
        private static bool ListsTrailers(ReadOnlySpan<byte> value)
        {
            while (!value.IsEmpty)
            {
                int comma = value.IndexOf((byte)',');
                var member = (comma < 0 ? value : value[..comma]).Trim(" \t"u8);
                if (Ascii.EqualsIgnoreCase(member, "trailers"u8)) return true;
                value = comma < 0 ? default : value[(comma + 1)..];
            }
            return false;
        }

        private static void SetPath(RequestHead head, ReadOnlySpan<byte> target, int targetStart, int pathOffset)
        {
            var pathAndQuery = target[pathOffset..];
            int question = pathAndQuery.IndexOf(Question);
            head.PathStart = targetStart + pathOffset;
            head.PathLength = question < 0 ? pathAndQuery.Length : question;
            head.PathAndQueryLength = pathAndQuery.Length;
        }

        public HeadError Finish(ReadOnlySpan<byte> input, MessageHead message)
        {
            var head = (RequestHead)message;
            var fields = head.Fields;
            int hostField = -1;
            for (int i = 0; i < fields.Length; i++)
            {
                switch (fields[i].Known)
                {
                    case KnownHeader.Host:
                        // RFC 9112 §3.2: more than one Host is a 400.
                        if (hostField >= 0) return HeadError.DuplicateHost;
                        hostField = i;
                        break;
                    case KnownHeader.Expect:
                        if (Ascii.EqualsIgnoreCase(fields[i].Value(input), "100-continue"u8)) head.ExpectContinue = true;
                        break;
                    case KnownHeader.TE:
                        // Only an HTTP/1.1 client can receive trailers (in chunked framing; HTTP/1.0 responses are de-chunked).
                        if (head.Version == HttpVersion.Http11 && ListsTrailers(fields[i].Value(input))) head.AcceptsTrailers = true;
                        break;
                }
            }

            if (hostField >= 0)
            {
                var host = fields[hostField].Value(input);
                if (host.IsEmpty)
                {
                    // An empty Host is only meaningful without an authority; we require one on HTTP/1.1.
                    if (head.Version == HttpVersion.Http11) return HeadError.EmptyHost;
                }
                else
                {
                    if (!IsAuthority(host) || !TryGetHostNameLength(host, out int nameLength)) return HeadError.InvalidHost;
                    if (!head.HostFromTarget)
                    {
                        head.HostStart = fields[hostField].ValueStart;
                        head.HostLength = host.Length;
                        head.HostNameLength = nameLength;
                    }
                }
            }
            else if (head.Version == HttpVersion.Http11)
            {
                return HeadError.MissingHost;
            }

            if (head.TransferEncodingFields > 0)
            {
                // RFC 9112 §6.1: Transfer-Encoding did not exist in HTTP/1.0; with Content-Length too it is a smuggling attempt.
                if (head.Version == HttpVersion.Http10) return HeadError.TransferEncodingOnHttp10;
                if (head.ContentLength >= 0) return HeadError.ContentLengthAndTransferEncoding;
                var error = HeadParser.CheckTransferEncoding(input, head);
                if (error != HeadError.None) return error;
            }

            HeadParser.MarkConnectionNominated(input, head);
            return HeadError.None;
        }
    }

    /// <summary>
    /// Splits host[:port] (RFC 3986 §3.2.2): an IP-literal in brackets, or a reg-name / IPv4 without ':'.
    /// The port, when present, must be digits.
    /// </summary>
    internal static bool TryGetHostNameLength(ReadOnlySpan<byte> authority, out int hostNameLength)
    {
        hostNameLength = 0;
        int portStart;
        if (authority[0] == LBracket)
        {
            int close = authority.IndexOf(RBracket);
            if (close < 2) return false;
            hostNameLength = close + 1;
            portStart = close + 1;
            if (authority[(close + 1)..].Contains(LBracket)) return false;
        }
        else
        {
            if (authority.IndexOfAny(LBracket, RBracket) >= 0) return false;
            int colon = authority.IndexOf(Colon);
            hostNameLength = colon < 0 ? authority.Length : colon;
            portStart = hostNameLength;
            if (hostNameLength == 0) return false;
        }
        if (portStart == authority.Length) return true;
        if (authority[portStart] != Colon) return false;
        var port = authority[(portStart + 1)..];
        // An empty port is allowed by RFC 3986 ("host:"); digits otherwise, at most 5.
        return port.Length <= 5 && !port.ContainsAnyExceptInRange((byte)'0', (byte)'9');
    }
}
