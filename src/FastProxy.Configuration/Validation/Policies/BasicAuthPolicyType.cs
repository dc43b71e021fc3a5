using FastProxy.Configuration.Reading;

namespace FastProxy.Configuration.Validation.Policies;

/// <summary>type = "basic_auth": the realm, where the users come from (an htpasswd file, else the consumers), whether the password is forwarded.</summary>
internal sealed class BasicAuthPolicyType : IPolicyType
{
    public static readonly string[] Keys = ["realm", "htpasswd", "forward_credentials", "cache_ttl"];

    /// <summary>An htpasswd file is a list of users, not a database: anything this big is a wrong file.</summary>
    private const long MaxFileBytes = 4 << 20;

    public string Name => "basic_auth";

    IReadOnlyList<string> IPolicyType.Keys => Keys;

    public PolicyOptions? Read(TableReader policy)
    {
        var realm = ChallengeRealm.Read(policy, "restricted");
        var file = policy.String("htpasswd");
        string? path = null;
        List<HtpasswdUser>? users = [];
        if (file is { Length: 0 })
        {
            policy.Error("htpasswd", "must not be empty (leave it out to use the consumers' basic_password_hash)");
            users = null;
        }
        else if (file is not null)
        {
            path = policy.Context.FullPath(file);
            users = ReadFile(policy.Context, policy.PathOf("htpasswd"), path);
        }
        var ttl = policy.Has("cache_ttl") ? policy.Duration("cache_ttl", allowZero: true) : TimeSpan.FromMinutes(5);
        if (realm is null || users is null || ttl is null) return null;
        return new BasicAuthOptions
        {
            Realm = realm,
            Htpasswd = path,
            Users = users,
            ForwardCredentials = policy.Bool("forward_credentials") ?? false,
            CacheTtl = ttl.Value,
        };
    }

    /// <summary>
    /// The users of an htpasswd file ("user:hash" a line; blank lines and # comments skipped). A line that cannot be
    /// used is an error at its own file:line, so `fastproxy check` points into the htpasswd file, never at a hash's text.
    /// </summary>
    internal static List<HtpasswdUser>? ReadFile(LoadContext context, string keyPath, string file)
    {
        string[] lines;
        try
        {
            var info = new FileInfo(file);
            if (Directory.Exists(file))
            {
                context.Error(keyPath, $"{file} is a directory, expected an htpasswd file");
                return null;
            }
            if (!info.Exists)
            {
                context.Error(keyPath, $"file not found: {file}");
                return null;
            }
            if (info.Length > MaxFileBytes)
            {
                context.Error(keyPath, $"{file} is over 4 MiB: not an htpasswd file?");
                return null;
            }
            lines = File.ReadAllLines(file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            context.Error(keyPath, $"cannot read {file}: {(e is UnauthorizedAccessException ? "permission denied" : e.Message)}");
            return null;
        }

        var users = new List<HtpasswdUser>();
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        bool ok = true;
        for (int i = 0; i < lines.Length; i++)
        {
            var line = lines[i].Trim();
            if (line.Length == 0 || line[0] == '#') continue;
            var at = new SourceLocation(file, i + 1, 1);
            int colon = line.IndexOf(':', StringComparison.Ordinal);
            string? problem = null;
            if (colon <= 0)
            {
                problem = "expected user:hash";
            }
            else if (!ConsumerSetValidator.HeaderSafe(line[..colon]))
            {
                // The user name goes upstream in x-consumer.
                problem = "a user name may only hold letters, digits and - _ . @ +";
            }
            else if (seen.TryGetValue(line[..colon], out int first))
            {
                problem = $"user \"{line[..colon]}\" is already on line {first}";
            }
            else if (PasswordHashes.Check(line[(colon + 1)..]) is { } hashProblem)
            {
                problem = hashProblem;
            }
            if (problem is not null)
            {
                context.Diagnostics.Error(at, keyPath, problem);
                ok = false;
                continue;
            }
            seen[line[..colon]] = i + 1;
            users.Add(new HtpasswdUser(line[..colon], line[(colon + 1)..], i + 1));
        }
        if (ok && users.Count == 0)
        {
            context.Error(keyPath, $"{file} has no users (lines user:hash, e.g. from htpasswd -B)");
            return null;
        }
        return ok ? users : null;
    }
}
