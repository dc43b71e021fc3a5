using FastProxy.Configuration.Reading;
using FastProxy.Configuration.Validation;

namespace FastProxy.Configuration;

/// <summary>
/// [policies.NAME] type = "basic_auth": user and password (RFC 7617) checked against an htpasswd file, or, without
/// one, against the consumers' basic_password_hash.
/// </summary>
public sealed class BasicAuthOptions : PolicyOptions, IConsumerReferences
{
    public string Realm { get; init; } = "restricted";

    /// <summary>Absolute path of the htpasswd file; null: the users are the consumers with a basic_password_hash.</summary>
    public string? Htpasswd { get; init; }

    /// <summary>The users read from <see cref="Htpasswd"/> at load, in file order (empty without a file).</summary>
    public IReadOnlyList<HtpasswdUser> Users { get; init; } = [];

    /// <summary>Forward the Authorization field to the upstream (default: removed, the upstream never sees the password).</summary>
    public bool ForwardCredentials { get; init; }

    /// <summary>How long a successful bcrypt check is remembered; zero: never (every request pays for bcrypt).</summary>
    public TimeSpan CacheTtl { get; init; } = TimeSpan.FromMinutes(5);

    void IConsumerReferences.Check(LoadContext context, string path, IReadOnlyList<ConsumerConfig> consumers)
    {
        if (Htpasswd is not null) return; // the file's own problems (no users) are reported where it is read
        foreach (var consumer in consumers)
        {
            if (consumer.BasicPasswordHash is not null) return;
        }
        context.Error(path, "no users: give htpasswd = \"FILE\", or a basic_password_hash to at least one [consumers.NAME]");
    }
}

/// <summary>One line of an htpasswd file: a user and the hash of their password (bcrypt or {SHA}).</summary>
public sealed record HtpasswdUser(string Name, string Hash, int Line);
