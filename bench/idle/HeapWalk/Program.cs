using Microsoft.Diagnostics.Runtime;

// HeapWalk PID OUT.tsv: every object on the managed heap of a running .NET process, by type: count and bytes, all and
// reachable from a root. Two walks (before and after opening N connections) divided by N give what one costs.
// Attaching suspends the process for the walk (ptrace: run as the same user, or root).
if (args.Length != 2)
{
    Console.Error.WriteLine("usage: HeapWalk PID OUT.tsv");
    return 2;
}
using var target = DataTarget.AttachToProcess(int.Parse(args[0]), suspend: true);
var heap = target.ClrVersions[0].CreateRuntime().Heap;

var reachable = new HashSet<ulong>();
var pending = new Stack<ulong>();
foreach (var root in heap.EnumerateRoots())
{
    if (root.Object.Address != 0 && reachable.Add(root.Object.Address)) pending.Push(root.Object.Address);
}
while (pending.Count > 0)
{
    var obj = heap.GetObject(pending.Pop());
    if (!obj.IsValid) continue;
    foreach (ulong reference in obj.EnumerateReferenceAddresses(carefully: true))
    {
        if (reference != 0 && reachable.Add(reference)) pending.Push(reference);
    }
}

var byType = new Dictionary<string, (long Count, long Bytes, long LiveCount, long LiveBytes)>();
foreach (var obj in heap.EnumerateObjects())
{
    if (!obj.IsValid || obj.Type is null) continue;
    string name = obj.Type.IsFree ? "<free>" : obj.Type.Name ?? "?";
    long size = (long)obj.Size;
    bool live = reachable.Contains(obj.Address);
    byType.TryGetValue(name, out var e);
    byType[name] = (e.Count + 1, e.Bytes + size, e.LiveCount + (live ? 1 : 0), e.LiveBytes + (live ? size : 0));
}
using var output = new StreamWriter(args[1]);
foreach (var kind in heap.Segments.GroupBy(s => s.Kind))
{
    output.WriteLine($"#segments\t{kind.Key}\tcount {kind.Count()}\tcommitted {kind.Sum(s => (long)s.CommittedMemory.Length)}\tused {kind.Sum(s => (long)s.ObjectRange.Length)}");
}
foreach (var (name, e) in byType.OrderByDescending(x => x.Value.LiveBytes))
{
    output.WriteLine($"{name}\t{e.Count}\t{e.Bytes}\t{e.LiveCount}\t{e.LiveBytes}");
}
return 0;
