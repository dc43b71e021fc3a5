using FastProxy.Configuration;
using FastProxy.Policies.Pipeline;

namespace FastProxy.Policies.Types;

/// <summary>
/// From a validated [policies.NAME] to its running policy: one line per kind. (Its keys are checked by the kind's
/// validator in FastProxy.Configuration/Validation/Policies; a newcomer adds the options, the validator, the class here.)
/// </summary>
internal static class PolicyKinds
{
    public static IPolicy Build(PolicyConfig config, PolicyBuildContext context) => config.Options switch
    {
        JwtOptions jwt => new Jwt.JwtPolicy(config.Name, jwt, context),
        _ => throw new InvalidOperationException($"policy \"{config.Name}\": type \"{config.Type}\" has no implementation"),
    };
}
