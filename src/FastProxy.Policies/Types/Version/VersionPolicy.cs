using System.Globalization;
using System.Text;
using FastProxy.Configuration;
using FastProxy.Http1;
using FastProxy.Policies.Pipeline;

namespace FastProxy.Policies.Types.Version;

/// <summary>
/// type = "version": reads the API version the request asks for (the path's first segment, a header, the Accept media
/// type application/vnd.NAME.VERSION+json, or a query parameter), and sends the request to that version's upstream
/// (<see cref="PolicyContext.SelectUpstream"/>): its pool, balancer, health, retries and limits. The version segment of a
/// path is removed from what the upstream receives (unless strip = false), and a version's path_prefix put in front.
/// A request naming no version gets the default, or 400; an unknown version is refused with 400 naming it. Deprecated
/// versions' answers carry Deprecation (RFC 9745) and Sunset (RFC 8594). Everything is bytes prepared at load: a request
/// that goes on allocates nothing.
/// </summary>
internal sealed partial class VersionPolicy : IPolicy, ISelectsUpstream
{
    private readonly VersionSource _from;
    private readonly byte[] _fromName;
    private readonly bool _strip;
    private readonly Entry[] _versions;
    private readonly int _default;
    private readonly byte[]? _vary;
    private readonly PolicyAnswer _missing;
    private readonly RejectionCounter _unknown;
    private readonly string _known;

    /// <summary>One version, ready to apply: its name to compare, its upstream's index, its path prefix and the lines its answers get.</summary>
    private sealed class Entry
    {
        public required byte[] Name;
        public required string Text;
        public required int Upstream;
        public byte[]? PathPrefix;
        /// <summary>Deprecation, Sunset and Link values (null: not sent).</summary>
        public byte[]? Deprecation, Sunset, Link;
    }

