using System.Buffers;
using System.Buffers.Text;
using System.Text;
using FastProxy.Configuration;
using FastProxy.Policies.Consumers;
using FastProxy.Policies.Pipeline;

namespace FastProxy.Policies.Types.BasicAuth;

/// <summary>
/// type = "basic_auth" (RFC 7617): "Authorization: Basic base64(user:password)" checked against the htpasswd file's
/// users, or, without one, the consumers that have a basic_password_hash. A user names the consumer of the same name
/// (so its groups and plan apply); an htpasswd user with no such consumer is a consumer of its own, with no groups.
/// {SHA} users and remembered bcrypt successes are checked synchronously, without allocation; a bcrypt check runs on
/// the thread pool, at most <see cref="BcryptSlots"/> at a time, so a flood of wrong passwords cannot take every core.
/// An unknown user costs the same check as a wrong password, so timing does not tell which users exist.
/// </summary>
internal sealed class BasicAuthPolicy : IPolicy
{
    /// <summary>Longest "user:password" accepted (decoded): far beyond any real one, and it fits on the stack.</summary>
    private const int MaxCredentialBytes = 1024;

    /// <summary>Half the cores (at least one) may be hashing bcrypt at once; the rest keep moving requests. Shared by every basic_auth policy.</summary>
    internal static readonly int BcryptSlots = Math.Max(1, Environment.ProcessorCount / 2);
    private static readonly SemaphoreSlim s_bcryptGate = new(BcryptSlots, BcryptSlots);

    private readonly Dictionary<byte[], User> _users = new(ByteKeyComparer.Instance);
    private readonly Dictionary<byte[], User>.AlternateLookup<ReadOnlySpan<byte>> _byName;
    /// <summary>Checked against when the user is unknown, its answer ignored: the same cost as a wrong password.</summary>
    private readonly StoredPassword _decoy;
    private readonly bool _forward;
    private readonly VerifiedCache? _cache;
    private readonly PolicyAnswer _missing;
    private readonly PolicyAnswer _invalid;

    public BasicAuthPolicy(string name, BasicAuthOptions options, ConsumerDirectory consumers, TimeProvider time)
    {
        Name = name;
        if (options.Htpasswd is not null)
        {
            foreach (var user in options.Users)
            {
                // A declared consumer of that name: its groups apply. Otherwise the user stands for itself (x-consumer: USER).
                var consumer = consumers.ByName(user.Name) ?? new Consumer(new ConsumerConfig { Name = user.Name });
                _users[Encoding.UTF8.GetBytes(user.Name)] = new User(consumer, StoredPassword.Parse(user.Hash));
            }
        }
        else
        {
            foreach (var consumer in consumers.All)
            {
                if (consumer.BasicPasswordHash is { } hash) _users[consumer.NameBytes] = new User(consumer, StoredPassword.Parse(hash));
            }
        }
        if (_users.Count == 0) throw new InvalidOperationException($"policy \"{name}\": basic_auth has no users");
        _byName = _users.GetAlternateLookup<ReadOnlySpan<byte>>();
        // The slowest kind there is: were it {SHA} while some user is bcrypt, a quick refusal would say "no such user".
        _decoy = _users.Values.Select(u => u.Password).FirstOrDefault(p => p.IsSlow) ?? _users.Values.First().Password;
        _forward = options.ForwardCredentials;
        _cache = options.CacheTtl > TimeSpan.Zero ? new VerifiedCache(options.CacheTtl, time) : null;
        // charset: the server expects UTF-8 user names and passwords (RFC 7617 §2.1).
        KeyValuePair<string, string>[] challenge = [new("WWW-Authenticate", $"Basic realm=\"{options.Realm}\", charset=\"UTF-8\"")];
        _missing = new PolicyAnswer(401, RejectionCounter.For(name, "basic_auth", "missing"), challenge, "401 Unauthorized: credentials required\n");
        _invalid = new PolicyAnswer(401, RejectionCounter.For(name, "basic_auth", "invalid"), challenge, "401 Unauthorized: invalid credentials\n");
    }

    public string Name { get; }

    /// <summary>The remembered successes (for tests).</summary>
    internal int CachedCount => _cache?.Count ?? 0;

    /// <summary>bcrypt checks run, decoys included (for tests: which path a request took).</summary>
    internal long SlowChecks => Volatile.Read(ref _slowChecks);
    private long _slowChecks;

