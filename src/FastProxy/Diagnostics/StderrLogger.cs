using Microsoft.Extensions.Logging;

namespace FastProxy.Diagnostics;

/// <summary>
/// Log lines to standard error, one per event: <c>2026-11-23T07:41:02.113Z warn  message</c>. Small on purpose:
/// the hot path logs nothing at the default level, and the process is meant to run under a supervisor that
/// collects stderr.
/// </summary>
internal sealed class StderrLogger(LogLevel minimum) : ILogger
{
    private readonly Lock _lock = new();
    private readonly TextWriter _out = Console.Error;

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= minimum && logLevel != LogLevel.None;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (!IsEnabled(logLevel)) return;
        string level = logLevel switch
        {
            LogLevel.Trace => "trace",
            LogLevel.Debug => "debug",
            LogLevel.Information => "info ",
            LogLevel.Warning => "warn ",
            LogLevel.Error => "error",
            _ => "crit ",
        };
        string line = $"{DateTime.UtcNow:yyyy-MM-ddTHH:mm:ss.fffZ} {level} {formatter(state, exception)}";
        if (exception is not null && logLevel >= LogLevel.Error) line += Environment.NewLine + exception;
        lock (_lock)
        {
            _out.WriteLine(line);
            _out.Flush();
        }
    }
}
