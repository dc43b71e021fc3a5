using System.Globalization;
using FastProxy.Configuration.Reading;
using FastProxy.Configuration.Values;
using Tomlyn.Model;

namespace FastProxy.Configuration.Validation.Policies;

/// <summary>
/// type = "rate_limit": the key (ip, consumer, route, header:NAME or a list), the rate (limit + window, or rate =
/// "100/m"), the burst, plans per consumer tier, the store and what a store failure does, the response headers.
/// </summary>
internal sealed class RateLimitPolicyType : IPolicyType
{
    public static readonly string[] Keys =
        ["key", "limit", "window", "rate", "burst", "plans", "store", "on_store_error", "headers", "legacy_headers", "max_keys"];

    /// <summary>The finest rate the stores tell apart: one request per microsecond.</summary>
    public const long MaxPerSecond = 1_000_000;

    /// <summary>The longest period (a year): a quota beyond that is a data retention question, not a rate.</summary>
    public static readonly TimeSpan MaxPeriod = TimeSpan.FromDays(366);

    /// <summary>Fields the proxy itself sets or strips: a key read from them would not be the client's.</summary>
    private static readonly string[] ReservedHeaders = ["host", "content-length", "transfer-encoding", "connection", "te", "upgrade", "keep-alive"];

    public string Name => "rate_limit";

    IReadOnlyList<string> IPolicyType.Keys => Keys;

    public PolicyOptions? Read(TableReader policy)
    {
        bool ok = true;
        var key = ReadKey(policy, ref ok);
        var rate = ReadOwnRate(policy, ref ok);

        long? burst = null;
        if (policy.Has("burst"))
        {
            var b = policy.Integer("burst");
            if (b is null) ok = false;
            else if (b < 1 || b > 1_000_000_000)
            {
                policy.Error("burst", TableReader.RangeMessage(1, 1_000_000_000, b.Value.ToString(CultureInfo.InvariantCulture)));
                ok = false;
            }
            else burst = b;
        }
        if (rate is { } r && burst is { } depth && !FitsTolerance(r, depth))
        {
            policy.Error("burst", $"a burst of {depth} at {r.Count} per {Describe(r.Period)} spans more than {MaxPeriod.Days} days; lower it");
            ok = false;
        }

        var plans = ReadPlans(policy, ref ok);

        var store = policy.Choice("store", "store", [("local", RateLimitStoreKind.Local), ("redis", RateLimitStoreKind.Redis)]);
        if (policy.Has("store") && store is null) ok = false;
        // store = "redis" without a [redis] section is refused at policies.NAME.store by RedisValidator.CheckReferences.
        var onError = policy.Choice("on_store_error", "mode", [("allow", RateLimitStoreErrorMode.Allow), ("deny", RateLimitStoreErrorMode.Deny)]);
        if (policy.Has("on_store_error") && onError is null) ok = false;

        var maxKeys = policy.Has("max_keys") ? policy.Int("max_keys", 16, 100_000_000) : RateLimitOptions.DefaultMaxKeys;
        if (maxKeys is null) ok = false;
        if (store == RateLimitStoreKind.Redis && policy.Has("max_keys"))
        {
            policy.Error("max_keys", "bounds the local store only; Redis keys expire on their own (remove it, or use store = \"local\")");
            ok = false;
        }
        var headers = policy.Bool("headers");
        var legacy = policy.Bool("legacy_headers");
        if ((policy.Has("headers") && headers is null) || (policy.Has("legacy_headers") && legacy is null)) ok = false;

        if (!ok || key is null || rate is null || plans is null) return null;
        return new RateLimitOptions
        {
            Key = key,
            Rate = rate.Value,
            Burst = burst,
            Plans = plans,
            Store = store ?? RateLimitStoreKind.Local,
            OnStoreError = onError ?? RateLimitStoreErrorMode.Allow,
            Headers = headers ?? true,
            LegacyHeaders = legacy ?? false,
            MaxKeys = maxKeys!.Value,
        };
    }

    private static List<RateLimitKeyPart>? ReadKey(TableReader policy, ref bool ok)
    {
        var raw = policy.Raw("key");
        if (raw is null) return [RateLimitKeyPart.Ip];
        List<(string Value, string Path)> items;
        if (raw is string single) items = [(single, policy.PathOf("key"))];
        else if (raw is TomlArray)
        {
            var strings = policy.Strings("key");
            if (strings is null) { ok = false; return null; }
            if (strings.Count == 0)
            {
                policy.Error("key", "an empty key: name at least one of \"ip\", \"consumer\", \"route\", \"header:NAME\"");
                ok = false;
                return null;
            }
            items = strings;
        }
        else
        {
            policy.Error("key", $"expected \"ip\", \"consumer\", \"route\", \"header:NAME\" or a list of them, got {TomlTypeNames.Of(raw)}");
            ok = false;
            return null;
        }
        var parts = new List<RateLimitKeyPart>();
        foreach (var (text, path) in items)
        {
            RateLimitKeyPart part;
            if (text == "ip") part = RateLimitKeyPart.Ip;
            else if (text == "consumer") part = RateLimitKeyPart.Consumer;
            else if (text == "route") part = RateLimitKeyPart.Route;
            else if (text.StartsWith("header:", StringComparison.Ordinal))
            {
                var name = text["header:".Length..];
                if (!HttpSyntax.IsToken(name))
                {
                    policy.Context.Error(path, $"\"{name}\" is not a header name (write e.g. \"header:x-tenant\")");
                    ok = false;
                    continue;
                }
                if (ReservedHeaders.Contains(name, StringComparer.OrdinalIgnoreCase))
                {
                    policy.Context.Error(path, $"\"{name}\" is a field the proxy handles itself; key on another header");
                    ok = false;
                    continue;
                }
                part = new RateLimitKeyPart(RateLimitKeyKind.Header, name.ToLowerInvariant());
            }
            else
            {
                policy.Context.Error(path, $"unknown key part \"{text}\" (known: \"ip\", \"consumer\", \"route\", \"header:NAME\")");
                ok = false;
                continue;
            }
            if (parts.Contains(part))
            {
                policy.Context.Error(path, $"\"{text}\" is listed twice");
                ok = false;
                continue;
            }
            parts.Add(part);
        }
        return parts;
    }

