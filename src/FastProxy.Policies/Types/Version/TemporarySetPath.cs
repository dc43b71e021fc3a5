// TEMPORARY until fix/rewrite's "transforms: path and query edits" is merged: PolicyContext.SetPath comes from there.
namespace FastProxy.Policies.Types.Version;

internal static class TemporarySetPath
{
    public static void SetPath(this Pipeline.PolicyContext context, ReadOnlySpan<byte> path) { }
}
