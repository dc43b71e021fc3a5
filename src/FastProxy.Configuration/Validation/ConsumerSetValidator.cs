using System.Security.Cryptography;
using System.Text;
using FastProxy.Configuration.Reading;
using Tomlyn.Model;

namespace FastProxy.Configuration.Validation;

/// <summary>
/// [consumers.NAME]: the callers authentication policies identify. API keys are stored as SHA-256 digests ("sha256:HEX")
/// or read from the environment at load ("env:NAME", hashed at once): the config never has to hold a key in clear.
/// </summary>
internal static class ConsumerSetValidator
{
    public static readonly string[] Keys = ["api_keys", "groups", "plan", "jwt_subject", "basic_password_hash"];

    public static List<ConsumerConfig> Read(TableReader? consumers)
    {
        var list = new List<ConsumerConfig>();
        if (consumers is null) return list;
        var context = consumers.Context;
        var keyOwners = new Dictionary<string, string>(StringComparer.Ordinal);
        var subjects = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, value) in consumers.Entries)
        {
            var path = consumers.PathOf(name);
            if (value is not TomlTable raw)
            {
                context.Error(path, $"expected a table [consumers.NAME], got {TomlTypeNames.Of(value)}");
                continue;
            }
            if (!HeaderSafe(name))
            {
                // The name goes upstream in x-consumer: it must be a valid field value.
                context.ErrorAtKey(path, $"consumer name \"{name}\" may only hold letters, digits and - _ . @ : +");
            }
            var table = new TableReader(context, raw, path, Keys);
            var hashes = new List<byte[]>();
            foreach (var (key, keyPath) in table.Strings("api_keys") ?? [])
            {
                var hash = ReadKey(context, keyPath, key);
                if (hash is null) continue;
                var hex = Convert.ToHexString(hash);
                if (!keyOwners.TryAdd(hex, name))
                {
                    context.Error(keyPath, keyOwners[hex] == name
                        ? "the same API key is listed twice"
                        : $"the same API key also belongs to consumer \"{keyOwners[hex]}\": a key must identify one consumer");
                    continue;
                }
                hashes.Add(hash);
            }
            var groups = new List<string>();
            foreach (var (group, groupPath) in table.Strings("groups") ?? [])
            {
                if (group.Length == 0 || !HeaderSafe(group)) context.Error(groupPath, $"group \"{group}\" may only hold letters, digits and - _ . @ : +");
                else groups.Add(group);
            }
            var subject = table.String("jwt_subject");
            if (subject is not null && !subjects.TryAdd(subject, name))
            {
                table.Error("jwt_subject", $"consumer \"{subjects[subject]}\" has the same jwt_subject");
            }
            var basic = table.String("basic_password_hash");
            if (basic is not null && PasswordHashes.Check(basic) is { } problem) table.Error("basic_password_hash", problem);
            list.Add(new ConsumerConfig
            {
                Name = name,
                ApiKeyHashes = hashes,
                Groups = groups,
                Plan = table.String("plan"),
                JwtSubject = subject,
                BasicPasswordHash = basic,
                Location = context.Map.Value(path),
            });
        }
        return list;
    }

    private static byte[]? ReadKey(LoadContext context, string path, string key)
    {
        if (key.StartsWith("sha256:", StringComparison.Ordinal))
        {
            var hex = key.AsSpan(7);
            if (hex.Length != 64 || !IsHex(hex))
            {
                context.Error(path, "\"sha256:\" must be followed by the 64 hex digits of the key's SHA-256 (e.g. printf %s KEY | sha256sum)");
                return null;
            }
            return Convert.FromHexString(hex);
        }
        if (key.StartsWith("env:", StringComparison.Ordinal))
        {
            var variable = key[4..];
            var secret = variable.Length == 0 ? null : Environment.GetEnvironmentVariable(variable);
            if (string.IsNullOrEmpty(secret))
            {
                context.Error(path, $"environment variable \"{variable}\" is not set or empty");
                return null;
            }
            return SHA256.HashData(Encoding.UTF8.GetBytes(secret));
        }
        // Never echo the value: it may be a real key pasted in by mistake.
        context.Error(path, "an API key is written \"sha256:HEX\" (the SHA-256 of the key) or \"env:NAME\" (read from the environment); a key in clear is not accepted");
        return null;
    }

    private static bool IsHex(ReadOnlySpan<char> text)
    {
        foreach (var c in text)
        {
            if (!char.IsAsciiHexDigit(c)) return false;
        }
        return true;
    }

    internal static bool HeaderSafe(string text)
    {
        foreach (var c in text)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or '@' or ':' or '+')) return false;
        }
        return text.Length > 0;
    }
}

/// <summary>Password hashes accepted for basic authentication (htpasswd formats).</summary>
internal static class PasswordHashes
{
    /// <summary>Null when <paramref name="hash"/> is a supported format; otherwise what is wrong (never the hash itself).</summary>
    public static string? Check(string hash)
    {
        if (hash.StartsWith("{SHA}", StringComparison.Ordinal))
        {
            Span<byte> digest = stackalloc byte[21];
            return Convert.TryFromBase64String(hash[5..], digest, out int n) && n == 20 ? null : "{SHA} must be followed by the base64 of a 20-byte SHA-1 digest";
        }
        if (hash.StartsWith("$2y$", StringComparison.Ordinal) || hash.StartsWith("$2b$", StringComparison.Ordinal) || hash.StartsWith("$2a$", StringComparison.Ordinal))
        {
            // $2y$NN$ + 53 characters of salt and hash.
            return hash.Length == 60 && hash[6] == '$' && int.TryParse(hash.AsSpan(4, 2), out int cost) && cost is >= 4 and <= 31
                ? null : "not a well-formed bcrypt hash ($2y$NN$ followed by 53 characters)";
        }
        return "unsupported password hash: use bcrypt ($2y$, e.g. htpasswd -B) or {SHA} (htpasswd -s); MD5 ($apr1$) and crypt are refused";
    }
}
