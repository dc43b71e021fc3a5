using System.Text.RegularExpressions;

namespace FastProxy.Tests.Infrastructure;

/// <summary>What one wrk run reported.</summary>
public sealed record WrkResult(long Requests, long Connect, long Read, long Write, long Timeout, long Non2xx, string Output)
{
    public long SocketErrors => Connect + Read + Write + Timeout;

    public override string ToString() => Output;
}

/// <summary>Bounded wrk runs (installed by scripts/deps.sh): one thread, a few connections, a fixed duration.</summary>
public static partial class Wrk
{
    public static async Task<WrkResult> RunAsync(string url, int connections, TimeSpan duration)
    {
        int seconds = Math.Max(1, (int)Math.Ceiling(duration.TotalSeconds));
        var result = await Processes.RunAsync("wrk",
            ["-t1", $"-c{connections}", $"-d{seconds}s", "--timeout", "5s", url],
            timeout: duration + TimeSpan.FromSeconds(30));
        string output = result.StdOut + result.StdErr;
        if (result.ExitCode != 0 && !output.Contains("requests in", StringComparison.Ordinal))
            throw new InvalidOperationException("wrk failed: " + output);
        var requests = RequestsLine().Match(output);
        var errors = SocketErrorsLine().Match(output);
        var non2xx = Non2xxLine().Match(output);
        return new WrkResult(
            requests.Success ? long.Parse(requests.Groups[1].Value) : 0,
            errors.Success ? long.Parse(errors.Groups[1].Value) : 0,
            errors.Success ? long.Parse(errors.Groups[2].Value) : 0,
            errors.Success ? long.Parse(errors.Groups[3].Value) : 0,
            errors.Success ? long.Parse(errors.Groups[4].Value) : 0,
            non2xx.Success ? long.Parse(non2xx.Groups[1].Value) : 0,
            output);
    }

    [GeneratedRegex(@"(\d+) requests in")]
    private static partial Regex RequestsLine();

    [GeneratedRegex(@"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")]
    private static partial Regex SocketErrorsLine();

    [GeneratedRegex(@"Non-2xx or 3xx responses: (\d+)")]
    private static partial Regex Non2xxLine();
}
