namespace FastProxy.Tests.Infrastructure;

/// <summary>Tests that measure the whole process (allocations, memory) run alone, after the parallel ones.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class NonParallel
{
    public const string Name = "non-parallel";
}
