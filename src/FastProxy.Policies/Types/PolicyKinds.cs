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
        ValidateOptions o => Validate.ValidatePolicy.Create(config.Name, o),
        RewriteOptions o => new Rewrite.RewritePolicy(config.Name, o),
        VersionOptions o => new Version.VersionPolicy(config.Name, o, context),
        MockOptions o => new Mock.MockPolicy(config.Name, o, context.Time),
        ErrorPagesOptions o => new ErrorPages.ErrorPagesPolicy(config.Name, o),
        JsonBodyOptions o => JsonBody.JsonBodyPolicy.Create(config.Name, o, context),
        AggregateOptions o => new Aggregate.AggregatePolicy(config.Name, o, context),
        RedirectOptions o => new Redirect.RedirectPolicy(config.Name, o),
        CompressOptions o => new Compress.CompressPolicy(config.Name, o),
        CacheOptions o => new Cache.CachePolicy(config.Name, o, context),
        _ => throw new InvalidOperationException($"policy \"{config.Name}\": type \"{config.Type}\" has no implementation"),
    };
}
