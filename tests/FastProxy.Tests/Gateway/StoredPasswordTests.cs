using System.Text;
using FastProxy.Policies.Types.BasicAuth;

namespace FastProxy.Tests.Gateway;

/// <summary>
/// The password formats basic_auth accepts, against published bcrypt test vectors (Openwall's crypt_blowfish set, which
/// Apache's htpasswd -v also accepts) in the $2a$ and $2b$ spellings, and {SHA} as htpasswd -s writes it.
/// </summary>
public sealed class StoredPasswordTests
{
    [Theory]
    [InlineData("$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", "U*U")]
    [InlineData("$2b$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", "U*U")]
    [InlineData("$2y$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", "U*U")]
    [InlineData("$2a$05$CCCCCCCCCCCCCCCCCCCCC.VGOzA784oUp/Z0DY336zx7pLYAy0lwK", "U*U*")]
    [InlineData("$2a$05$abcdefghijklmnopqrstuu5s2v8.iXieOjg/.AySBTTZIIVFJeBui", "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789chars after 72 are ignored")]
    public void Bcrypt_vectors_match_and_a_changed_password_does_not(string hash, string password)
    {
        var stored = StoredPassword.Parse(hash);

        Assert.True(stored.IsSlow);
        Assert.True(stored.Matches(Encoding.UTF8.GetBytes(password)));
        // One character changed, first or last (of the 72 bytes bcrypt reads).
        int last = Math.Min(password.Length, 72) - 1;
        Assert.False(stored.Matches(Encoding.UTF8.GetBytes("X" + password[1..])));
        Assert.False(stored.Matches(Encoding.UTF8.GetBytes(password[..last] + "X" + password[(last + 1)..])));
    }

    [Fact]
    public void Bcrypt_reads_the_first_72_bytes_of_a_password_as_apache_does()
    {
        // The last vector's password is 91 bytes: its first 72 match too (htpasswd -v says the same).
        var stored = StoredPassword.Parse("$2a$05$abcdefghijklmnopqrstuu5s2v8.iXieOjg/.AySBTTZIIVFJeBui");

        Assert.True(stored.Matches("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"u8));
        Assert.False(stored.Matches("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ012345678"u8));
    }

    [Fact]
    public void Sha_matches_only_the_exact_password()
    {
        var stored = StoredPassword.Parse("{SHA}4/8EauNSRAt2M2wN8hy6sNnX6do="); // htpasswd -nbs bob 'battery staple'

        Assert.False(stored.IsSlow);
        Assert.True(stored.Matches("battery staple"u8));
        Assert.False(stored.Matches("battery staplE"u8));
        Assert.False(stored.Matches("Battery staple"u8));
        Assert.False(stored.Matches(""u8));
    }
}
