using Microsoft.Extensions.Logging;

namespace FastProxy.Diagnostics;

/// <summary>The calls policies make on their own (forward_auth, JWKS): 7xx.</summary>
internal static partial class Log
{
    /// <summary>Throttled per URL (<see cref="LogThrottle"/>); the URL is written without its query (it may hold a secret).</summary>
    public static void OutboundFailed(string url, string error, Repeats repeats) => OutboundFailedCore(Logger, url, error, repeats.Suffix);
    [LoggerMessage(801, LogLevel.Warning, "outbound call to {Url} failed: {Error}{Repeats}")]
    private static partial void OutboundFailedCore(ILogger logger, string url, string error, string repeats);
}