    public VersionPolicy(string name, VersionOptions options, PolicyBuildContext context)
    {
        Name = name;
        _from = options.From;
        _fromName = Encoding.ASCII.GetBytes(options.FromName ?? "");
        _strip = options.Strip;
        _versions = new Entry[options.Versions.Count];
        for (int i = 0; i < _versions.Length; i++)
        {
            var v = options.Versions[i];
            int upstream = IndexOf(context.UpstreamNames, v.Upstream);
            if (upstream < 0) throw new PolicyBuildException($"policy \"{name}\": version \"{v.Name}\" names upstream \"{v.Upstream}\", which does not exist");
            _versions[i] = new Entry
            {
                Name = Encoding.ASCII.GetBytes(v.Name),
                Text = v.Name,
                Upstream = upstream,
                PathPrefix = v.PathPrefix is null ? null : Encoding.UTF8.GetBytes(v.PathPrefix),
                // RFC 9745 §2.1: an sf-date, "@" and seconds since the epoch.
                Deprecation = v.Deprecation is { } d ? Encoding.ASCII.GetBytes("@" + d.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture)) : null,
                // RFC 8594 §3: an HTTP-date (IMF-fixdate).
                Sunset = v.Sunset is { } s ? Encoding.ASCII.GetBytes(s.UtcDateTime.ToString("r", CultureInfo.InvariantCulture)) : null,
                Link = v.Link is { } link ? Encoding.ASCII.GetBytes($"<{link}>; rel=\"deprecation\"; type=\"text/html\"") : null,
            };
        }
        _default = options.Default is null ? -1 : options.Versions.ToList().FindIndex(v => v.Name == options.Default);
        if (options.Vary)
        {
            _vary = options.From switch
            {
                VersionSource.Header => _fromName,
                VersionSource.Accept => "Accept"u8.ToArray(),
                _ => null,
            };
        }
        _known = string.Join(", ", options.Versions.Select(v => v.Name));
        _missing = new PolicyAnswer(400, RejectionCounter.For(name, "version", "missing_version"), ProblemLines,
            Problem($"The request names no API version ({Where()}); known versions: {_known}."));
        _unknown = RejectionCounter.For(name, "version", "unknown_version");
    }

    public string Name { get; }

    public ValueTask<PolicyAnswer?> OnRequestAsync(PolicyContext context)
    {
        int index;
        ReadOnlySpan<byte> asked;
        switch (_from)
        {
            case VersionSource.Path:
                return FromPath(context);
            case VersionSource.Header:
                asked = context.TryGetHeader(_fromName, out var header) ? header.Trim(" \t"u8) : default;
                break;
            case VersionSource.Accept:
                asked = FromAccept(context);
                break;
            default:
                asked = context.TryGetQuery(_fromName, out var query, out _) ? query : default;
                break;
        }
        if (_vary is not null) context.AddResponseHeader("Vary"u8, _vary);
        if (asked.IsEmpty)
        {
            if (_default < 0) return new ValueTask<PolicyAnswer?>(_missing);
            index = _default;
        }
        else
        {
            index = Find(asked);
            if (index < 0) return new ValueTask<PolicyAnswer?>(Unknown(asked));
        }
        Apply(context, _versions[index]);
        if (_versions[index].PathPrefix is { } prefix) SetPath(context, prefix, context.CurrentPath);
        return default;
    }

    private ValueTask<PolicyAnswer?> FromPath(PolicyContext context)
    {
        // The path as earlier policies left it (a rewrite before this one), else the client's.
        var path = context.CurrentPath;
        var segment = path.Length > 1 ? path[1..] : default;
        int slash = segment.IndexOf((byte)'/');
        if (slash >= 0) segment = segment[..slash];
        int index = segment.IsEmpty ? -1 : Find(segment);
        if (index >= 0)
        {
            var entry = _versions[index];
            Apply(context, entry);
            if (_strip || entry.PathPrefix is not null)
            {
                var rest = _strip ? path[(1 + segment.Length)..] : path;
                SetPath(context, entry.PathPrefix, rest);
            }
            return default;
        }
        if (LooksLikeVersion(segment)) return new ValueTask<PolicyAnswer?>(Unknown(segment));
        if (_default < 0) return new ValueTask<PolicyAnswer?>(_missing);
        // No version in the path: the default's upstream gets the path as it is (behind its path_prefix, if any).
        var fallback = _versions[_default];
        Apply(context, fallback);
        if (fallback.PathPrefix is { } prefix) SetPath(context, prefix, path);
        return default;
    }

    private static void Apply(PolicyContext context, Entry entry)
    {
        context.SelectUpstream(entry.Upstream);
        if (entry.Deprecation is { } deprecation) context.AddResponseHeader("Deprecation"u8, deprecation);
        if (entry.Sunset is { } sunset) context.AddResponseHeader("Sunset"u8, sunset);
        if (entry.Link is { } link) context.AddResponseHeader("Link"u8, link);
    }

    private int Find(ReadOnlySpan<byte> asked)
    {
        var versions = _versions;
        for (int i = 0; i < versions.Length; i++)
        {
            if (versions[i].Name.Length == asked.Length && Ascii.EqualsIgnoreCase(versions[i].Name, asked)) return i;
        }
        return -1;
    }

    /// <summary>
    /// A first path segment that is no configured version but is shaped like one ("v" and a digit: v3, v2.1, v1beta) is an
    /// unknown version (400); any other segment (/users) means the request names no version.
    /// </summary>
    private static bool LooksLikeVersion(ReadOnlySpan<byte> segment) =>
        segment.Length >= 2 && (segment[0] | 0x20) == 'v' && char.IsAsciiDigit((char)segment[1]);

    /// <summary>
    /// The version an Accept field asks for: the first media type application/vnd.NAME.VERSION (with or without a +json
    /// suffix and parameters) gives VERSION, the part after its last dot. None: empty.
    /// </summary>
    private static ReadOnlySpan<byte> FromAccept(PolicyContext context)
    {
        for (int i = context.FindHeader("accept"u8); i >= 0; i = context.FindHeader("accept"u8, i + 1))
        {
            var list = context.HeaderValue(i);
            while (!list.IsEmpty)
            {
                int comma = list.IndexOf((byte)',');
                var element = comma < 0 ? list : list[..comma];
                list = comma < 0 ? default : list[(comma + 1)..];
                int semi = element.IndexOf((byte)';');
                var type = (semi < 0 ? element : element[..semi]).Trim(" \t"u8);
                if (type.Length <= 16 || !Ascii.EqualsIgnoreCase(type[..16], "application/vnd."u8)) continue;
                var subtype = type[16..];
                int plus = subtype.IndexOf((byte)'+');
                if (plus >= 0) subtype = subtype[..plus];
                int dot = subtype.LastIndexOf((byte)'.');
                if (dot > 0 && dot < subtype.Length - 1) return subtype[(dot + 1)..];
            }
        }
        return default;
    }

    private static int IndexOf(IReadOnlyList<string> names, string name)
    {
        for (int i = 0; i < names.Count; i++)
        {
            if (names[i] == name) return i;
        }
        return -1;
    }

    private string Where() => _from switch
    {
        VersionSource.Path => "as the path's first segment, e.g. /" + _versions[0].Text + "/...",
        VersionSource.Header => "in the " + Encoding.ASCII.GetString(_fromName) + " header",
        VersionSource.Accept => "in Accept, e.g. application/vnd.example." + _versions[0].Text + "+json",
        _ => "in the " + Encoding.ASCII.GetString(_fromName) + " query parameter",
    };
}
