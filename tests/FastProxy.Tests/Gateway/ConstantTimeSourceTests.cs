using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.Gateway;

/// <summary>
/// How long a password check takes must not depend on how much of it was right. A timing test would flake on a loaded
/// machine, so this reads the code instead: every comparison of a secret-derived value in basic_auth goes through
/// CryptographicOperations.FixedTimeEquals, and no early-exit comparison (SequenceEqual, ==, string.Equals) is used
/// on one. The behaviour (first byte wrong, last byte wrong: both refused) is in BasicAuthPolicyTests.
/// </summary>
public sealed class ConstantTimeSourceTests
{
    private static string Source(string file) => File.ReadAllText(Path.Combine(Processes.RepoRoot, "src", "FastProxy.Policies", "Types", "BasicAuth", file));

    [Fact]
    public void Password_checks_compare_in_constant_time()
    {
        var stored = Source("StoredPassword.cs");

        // Both formats end in FixedTimeEquals: {SHA} on the digests, bcrypt on the 60-byte results.
        Assert.Equal(2, Count(stored, "CryptographicOperations.FixedTimeEquals("));
        Assert.Equal(0, Count(stored, "SequenceEqual("));
        Assert.Equal(0, Count(stored, "string.Equals("));
        // Not the library's Verify: the comparison is ours.
        Assert.Equal(0, Count(stored, "BCrypt.Verify("));
    }

    [Fact]
    public void The_policy_compares_no_password_itself()
    {
        var policy = Source("BasicAuthPolicy.cs");

        // User names are looked up (not secret); passwords only ever reach StoredPassword.Matches.
        Assert.Equal(0, Count(policy, "FixedTimeEquals("));
        Assert.True(Count(policy, ".Matches(") >= 2);
    }

    private static int Count(string text, string what)
    {
        int count = 0;
        for (int at = text.IndexOf(what, StringComparison.Ordinal); at >= 0; at = text.IndexOf(what, at + 1, StringComparison.Ordinal)) count++;
        return count;
    }
}
