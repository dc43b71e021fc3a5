using FastProxy.Configuration.Reading;

namespace FastProxy.Configuration.Validation;

/// <summary>
/// [listeners.hsts] or hsts = { ... } on a [[listeners]] entry: the Strict-Transport-Security field (RFC 6797). Whether
/// the listener may have it (TLS, http) is <see cref="ListenerValidator"/>'s concern.
/// </summary>
internal static class HstsValidator
{
    public static readonly string[] Keys = ["max_age", "include_subdomains", "preload"];

    public static HstsConfig Read(TableReader table)
    {
        long maxAge = HstsConfig.OneYearSeconds;
        if (table.Raw("max_age") is string text && text.Length > 1 && text[^1] == 'd' && long.TryParse(text.AsSpan(0, text.Length - 1), out long days))
        {
            // The unit HSTS guides use; durations here stop at hours.
            table.Error("max_age", $"invalid duration \"{text}\": durations have no day unit, write \"{Math.Min(days, 100_000) * 24}h\" for {days} days");
        }
        else if (table.Duration("max_age", allowZero: true) is { } duration)
        {
            if (duration.Ticks % TimeSpan.TicksPerSecond != 0)
            {
                table.Error("max_age", "must be whole seconds: max-age counts seconds (RFC 6797 §6.1.1)");
            }
            else
            {
                maxAge = (long)duration.TotalSeconds;
            }
        }
        bool includeSubdomains = table.Bool("include_subdomains") ?? false;
        bool preload = table.Bool("preload") ?? false;
        if (preload)
        {
            // The preload list's own rules (hstspreload.org): a site submitted with less is refused there; a header that
            // says "preload" without meeting them only misleads.
            if (maxAge < HstsConfig.OneYearSeconds)
            {
                table.Error("preload", $"the HSTS preload list requires max_age of at least one year (\"8760h\"); max_age is {maxAge}s");
            }
            if (!includeSubdomains)
            {
                table.Error("preload", "the HSTS preload list requires include_subdomains = true");
            }
        }
        return new HstsConfig
        {
            MaxAgeSeconds = maxAge,
            IncludeSubdomains = includeSubdomains,
            Preload = preload,
            Location = table.Context.Map.Value(table.Path),
        };
    }
}
