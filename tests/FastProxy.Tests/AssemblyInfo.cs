// Tests bind loopback ports and start processes; two collections at a time suit a 2-core CI machine.
[assembly: CollectionBehavior(MaxParallelThreads = 2)]
