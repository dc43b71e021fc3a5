using FastProxy.Configuration.Reading;

namespace FastProxy.Configuration.Validation.Policies;

/// <summary>The realm of a WWW-Authenticate challenge: sent inside a quoted-string, so no quote, backslash or control.</summary>
internal static class ChallengeRealm
{
    public static string? Read(TableReader policy, string fallback)
    {
        var realm = policy.String("realm");
        if (realm is null) return fallback;
        foreach (var c in realm)
        {
            if (c is '"' or '\\' || c < 0x20 || c > 0x7E)
            {
                policy.Error("realm", "may hold printable ASCII only, without \" or \\ (it is sent inside quotes in WWW-Authenticate)");
                return null;
            }
        }
        if (realm.Length == 0)
        {
            policy.Error("realm", "must not be empty");
            return null;
        }
        return realm;
    }
}
