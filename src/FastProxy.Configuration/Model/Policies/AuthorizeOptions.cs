using FastProxy.Configuration.Reading;
using FastProxy.Configuration.Validation;

namespace FastProxy.Configuration;

/// <summary>
/// [policies.NAME] type = "authorize": lets a request on only when what authentication found says so: the consumer is
/// in one of <see cref="Groups"/>, and the verified claims hold every one of <see cref="Claims"/>.
/// </summary>
public sealed class AuthorizeOptions : PolicyOptions, IConsumerReferences
{
    /// <summary>Any of these (empty: no group condition). Needs a consumer.</summary>
    public IReadOnlyList<string> Groups { get; init; } = [];

    /// <summary>All of these, in file order (empty: no claim condition); a list claim must contain the value. Needs verified claims.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Claims { get; init; } = [];

    /// <summary>The key path of each group, for warnings: policies.NAME.groups[i].</summary>
    internal IReadOnlyList<string> GroupPaths { get; init; } = [];

    void IConsumerReferences.Check(LoadContext context, string path, IReadOnlyList<ConsumerConfig> consumers)
    {
        if (Groups.Count == 0) return;
        var held = new HashSet<string>(StringComparer.Ordinal);
        foreach (var consumer in consumers)
        {
            foreach (var group in consumer.Groups) held.Add(group);
        }
        int unknown = 0;
        for (int i = 0; i < Groups.Count; i++)
        {
            if (held.Contains(Groups[i])) continue;
            unknown++;
            if (unknown < Groups.Count)
            {
                // Others may still match: a typo, or a group not handed out yet. Worth saying, not worth refusing.
                context.Warning(GroupPaths[i], $"no [consumers.NAME] is in group \"{Groups[i]}\"");
            }
        }
        if (unknown == Groups.Count)
        {
            // Not one listed group is held by anyone: the policy would refuse every request.
            context.Error(KeyPath.Child(path, "groups"), held.Count == 0
                ? "no [consumers.NAME] has groups, so this policy would refuse every request"
                : $"no [consumers.NAME] is in any of these groups, so this policy would refuse every request (groups in use: {Suggestions.KnownList(held.Order(StringComparer.Ordinal))})");
        }
    }
}
