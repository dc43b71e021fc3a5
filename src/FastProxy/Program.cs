using System.Diagnostics;
using System.Runtime.InteropServices;
using FastProxy.Configuration;
using FastProxy.Diagnostics;
using FastProxy.Hosting;
using FastProxy.Transport;
using Microsoft.Extensions.Logging;

namespace FastProxy;

/// <summary>The command line (docs/operations.md): run, check, version; signals for reload and stop.</summary>
public static class Program
{
    public const int ExitOk = 0;
    /// <summary>The proxy could not start (a port in use, say).</summary>
    public const int ExitStartFailed = 1;
    /// <summary>Bad configuration or bad command line.</summary>
    public const int ExitBadConfig = 2;

    private const string Usage = """
        usage: fastproxy [-c FILE]            run with FILE (default ./proxy.toml)
               fastproxy check [-c FILE]      validate FILE and exit: 0 and "FILE: ok", or 2 and one line per problem
               fastproxy --version            print the version
               fastproxy ingress [-c FILE] [--ingress-class NAME] [--kubeconfig FILE] ...
                                              run as a Kubernetes ingress controller (fastproxy ingress --help)
        signals: SIGHUP reloads the configuration; SIGUSR1 reopens the access log; SIGTERM and SIGINT stop gracefully.
        environment: FASTPROXY_LOG_LEVEL = debug | info | warn | error (default info)
        """;

    public static int Main(string[] args)
    {
        long started = Stopwatch.GetTimestamp();
        // Before any socket exists: the runtime reads this once (docs/architecture.md).
        PipeSettings.EnableInlineSocketCompletions();

        bool check = false;
        string path = "proxy.toml";
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "ingress" when i == 0:
                    if (!TryParseLevel(Environment.GetEnvironmentVariable(LogLevelVariable), out var ingressLevel))
                    {
                        Console.Error.WriteLine($"fastproxy: {LogLevelVariable}=\"{Environment.GetEnvironmentVariable(LogLevelVariable)}\" is not a log level; use one of {LogLevels} (or leave it unset for info)");
                        return ExitBadConfig;
                    }
                    return Kubernetes.IngressCommand.Run(args.AsSpan(1), ingressLevel);
                case "check" when i == 0:
                    check = true;
                    break;
                case "-c" or "--config":
                    if (i + 1 == args.Length || args[i + 1].Length == 0)
                    {
                        Console.Error.WriteLine($"fastproxy: {args[i]} needs a FILE argument: the configuration file, e.g. {args[i]} proxy.toml");
                        Console.Error.WriteLine(Usage);
                        return ExitBadConfig;
                    }
                    path = args[++i];
                    break;
                case "--version" or "-V":
                    Console.Out.WriteLine($"fastproxy {Version}");
                    return ExitOk;
                case "-h" or "--help":
                    Console.Out.WriteLine(Usage);
                    return ExitOk;
                default:
                    Console.Error.WriteLine($"fastproxy: unknown argument \"{args[i]}\"");
                    Console.Error.WriteLine(Usage);
                    return ExitBadConfig;
            }
        }

        // Checked for `check` too: it must refuse what start would refuse.
        if (!TryParseLevel(Environment.GetEnvironmentVariable(LogLevelVariable), out var level))
        {
            Console.Error.WriteLine($"fastproxy: {LogLevelVariable}=\"{Environment.GetEnvironmentVariable(LogLevelVariable)}\" is not a log level; use one of {LogLevels} (or leave it unset for info)");
            return ExitBadConfig;
        }
        if (check) return CheckCommand.Run(path, Console.Out, Console.Error, ProxyRuntime.Unsupported);
        return Run(path, level, started);
    }

    public static string Version =>
        typeof(Program).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false) is [System.Reflection.AssemblyInformationalVersionAttribute a, ..]
            ? a.InformationalVersion.Split('+')[0]
            : "0.0.0";

    private static int Run(string path, LogLevel level, long started)
    {
        Log.Logger = new StderrLogger(level);
        var loaded = ConfigLoader.Load(path);
        if (loaded.Config is null)
        {
            foreach (var error in loaded.Errors) Console.Error.WriteLine(error);
            return ExitBadConfig;
        }

        ProxyHost host;
        try
        {
            host = ProxyHost.Start(loaded.Config);
        }
        catch (ProxyStartException ex)
        {
            foreach (var problem in ex.Problems) Console.Error.WriteLine(problem);
            return ExitBadConfig;
        }
        catch (ListenerBindException ex)
        {
            Console.Error.WriteLine($"{path}: {ex.Message}");
            return ExitStartFailed;
        }
        Log.Started(path, loaded.Config.Listeners.Count, (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds);

        var stop = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, ctx => { ctx.Cancel = true; stop.TrySetResult("SIGTERM"); });
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, ctx => { ctx.Cancel = true; stop.TrySetResult("SIGINT"); });
        using var hangup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, ctx =>
        {
            ctx.Cancel = true;
            // Off the signal thread: loading reads files and may resolve names.
            ThreadPool.QueueUserWorkItem(_ => Reload(host, path));
        });
        // SIGUSR1 (10 on Linux; PosixSignal names only the portable signals, raw numbers are accepted): reopen the
        // access log by name, after logrotate renamed it. Registered even without an access log: the default action
        // of SIGUSR1 is to terminate, and a logrotate script must not kill the proxy.
        using var reopen = PosixSignalRegistration.Create(SigUsr1, ctx =>
        {
            ctx.Cancel = true;
            host.ReopenLogs();
        });

        stop.Task.Wait();
        var timeout = host.Config.Global.ShutdownTimeout;
        int abandoned = host.StopAsync(timeout).GetAwaiter().GetResult();
        Log.Stopped(abandoned);
        host.DisposeAsync().AsTask().GetAwaiter().GetResult();
        return ExitOk;
    }

    /// <summary>SIGUSR1's number on Linux (signal(7)); other systems number it differently.</summary>
    private const PosixSignal SigUsr1 = (PosixSignal)10;

    private static void Reload(ProxyHost host, string path)
    {
        var loaded = ConfigLoader.Load(path);
        if (loaded.Config is null)
        {
            Log.ReloadRefused(string.Join("; ", loaded.Errors));
            host.Services.Metrics.ReloadFinished(ok: false);
            return;
        }
        try
        {
            host.Reload(loaded.Config);
            Log.Reloaded(path);
        }
        catch (Exception ex) when (ex is ProxyStartException or ListenerBindException)
        {
            Log.ReloadRefused(ex.Message);
        }
    }

    private const string LogLevelVariable = "FASTPROXY_LOG_LEVEL";
    private const string LogLevels = "debug, info, warn, error";

    /// <summary>
    /// FASTPROXY_LOG_LEVEL: unset or empty is info. Anything else that is not a level is an error, not info: a typo
    /// ("debgu") would otherwise hide the very lines it asked for.
    /// </summary>
    private static bool TryParseLevel(string? value, out LogLevel level)
    {
        level = value?.Trim().ToLowerInvariant() switch
        {
            null or "" => LogLevel.Information,
            "trace" => LogLevel.Trace,
            "debug" => LogLevel.Debug,
            "info" or "information" => LogLevel.Information,
            "warn" or "warning" => LogLevel.Warning,
            "error" => LogLevel.Error,
            _ => LogLevel.None,
        };
        return level != LogLevel.None;
    }
}
