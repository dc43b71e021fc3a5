using System.Text;

namespace FastProxy.StaticFiles;

/// <summary>
/// Content-Type by file extension: a built-in table of the common web types (nginx's mime.types, the entries browsers
/// care about), overridden or extended per route by <c>types = { ext = "type" }</c>; anything else is
/// application/octet-stream (nginx's default_type). Text types say charset=utf-8, which is what a site's files are.
/// Each type is kept as its whole header line, made once.
/// </summary>
internal sealed class MimeTypes
{
    public const string Default = "application/octet-stream";

    private static readonly (string Ext, string Type)[] s_builtIn =
    [
        ("html", "text/html; charset=utf-8"), ("htm", "text/html; charset=utf-8"),
        ("css", "text/css; charset=utf-8"), ("js", "text/javascript; charset=utf-8"), ("mjs", "text/javascript; charset=utf-8"),
        ("json", "application/json"), ("map", "application/json"), ("webmanifest", "application/manifest+json"),
        ("xml", "application/xml"), ("rss", "application/rss+xml"), ("atom", "application/atom+xml"),
        ("txt", "text/plain; charset=utf-8"), ("md", "text/markdown; charset=utf-8"), ("csv", "text/csv; charset=utf-8"),
        ("svg", "image/svg+xml"), ("png", "image/png"), ("jpg", "image/jpeg"), ("jpeg", "image/jpeg"), ("gif", "image/gif"),
        ("webp", "image/webp"), ("avif", "image/avif"), ("ico", "image/x-icon"), ("bmp", "image/bmp"), ("tif", "image/tiff"),
        ("tiff", "image/tiff"),
        ("woff", "font/woff"), ("woff2", "font/woff2"), ("ttf", "font/ttf"), ("otf", "font/otf"), ("eot", "application/vnd.ms-fontobject"),
        ("wasm", "application/wasm"), ("pdf", "application/pdf"), ("zip", "application/zip"), ("gz", "application/gzip"),
        ("tar", "application/x-tar"), ("mp4", "video/mp4"), ("webm", "video/webm"), ("ogv", "video/ogg"), ("mov", "video/quicktime"),
        ("mp3", "audio/mpeg"), ("m4a", "audio/mp4"), ("ogg", "audio/ogg"), ("oga", "audio/ogg"), ("wav", "audio/wav"),
        ("flac", "audio/flac"), ("vtt", "text/vtt; charset=utf-8"),
    ];

    private readonly Dictionary<string, byte[]> _lines = new(StringComparer.OrdinalIgnoreCase);
    private readonly byte[] _defaultLine = Line(Default);

    public MimeTypes(IReadOnlyList<KeyValuePair<string, string>> overrides)
    {
        foreach (var (ext, type) in s_builtIn) _lines[ext] = Line(type);
        foreach (var (ext, type) in overrides) _lines[ext] = Line(type);
    }

    /// <summary>"Content-Type: TYPE\r\n" for the extension of the last segment of <paramref name="fileName"/>.</summary>
    public byte[] LineFor(ReadOnlySpan<char> fileName)
    {
        int slash = fileName.LastIndexOf('/');
        var name = slash < 0 ? fileName : fileName[(slash + 1)..];
        int dot = name.LastIndexOf('.');
        if (dot < 0 || dot == name.Length - 1) return _defaultLine;
        return _lines.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(name[(dot + 1)..], out var line) ? line : _defaultLine;
    }

    /// <summary>The media type alone (tests, docs).</summary>
    public string TypeFor(string fileName)
    {
        var line = LineFor(fileName);
        return Encoding.ASCII.GetString(line, 14, line.Length - 16);
    }

    private static byte[] Line(string type) => Encoding.ASCII.GetBytes($"Content-Type: {type}\r\n");
}
