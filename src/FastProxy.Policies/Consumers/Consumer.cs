using System.Text;
using FastProxy.Configuration;

namespace FastProxy.Policies.Consumers;

/// <summary>A declared consumer, as policies and the upstream see it.</summary>
public sealed class Consumer
{
    public Consumer(ConsumerConfig config)
    {
        Name = config.Name;
        Groups = config.Groups;
        Plan = config.Plan;
        BasicPasswordHash = config.BasicPasswordHash;
        NameBytes = Encoding.ASCII.GetBytes(config.Name);
        GroupsBytes = Encoding.ASCII.GetBytes(string.Join(",", config.Groups));
    }

    public string Name { get; }
    public IReadOnlyList<string> Groups { get; }
    public string? Plan { get; }
    public string? BasicPasswordHash { get; }
    /// <summary>The name as sent in x-consumer (validated at load: a safe field value).</summary>
    public byte[] NameBytes { get; }
    /// <summary>The groups as sent in x-consumer-groups, comma-separated.</summary>
    public byte[] GroupsBytes { get; }

    public bool InGroup(string group)
    {
        // By index: foreach over the IReadOnlyList would box an enumerator on every request.
        var groups = Groups;
        for (int i = 0; i < groups.Count; i++)
        {
            if (string.Equals(groups[i], group, StringComparison.Ordinal)) return true;
        }
        return false;
    }
}

/// <summary>Every declared consumer, found by API key digest, JWT subject or name without a scan.</summary>
public sealed class ConsumerDirectory
{
    private readonly Dictionary<KeyDigest, Consumer> _byKey = [];
    private readonly Dictionary<string, Consumer> _bySubject = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Consumer> _byName = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Consumer>.AlternateLookup<ReadOnlySpan<char>> _bySubjectSpan;
    private readonly Dictionary<string, Consumer>.AlternateLookup<ReadOnlySpan<char>> _byNameSpan;

    public ConsumerDirectory(IEnumerable<ConsumerConfig> consumers)
    {
        foreach (var config in consumers)
        {
            var consumer = new Consumer(config);
            _byName[consumer.Name] = consumer;
            foreach (var hash in config.ApiKeyHashes) _byKey[KeyDigest.From(hash)] = consumer;
            if (config.JwtSubject is { } subject) _bySubject[subject] = consumer;
        }
        _bySubjectSpan = _bySubject.GetAlternateLookup<ReadOnlySpan<char>>();
        _byNameSpan = _byName.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    public static ConsumerDirectory Empty { get; } = new([]);

    public IReadOnlyCollection<Consumer> All => _byName.Values;

    public bool HasApiKeys => _byKey.Count > 0;

    /// <summary>The consumer an API key belongs to, by the key's SHA-256 (the directory holds digests only).</summary>
    public Consumer? ByKeyDigest(ReadOnlySpan<byte> sha256) => _byKey.TryGetValue(KeyDigest.From(sha256), out var c) ? c : null;

    public Consumer? BySubject(ReadOnlySpan<char> subject) => _bySubjectSpan.TryGetValue(subject, out var c) ? c : null;

    public Consumer? ByName(ReadOnlySpan<char> name) => _byNameSpan.TryGetValue(name, out var c) ? c : null;

    /// <summary>A SHA-256 digest as a dictionary key (value equality, no allocation).</summary>
    private readonly record struct KeyDigest(UInt128 High, UInt128 Low)
    {
        public static KeyDigest From(ReadOnlySpan<byte> sha256) => new(
            System.Buffers.Binary.BinaryPrimitives.ReadUInt128BigEndian(sha256),
            System.Buffers.Binary.BinaryPrimitives.ReadUInt128BigEndian(sha256[16..]));
    }
}
