using Microsoft.Extensions.Logging;

namespace FastProxy.Policies.Types.Jwt;

/// <summary>What the jwt policy logs (event ids 1401-1409), source-generated like Diagnostics/Log.cs. Never a token or a secret.</summary>
internal static partial class JwtLog
{
    [LoggerMessage(1401, LogLevel.Information, "policy \"{Policy}\": {Count} key(s) fetched from {Url}; next refresh in about {RefreshSeconds} s")]
    public static partial void KeysFetched(ILogger logger, string policy, string url, int count, long refreshSeconds);

    [LoggerMessage(1402, LogLevel.Warning, "policy \"{Policy}\": fetching keys from {Url} failed ({Error}); the {Count} key(s) already known keep serving")]
    public static partial void FetchFailed(ILogger logger, string policy, string url, string error, int count);

    [LoggerMessage(1403, LogLevel.Warning, "policy \"{Policy}\": a key from {Url} was left out: {Problem}")]
    public static partial void KeyLeftOut(ILogger logger, string policy, string url, string problem);
}
