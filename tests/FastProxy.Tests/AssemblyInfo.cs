// Tests bind loopback ports and start processes; two collections at a time suit a 2-core CI machine.
[assembly: CollectionBehavior(MaxParallelThreads = 2)]

namespace FastProxy.Tests
{
    internal static class TestProcessSettings
    {
        /// <summary>
        /// No forced full collection from the heartbeat in this process (see MemoryReclaimer.HeartbeatCollects): the
        /// whole test runner's heap would pause every in-process proxy at once, and a timing test such as the
        /// lingering close (which stops draining a client quiet for 250 ms) would see it. The binary keeps it.
        /// </summary>
        [System.Runtime.CompilerServices.ModuleInitializer]
        internal static void Init() => FastProxy.Hosting.MemoryReclaimer.HeartbeatCollects = false;
    }
}
