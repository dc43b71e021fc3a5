using FastProxy.Configuration;
using FastProxy.Diagnostics;
using StackExchange.Redis;

namespace FastProxy.Outbound.Redis;

/// <summary>
/// The one connection to one Redis server ([redis]), shared by every policy and request of the process and kept
/// across reloads that leave the server's address and credentials alone. StackExchange.Redis multiplexes every call
/// over a single socket, pipelined: calls written while others wait for their answers go out together and come back
/// in order, so the number of connections and round trips does not grow with load; what does grow is bounded by
/// <see cref="RedisConfig.MaxInFlight"/> (a call beyond it fails at once rather than queueing). Each call has its own
/// deadline ([redis] timeout), and a <see cref="RedisBreaker"/> stops calls while Redis is down or stalled.
/// StackExchange.Redis reconnects by itself; the breaker's probe notices when it has.
/// </summary>
internal sealed class RedisConnection
{
    private static readonly List<RedisConnection> s_open = [];

    // How long a connection no configuration uses any more stays open: requests started under the old configuration
    // may still be waiting for it.
    private static readonly TimeSpan RetireDelay = TimeSpan.FromSeconds(30);

    private readonly ConnectionMultiplexer _multiplexer;
    private readonly IDatabase _database;
    private int _users;
    private int _inFlight;
    private volatile RedisConfig _config;

    private RedisConnection(RedisConfig config)
    {
        _config = config;
        Breaker = new RedisBreaker(config.Address);
        var options = new ConfigurationOptions
        {
            EndPoints = { { config.Host, config.Port } },
            Ssl = config.Tls,
            SslHost = config.Tls ? config.Host : null,
            User = config.User,
            Password = config.Password,
            DefaultDatabase = config.Database,
            ClientName = "fastproxy",
            // Start even when Redis is down (the breaker answers meanwhile) and keep reconnecting in the background.
            AbortOnConnectFail = false,
            ConnectRetry = 1,
            ConnectTimeout = Milliseconds(config.ConnectTimeout),
            // Our own deadline per call is [redis] timeout (RedisConnection.EvalAsync); the library's, checked on its
            // heartbeat, only frees what a stalled server never answers.
            AsyncTimeout = Math.Max(1000, Milliseconds(config.Timeout)),
            SyncTimeout = Math.Max(1000, Milliseconds(config.ConnectTimeout)),
            // While disconnected a call fails at once instead of waiting in a backlog for the reconnection.
            BacklogPolicy = BacklogPolicy.FailFast,
            // Reconnect every 500 ms while Redis is away (the default backs off exponentially up to 10 s).
            ReconnectRetryPolicy = new LinearRetry(500),
            HeartbeatInterval = TimeSpan.FromMilliseconds(500),
            KeepAlive = 5,
            // Error texts name the command and server only, never arguments (keys hold client addresses and consumer names).
            IncludeDetailInExceptions = false,
            AllowAdmin = false,
        };
        _multiplexer = ConnectionMultiplexer.Connect(options);
        _database = _multiplexer.GetDatabase(config.Database);
        Log.RedisConnected(config.ToString(), _multiplexer.IsConnected, config.Tls ? " (TLS)" : "");
    }

    public RedisBreaker Breaker { get; }

    public RedisConfig Config => _config;

    public bool IsConnected => _multiplexer.IsConnected;

    /// <summary>
    /// The process's connection for <paramref name="config"/>: the one already open when it names the same server and
    /// credentials (its timeout and max_in_flight are updated), else a new one. Each call is paired with <see cref="Release"/>.
    /// </summary>
    public static RedisConnection Acquire(RedisConfig config)
    {
        lock (s_open)
        {
            foreach (var open in s_open)
            {
                if (open.Config.SameConnection(config))
                {
                    open._config = config;
                    open._users++;
                    return open;
                }
            }
            var connection = new RedisConnection(config) { _users = 1 };
            s_open.Add(connection);
            return connection;
        }
    }

    /// <summary>A configuration that used this connection is retired; the last one closes it after a delay.</summary>
    public void Release()
    {
        lock (s_open)
        {
            if (--_users > 0) return;
        }
        _ = CloseLaterAsync();
    }

