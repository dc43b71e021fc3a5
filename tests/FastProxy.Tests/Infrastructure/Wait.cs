namespace FastProxy.Tests.Infrastructure;

/// <summary>Bounded polling for conditions that become true on their own time (health checks, ejections).</summary>
public static class Wait
{
    /// <summary>Polls every 20 ms until <paramref name="condition"/> holds; throws after <paramref name="timeout"/> (default 10 s).</summary>
    public static async Task UntilAsync(Func<bool> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(10));
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"timed out waiting for: {what}");
            await Task.Delay(20);
        }
    }
}
