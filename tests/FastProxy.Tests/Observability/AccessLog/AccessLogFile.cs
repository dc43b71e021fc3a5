using System.Text.Json;

namespace FastProxy.Tests.Observability.AccessLog;

/// <summary>An access log file a test proxy writes: waits (bounded) for its lines and parses the JSON ones.</summary>
internal sealed class AccessLogFile : IDisposable
{
    private readonly string _dir = System.IO.Directory.CreateTempSubdirectory("fastproxy-al-").FullName;

    public AccessLogFile(string name = "access.log") => Path = System.IO.Path.Combine(_dir, name);

    public string Path { get; }

    public string Directory => _dir;

    /// <summary>An [access_log] section writing here, flushed often so tests do not wait.</summary>
    public string Section(string format = "json", string extra = "") => $"""

        [access_log]
        path = "{Path}"
        format = "{format}"
        flush_interval = "10ms"
        {extra}

        """;

    public string[] Lines(string? path = null)
    {
        path ??= Path;
        if (!File.Exists(path)) return [];
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(stream);
        var text = reader.ReadToEnd();
        // Only whole lines: the writer may be in the middle of one.
        int end = text.LastIndexOf('\n');
        return end < 0 ? [] : text[..end].Split('\n');
    }

    /// <summary>The file's lines once there are at least <paramref name="count"/> (fails after 20 s).</summary>
    public async Task<string[]> WaitForLinesAsync(int count, string? path = null)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (true)
        {
            var lines = Lines(path);
            if (lines.Length >= count) return lines;
            Assert.True(DateTime.UtcNow < deadline, $"{lines.Length} of {count} access log lines after 20 s:\n{string.Join("\n", lines)}");
            await Task.Delay(20);
        }
    }

    public async Task<JsonElement[]> WaitForJsonAsync(int count, string? path = null) =>
        [.. (await WaitForLinesAsync(count, path)).Select(l => JsonDocument.Parse(l).RootElement.Clone())];

    public void Dispose()
    {
        try { System.IO.Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }
}
