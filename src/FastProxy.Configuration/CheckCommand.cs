namespace FastProxy.Configuration;

/// <summary><c>fastproxy check -c FILE</c>: validate and report, without starting anything.</summary>
public static class CheckCommand
{
    public const int ExitOk = 0;
    public const int ExitInvalid = 2;

    /// <summary>
    /// Exit 0 and "FILE: ok" on stdout (warnings on stderr, one per line, "warning: " first), or
    /// exit 2 and one line per problem on stderr.
    /// </summary>
    /// <param name="unsupported">
    /// What the running proxy would refuse in a valid file (features this build does not have), one line per
    /// problem: check must not say ok to a file that start refuses.
    /// </param>
    public static int Run(string path, TextWriter stdout, TextWriter stderr, Func<ProxyConfig, IReadOnlyList<string>>? unsupported = null)
    {
        var result = ConfigLoader.Load(path);
        if (!result.Success)
        {
            foreach (var error in result.Errors) stderr.WriteLine(error.ToString());
            return ExitInvalid;
        }
        var refused = unsupported?.Invoke(result.Config!) ?? [];
        if (refused.Count > 0)
        {
            foreach (var problem in refused) stderr.WriteLine(problem);
            return ExitInvalid;
        }
        stdout.WriteLine($"{path}: ok");
        foreach (var warning in result.Warnings) stderr.WriteLine($"warning: {warning}");
        return ExitOk;
    }
}