    private sealed record User(Consumer Consumer, StoredPassword Password);

    public ValueTask<PolicyAnswer?> OnRequestAsync(PolicyContext context)
    {
        int index = context.FindHeader("authorization"u8);
        if (index < 0) return new(_missing);
        if (context.FindHeader("authorization"u8, index + 1) >= 0) return new(_invalid);
        if (!TryGetToken(context.HeaderValue(index), out var token)) return new(_missing);
        if (token.Length > Base64.GetMaxEncodedToUtf8Length(MaxCredentialBytes)) return new(_invalid);

        Span<byte> credentials = stackalloc byte[Base64.GetMaxDecodedFromUtf8Length(Base64.GetMaxEncodedToUtf8Length(MaxCredentialBytes))];
        if (Base64.DecodeFromUtf8(token, credentials, out _, out int length) != OperationStatus.Done) return new(_invalid);
        credentials = credentials[..length];
        int colon = credentials.IndexOf((byte)':');
        if (colon < 0) return new(_invalid);

        if (!_byName.TryGetValue(credentials[..colon], out var user))
        {
            if (!_decoy.IsSlow)
            {
                _decoy.Matches(credentials[(colon + 1)..]);
                return new(_invalid);
            }
            return CheckSlowAsync(context, null, credentials.ToArray(), colon, index, default);
        }
        if (!user.Password.IsSlow)
        {
            return new(user.Password.Matches(credentials[(colon + 1)..]) ? Accept(context, user, index) : _invalid);
        }
        var fingerprint = _cache is null ? default : VerifiedCache.Of(credentials);
        if (_cache is not null && _cache.Contains(fingerprint)) return new(Accept(context, user, index));
        return CheckSlowAsync(context, user, credentials.ToArray(), colon, index, fingerprint);
    }

    /// <summary>The token68 after "Basic" (the scheme is case-insensitive, RFC 9110 §11.1); false for another scheme.</summary>
    private static bool TryGetToken(ReadOnlySpan<byte> value, out ReadOnlySpan<byte> token)
    {
        token = default;
        if (value.Length < 6 || !Ascii.EqualsIgnoreCase(value[..5], "Basic"u8) || value[5] != (byte)' ') return false;
        token = value[6..].Trim((byte)' ');
        return !token.IsEmpty;
    }

    /// <summary>A bcrypt check (or its decoy for an unknown user), off the I/O thread; the request's edits are made back here, after it.</summary>
    private async ValueTask<PolicyAnswer?> CheckSlowAsync(PolicyContext context, User? user, byte[] credentials, int colon, int index, Fingerprint fingerprint)
    {
        bool matches;
        Interlocked.Increment(ref _slowChecks);
        try
        {
            await s_bcryptGate.WaitAsync().ConfigureAwait(false);
            try
            {
                var password = user?.Password ?? _decoy;
                matches = await Task.Run(() => password.Matches(credentials.AsSpan(colon + 1))).ConfigureAwait(false);
            }
            finally
            {
                s_bcryptGate.Release();
            }
        }
        finally
        {
            System.Security.Cryptography.CryptographicOperations.ZeroMemory(credentials);
        }
        if (user is null || !matches) return _invalid;
        _cache?.Add(fingerprint);
        return Accept(context, user, index);
    }

    private PolicyAnswer? Accept(PolicyContext context, User user, int index)
    {
        context.Consumer = user.Consumer;
        if (!_forward) context.RemoveHeader(index);
        return null;
    }
}

/// <summary>Byte-string keys (user names as they arrive), looked up by span without allocating.</summary>
internal sealed class ByteKeyComparer : IEqualityComparer<byte[]>, IAlternateEqualityComparer<ReadOnlySpan<byte>, byte[]>
{
    public static readonly ByteKeyComparer Instance = new();

    public bool Equals(byte[]? x, byte[]? y) => x.AsSpan().SequenceEqual(y);

    public int GetHashCode(byte[] obj) => GetHashCode((ReadOnlySpan<byte>)obj);

    public bool Equals(ReadOnlySpan<byte> alternate, byte[] other) => alternate.SequenceEqual(other);

    public int GetHashCode(ReadOnlySpan<byte> alternate)
    {
        var hash = new HashCode();
        hash.AddBytes(alternate);
        return hash.ToHashCode();
    }

    public byte[] Create(ReadOnlySpan<byte> alternate) => alternate.ToArray();
}
