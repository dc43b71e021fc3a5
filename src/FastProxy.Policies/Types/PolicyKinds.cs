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
        IpFilterOptions o => new IpFilter.IpFilterPolicy(config.Name, o),
        CorsOptions o => new Cors.CorsPolicy(config.Name, o),
        ApiKeyOptions o => new ApiKey.ApiKeyPolicy(config.Name, o, context.Consumers),
        BasicAuthOptions o => new BasicAuth.BasicAuthPolicy(config.Name, o, context.Consumers, context.Time),
        ForwardAuthOptions o => new ForwardAuth.ForwardAuthPolicy(config.Name, o, context),
        AuthorizeOptions o => new Authorize.AuthorizePolicy(config.Name, o),
        JwtOptions jwt => new Jwt.JwtPolicy(config.Name, jwt, context),
        HeadersOptions o => Headers.HeadersPolicy.Create(config.Name, o),
        RateLimitOptions o => new RateLimit.RateLimitPolicy(config.Name, o, context),
        RewriteOptions o => new Rewrite.RewritePolicy(config.Name, o),
        RedirectOptions o => new Redirect.RedirectPolicy(config.Name, o),
        _ => throw new InvalidOperationException($"policy \"{config.Name}\": type \"{config.Type}\" has no implementation"),
    };
}
