using System.Globalization;
using System.Text.RegularExpressions;
using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Observability;

/// <summary>
/// One scrape of /metrics: fetched with curl (as Prometheus would, checking the content type), validated by
/// `promtool check metrics` (Prometheus' own parser and linter), and parsed into samples that tests read by name and labels.
/// </summary>
public sealed partial class MetricsScrape
{
    private readonly List<(string Name, Dictionary<string, string> Labels, double Value)> _samples = [];

    private MetricsScrape(string text)
    {
        Text = text;
        foreach (var line in text.Split('\n'))
        {
            if (line.Length == 0 || line[0] == '#') continue;
            var m = SampleLine().Match(line);
            if (!m.Success) throw new FormatException("not a sample line: " + line);
            var labels = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (Match l in LabelPair().Matches(m.Groups["labels"].Value))
                labels[l.Groups["name"].Value] = Regex.Unescape(l.Groups["value"].Value);
            var value = m.Groups["value"].Value;
            _samples.Add((m.Groups["name"].Value, labels, value == "+Inf" ? double.PositiveInfinity : double.Parse(value, CultureInfo.InvariantCulture)));
        }
    }

    public string Text { get; }

    [GeneratedRegex("""^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>.*)\})? (?<value>\S+)$""")]
    private static partial Regex SampleLine();

    [GeneratedRegex("(?<name>[a-zA-Z_][a-zA-Z0-9_]*)=\"(?<value>(\\\\.|[^\"\\\\])*)\"")]
    private static partial Regex LabelPair();

    /// <summary>GETs http://ADMIN/metrics, checks status and content type, runs promtool on it, and parses it.</summary>
    public static async Task<MetricsScrape> FetchAsync(System.Net.IPEndPoint admin, bool promtool = true)
    {
        var result = await Processes.CurlAsync("-D", "-", $"http://{admin}/metrics");
        Assert.Equal(0, result.ExitCode);
        int split = result.StdOut.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        var head = result.StdOut[..split];
        var body = result.StdOut[(split + 4)..];
        Assert.StartsWith("HTTP/1.1 200", head);
        Assert.Contains("Content-Type: text/plain; version=0.0.4; charset=utf-8", head);
        if (promtool) await CheckAsync(body);
        return new MetricsScrape(body);
    }

    /// <summary>promtool check metrics: exit 0 means parsed, and no lint problem was found (it prints them otherwise).</summary>
    public static async Task CheckAsync(string text)
    {
        var check = await Processes.RunAsync("promtool", ["check", "metrics"], TimeSpan.FromSeconds(20), stdin: text);
        Assert.True(check.ExitCode == 0 && check.StdErr.Trim().Length == 0 && check.StdOut.Trim().Length == 0,
            $"promtool check metrics failed ({check.ExitCode}):\n{check.StdOut}{check.StdErr}\n--- scrape:\n{text}");
    }

    /// <summary>The sum of the samples named <paramref name="name"/> whose labels include <paramref name="labels"/>; 0 when none (an absent series).</summary>
    public double Sum(string name, params (string Name, string Value)[] labels)
    {
        double sum = 0;
        foreach (var (n, l, v) in _samples)
        {
            if (n != name) continue;
            if (labels.All(p => l.TryGetValue(p.Name, out var value) && value == p.Value)) sum += v;
        }
        return sum;
    }

    /// <summary>The one sample named <paramref name="name"/> with exactly these labels; null when absent.</summary>
    public double? Value(string name, params (string Name, string Value)[] labels)
    {
        var found = _samples.Where(s => s.Name == name && s.Labels.Count == labels.Length
            && labels.All(p => s.Labels.TryGetValue(p.Name, out var value) && value == p.Value)).ToList();
        Assert.True(found.Count <= 1, $"{found.Count} samples of {name} with those labels");
        return found.Count == 0 ? null : found[0].Value;
    }

    /// <summary>Scrapes until <paramref name="condition"/> holds: at most 200 scrapes, 20 s, 100 ms apart.</summary>
    public static async Task<MetricsScrape> UntilAsync(System.Net.IPEndPoint admin, Func<MetricsScrape, bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        for (int i = 0; i < 200; i++)
        {
            var scrape = await FetchAsync(admin, promtool: false);
            if (condition(scrape)) return scrape;
            if (DateTime.UtcNow > deadline) break;
            await Task.Delay(100);
        }
        throw new TimeoutException("timed out waiting for " + what);
    }

    public bool HasFamily(string name) => Text.Contains($"# TYPE {name} ", StringComparison.Ordinal);

    public IEnumerable<IReadOnlyDictionary<string, string>> LabelSets(string name) => _samples.Where(s => s.Name == name).Select(s => (IReadOnlyDictionary<string, string>)s.Labels);
}