    private async Task CloseLaterAsync()
    {
        await Task.Delay(RetireDelay).ConfigureAwait(false);
        lock (s_open)
        {
            if (_users > 0) return; // acquired again meanwhile
            s_open.Remove(this);
        }
        await _multiplexer.CloseAsync(allowCommandsToComplete: false).ConfigureAwait(false);
        _multiplexer.Dispose();
    }

    /// <summary>
    /// Runs the GCRA script for <paramref name="key"/> (the full Redis key). Null: a store error (breaker open, too
    /// many calls in flight, no connection, an error answer, or no answer within [redis] timeout); never throws.
    /// </summary>
    public async Task<GcraReply?> EvalGcraAsync(byte[] key, long intervalMicros, long capacityMicros)
    {
        if (!Breaker.TryEnter(out bool probe)) return null;
        var config = _config;
        if (Interlocked.Increment(ref _inFlight) > config.MaxInFlight)
        {
            Interlocked.Decrement(ref _inFlight);
            Breaker.Failure(probe, $"more than {config.MaxInFlight} calls waiting for an answer");
            return null;
        }
        RedisKey[] keys = [key];
        RedisValue[] args = [intervalMicros, capacityMicros];
        long start = Environment.TickCount64;
        Task<RedisResult>? call = null;
        try
        {
            call = _database.ScriptEvaluateAsync(GcraScript.Sha1, keys, args);
            RedisResult result;
            try
            {
                result = await call.WaitAsync(config.Timeout).ConfigureAwait(false);
            }
            catch (RedisServerException e) when (e.Message.StartsWith("NOSCRIPT", StringComparison.Ordinal))
            {
                // Redis restarted (or SCRIPT FLUSH): EVAL runs the script and puts it back in the server's cache, so the
                // next EVALSHA finds it. One round trip, within what is left of the deadline.
                var left = config.Timeout - TimeSpan.FromMilliseconds(Environment.TickCount64 - start);
                if (left <= TimeSpan.Zero) throw new TimeoutException();
                call = _database.ScriptEvaluateAsync(GcraScript.Text, keys, args);
                result = await call.WaitAsync(left).ConfigureAwait(false);
            }
            Interlocked.Decrement(ref _inFlight);
            if (!TryParse(result, out var reply))
            {
                Breaker.Failure(probe, "unexpected answer to the rate-limit script");
                return null;
            }
            Breaker.Success(probe);
            return reply;
        }
        catch (TimeoutException)
        {
            // The call stays in flight until Redis answers or the library gives up on it: only then is its slot free,
            // so a stalled server cannot make calls pile up beyond max_in_flight.
            if (call is null) Interlocked.Decrement(ref _inFlight);
            else _ = call.ContinueWith(static (t, state) =>
                {
                    _ = t.Exception; // observed: a late failure of a call we gave up on is not an unobserved task exception
                    Interlocked.Decrement(ref ((RedisConnection)state!)._inFlight);
                },
                this, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            Breaker.Failure(probe, $"no answer within {Durations(config.Timeout)}");
            return null;
        }
        catch (Exception e)
        {
            Interlocked.Decrement(ref _inFlight);
            Breaker.Failure(probe, Reason(e));
            return null;
        }
    }

    /// <summary>Calls sent and not answered yet (tests, and the in-flight bound).</summary>
    public int InFlight => Volatile.Read(ref _inFlight);

    private static bool TryParse(RedisResult result, out GcraReply reply)
    {
        reply = default;
        if (result.Resp2Type != ResultType.Array || result.Length != 3) return false;
        var parts = (RedisResult[])result!;
        if (parts[0].Resp2Type != ResultType.Integer) return false;
        reply = new GcraReply((long)parts[0] == 1, (long)parts[1], (long)parts[2]);
        return true;
    }

    private static string Reason(Exception e) => e switch
    {
        RedisConnectionException c => $"no connection: {c.FailureType}",
        RedisServerException s => $"error answer: {FirstWord(s.Message)}",
        _ => e.GetType().Name,
    };

    private static string FirstWord(string message)
    {
        int space = message.IndexOf(' ');
        return space < 0 ? message : message[..space];
    }

    private static int Milliseconds(TimeSpan span) => (int)Math.Clamp(span.TotalMilliseconds, 1, int.MaxValue);

    private static string Durations(TimeSpan span) => span.TotalMilliseconds < 1000 ? $"{span.TotalMilliseconds:0}ms" : $"{span.TotalSeconds:0.###}s";
}