    /// <summary>limit + window, or rate: exactly one of the two forms.</summary>
    private static RateLimitRate? ReadOwnRate(TableReader policy, ref bool ok)
    {
        bool hasLimit = policy.Has("limit"), hasWindow = policy.Has("window"), hasRate = policy.Has("rate");
        if (hasRate && (hasLimit || hasWindow))
        {
            policy.Error("rate", "give either rate = \"100/m\" or limit = 100 with window = \"1m\", not both");
            ok = false;
            return null;
        }
        if (hasRate)
        {
            var text = policy.String("rate");
            if (text is null) { ok = false; return null; }
            if (!TryParseRate(text, out var rate, out var problem))
            {
                policy.Error("rate", problem);
                ok = false;
                return null;
            }
            return rate;
        }
        if (!hasLimit)
        {
            policy.TableError("missing the rate: write rate = \"100/m\" (per \"s\", \"m\", \"h\" or \"d\"), or limit = 100 with window = \"1m\"");
            ok = false;
            return null;
        }
        var limit = policy.Integer("limit");
        if (limit is null) { ok = false; return null; }
        if (limit < 1 || limit > 1_000_000_000)
        {
            policy.Error("limit", TableReader.RangeMessage(1, 1_000_000_000, limit.Value.ToString(CultureInfo.InvariantCulture)));
            ok = false;
            return null;
        }
        if (!hasWindow)
        {
            policy.Error("limit", "a limit needs its window, e.g. window = \"1m\" (or write rate = \"100/m\")");
            ok = false;
            return null;
        }
        var window = policy.Duration("window");
        if (window is null) { ok = false; return null; }
        var result = new RateLimitRate(limit.Value, window.Value);
        if (CheckRate(result) is { } trouble)
        {
            policy.Error("window", trouble);
            ok = false;
            return null;
        }
        return result;
    }

    private static List<KeyValuePair<string, RateLimitRate>>? ReadPlans(TableReader policy, ref bool ok)
    {
        var table = policy.Table("plans", keys: null);
        if (table is null)
        {
            if (policy.Has("plans")) ok = false;
            return [];
        }
        var plans = new List<KeyValuePair<string, RateLimitRate>>();
        foreach (var (name, value) in table.Entries)
        {
            if (value is not string text)
            {
                table.Error(name, $"expected a rate such as \"1000/m\", got {TomlTypeNames.Of(value)}");
                ok = false;
                continue;
            }
            if (!TryParseRate(text, out var rate, out var problem))
            {
                table.Error(name, problem);
                ok = false;
                continue;
            }
            plans.Add(new(name, rate));
        }
        return plans;
    }

    /// <summary>"100/m": a whole count per second, minute, hour or day; "100/10s": per any duration.</summary>
    internal static bool TryParseRate(string text, out RateLimitRate rate, out string problem)
    {
        rate = default;
        problem = "";
        int slash = text.IndexOf('/');
        if (slash <= 0 || !long.TryParse(text.AsSpan(0, slash), NumberStyles.None, CultureInfo.InvariantCulture, out long count))
        {
            problem = $"invalid rate \"{text}\": write a whole number of requests per \"s\", \"m\", \"h\" or \"d\", e.g. \"100/m\"";
            return false;
        }
        if (count < 1 || count > 1_000_000_000)
        {
            problem = $"invalid rate \"{text}\": the count must be between 1 and 1000000000";
            return false;
        }
        var unit = text[(slash + 1)..];
        TimeSpan period;
        switch (unit)
        {
            case "s": period = TimeSpan.FromSeconds(1); break;
            case "m": period = TimeSpan.FromMinutes(1); break;
            case "h": period = TimeSpan.FromHours(1); break;
            case "d": period = TimeSpan.FromDays(1); break;
            default:
                if (!Durations.TryParse(unit, out period, out _) || period <= TimeSpan.Zero)
                {
                    problem = $"invalid rate \"{text}\": per \"s\", \"m\", \"h\" or \"d\" (e.g. \"100/m\"), or per a duration (e.g. \"100/10s\")";
                    return false;
                }
                break;
        }
        rate = new RateLimitRate(count, period);
        if (CheckRate(rate) is { } trouble)
        {
            problem = $"invalid rate \"{text}\": {trouble}";
            return false;
        }
        return true;
    }

    private static string? CheckRate(RateLimitRate rate)
    {
        if (rate.Period > MaxPeriod) return $"the period must be at most {MaxPeriod.Days} days";
        // One request per microsecond is the finest step the stores keep.
        if (rate.Period.Ticks / 10 < rate.Count) return $"more than {MaxPerSecond} requests per second cannot be told apart (the stores count in microseconds)";
        return null;
    }

    /// <summary>The burst's span (burst x period/count) stays within a year, so the stores' 48-bit microsecond times cannot overflow.</summary>
    private static bool FitsTolerance(RateLimitRate rate, long burst) =>
        (double)rate.Period.Ticks / rate.Count * burst <= MaxPeriod.Ticks;

    private static string Describe(TimeSpan period) => period.ToString();
}
