using System.Text;

namespace FastProxy.Policies.Types.ErrorPages;

/// <summary>
/// Picks an error page's format from the client's Accept fields (RFC 9110 §12.5.1), without allocating: each format's
/// quality is that of the most specific media range that matches one of its media types (exact, then type/*, then
/// */*); problem+json is served for application/problem+json and application/json, HTML for text/html. The format
/// with the highest quality wins; a tie, no Accept at all, or nothing acceptable gives the policy's first format (an
/// error is sent whatever the client accepts: a 406 instead would hide it).
/// </summary>
internal static class AcceptNegotiation
{
    /// <summary>What Accept said of one candidate: the matching range's specificity (0: none yet) and its q in thousandths.</summary>
    public struct Qualities
    {
        private Specificity _problem, _json, _html;
        private int _qProblem, _qJson, _qHtml;

        /// <summary>At least one Accept element was seen.</summary>
        public bool Any { get; private set; }

        public void Add(ReadOnlySpan<byte> field)
        {
            while (!field.IsEmpty)
            {
                int comma = field.IndexOf((byte)',');
                var element = comma < 0 ? field : field[..comma];
                field = comma < 0 ? default : field[(comma + 1)..];
                AddElement(element);
            }
        }

        private void AddElement(ReadOnlySpan<byte> element)
        {
            int semi = element.IndexOf((byte)';');
            var range = Trim(semi < 0 ? element : element[..semi]);
            if (range.IsEmpty) return;
            int q = 1000;
            var parameters = semi < 0 ? default : element[(semi + 1)..];
            while (!parameters.IsEmpty)
            {
                int next = parameters.IndexOf((byte)';');
                var parameter = Trim(next < 0 ? parameters : parameters[..next]);
                parameters = next < 0 ? default : parameters[(next + 1)..];
                if (parameter.Length >= 2 && (parameter[0] | 0x20) == 'q' && parameter[1] == '=')
                {
                    // A malformed weight makes the element unusable rather than guessed at.
                    if (!TryParseQ(Trim(parameter[2..]), out q)) return;
                    break; // accept-ext parameters after q are not media type parameters
                }
            }
            int slash = range.IndexOf((byte)'/');
            if (slash <= 0 || slash == range.Length - 1) return;
            var type = range[..slash];
            var subtype = range[(slash + 1)..];
            Any = true;
            Consider(ref _problem, ref _qProblem, type, subtype, "application"u8, "problem+json"u8, q);
            Consider(ref _json, ref _qJson, type, subtype, "application"u8, "json"u8, q);
            Consider(ref _html, ref _qHtml, type, subtype, "text"u8, "html"u8, q);
        }

        private static void Consider(ref Specificity best, ref int bestQ, ReadOnlySpan<byte> type, ReadOnlySpan<byte> subtype,
            ReadOnlySpan<byte> wantedType, ReadOnlySpan<byte> wantedSubtype, int q)
        {
            Specificity s;
            if (type.SequenceEqual("*"u8)) s = subtype.SequenceEqual("*"u8) ? Specificity.Any : Specificity.None;
            else if (!Ascii.EqualsIgnoreCase(type, wantedType)) s = Specificity.None;
            else if (subtype.SequenceEqual("*"u8)) s = Specificity.Type;
            else s = Ascii.EqualsIgnoreCase(subtype, wantedSubtype) ? Specificity.Exact : Specificity.None;
            if (s == Specificity.None || s < best) return;
            // The most specific range decides; two equally specific ones (a duplicate): the higher weight.
            bestQ = s > best ? q : Math.Max(bestQ, q);
            best = s;
        }

        /// <summary>problem+json's quality: the better of its two media types.</summary>
        public readonly int ProblemJsonQ => Math.Max(_problem == Specificity.None ? 0 : _qProblem, _json == Specificity.None ? 0 : _qJson);

        public readonly int HtmlQ => _html == Specificity.None ? 0 : _qHtml;
    }

    private enum Specificity : byte
    {
        None = 0,
        Any,
        Type,
        Exact,
    }

    /// <summary>A weight: "0", "1", "0.5", "0.125", "1.000" (RFC 9110 §12.4.2), in thousandths.</summary>
    internal static bool TryParseQ(ReadOnlySpan<byte> text, out int q)
    {
        q = 0;
        if (text.IsEmpty || text.Length > 5 || text[0] is not ((byte)'0' or (byte)'1')) return false;
        int whole = text[0] - '0';
        if (text.Length == 1)
        {
            q = whole * 1000;
            return true;
        }
        if (text[1] != '.') return false;
        int fraction = 0, scale = 100;
        foreach (var b in text[2..])
        {
            if (b is < (byte)'0' or > (byte)'9') return false;
            fraction += (b - '0') * scale;
            scale /= 10;
        }
        if (whole == 1 && fraction != 0) return false;
        q = whole * 1000 + fraction;
        return true;
    }

    private static ReadOnlySpan<byte> Trim(ReadOnlySpan<byte> text) => text.Trim(" \t"u8);
}
