using FastProxy.Configuration.Reading;

namespace FastProxy.Configuration.Validation;

/// <summary>[access_log]: where request lines go and how; absent section or path = "off": no access log.</summary>
internal static class AccessLogValidator
{
    public static readonly string[] Keys = ["path", "format", "buffer", "queue", "flush_interval", "redact_query"];

    private static readonly (string, AccessLogFormat)[] Formats = [("json", AccessLogFormat.Json), ("combined", AccessLogFormat.Combined)];

    /// <summary>A line longer than a batch could never be written whole.</summary>
    private const long MinBuffer = 4 * 1024;
    private const long MaxBuffer = 16 * 1024 * 1024;

    public static AccessLogConfig Read(TableReader? table)
    {
        var defaults = new AccessLogConfig();
        if (table is null) return defaults;
        string? path = null;
        if (table.Has("path"))
        {
            var text = table.String("path");
            if (text is { Length: 0 }) table.Error("path", "must not be empty (a file path, \"stdout\" or \"off\")");
            else if (text == AccessLogConfig.Stdout) path = AccessLogConfig.Stdout;
            else if (text is not null and not "off") path = CheckFile(table, text);
        }
        else
        {
            // The section is there to turn the log on: without a path it goes to standard output.
            path = AccessLogConfig.Stdout;
        }
        var format = table.Choice("format", "access log format", Formats) ?? defaults.Format;
        var buffer = table.Size("buffer", MaxBuffer);
        if (buffer is < MinBuffer)
        {
            table.Error("buffer", "must be at least 4KiB (a whole line must fit)");
            buffer = null;
        }
        var redact = new List<string>();
        foreach (var (name, at) in table.Strings("redact_query") ?? [])
        {
            if (name.Length == 0 || name.AsSpan().IndexOfAny("&=# ") >= 0) table.Context.Error(at, $"\"{name}\" is not a query parameter name");
            else redact.Add(name);
        }
        return new AccessLogConfig
        {
            Path = path,
            Format = format,
            Buffer = (int?)buffer ?? defaults.Buffer,
            Queue = table.Int("queue", 16, 1 << 20) ?? defaults.Queue,
            FlushInterval = table.Duration("flush_interval") ?? defaults.FlushInterval,
            RedactQuery = redact,
            Location = table.Context.Map.Value(table.Has("path") ? table.PathOf("path") : table.Path),
        };
    }

    /// <summary>A relative path is relative to the config file; the directory must exist (the file is created at start).</summary>
    private static string? CheckFile(TableReader table, string text)
    {
        var full = table.Context.FullPath(text);
        if (full.EndsWith('/') || Directory.Exists(full))
        {
            table.Error("path", $"{full} is a directory; name a file in it");
            return null;
        }
        var directory = System.IO.Path.GetDirectoryName(full);
        if (directory is not null && !Directory.Exists(directory))
        {
            table.Error("path", $"directory {directory} does not exist");
            return null;
        }
        return full;
    }
}
