using System.Text;
using FastProxy.Configuration;

namespace FastProxy.Policies.Types.JsonBody;

/// <summary>What an edited member gets.</summary>
internal enum MemberEdit : byte
{
    /// <summary>Not edited itself: an object on the way to edited members.</summary>
    Descend = 0,
    Remove,
    Rename,
    Add,
}

/// <summary>
/// One member name of the edit paths, compiled at load: the tree of one side's edits is walked alongside the body, so
/// a member is looked up among its object's edited names only, and objects off every path are copied as raw bytes.
/// </summary>
internal sealed class EditNode
{
    public EditNode(byte[] name, int id)
    {
        Name = name;
        Id = id;
    }

    /// <summary>The member name, UTF-8, unescaped.</summary>
    public byte[] Name { get; }

    /// <summary>Index into the per-body state (which members were seen).</summary>
    public int Id { get; }

    public MemberEdit Edit { get; set; }
    public byte[]? NewName { get; set; }
    public JsonValueTemplate? Value { get; set; }
    public EditNode[] Children { get; set; } = [];

    /// <summary>Some member under this one is added: when the body has no such object, it is made.</summary>
    public bool AddsBelow { get; set; }

    /// <summary>Some child is renamed: the object is looked through once first, to know which renamed members it holds.</summary>
    public bool RenamesChildren { get; set; }

    public EditNode? Find(ReadOnlySpan<byte> name)
    {
        foreach (var child in Children)
        {
            if (name.SequenceEqual(child.Name)) return child;
        }
        return null;
    }
}

/// <summary>One side's edits as a tree from the root object.</summary>
internal sealed class JsonEditTree
{
    private JsonEditTree(EditNode root, int count)
    {
        Root = root;
        NodeCount = count;
    }

    public EditNode Root { get; }
    public int NodeCount { get; }

    /// <summary>Null when there is nothing to edit on this side.</summary>
    public static JsonEditTree? Build(JsonEdits edits)
    {
        if (edits.IsEmpty) return null;
        int count = 0;
        var root = new EditNode([], count++);
        var children = new Dictionary<EditNode, List<EditNode>>();

        EditNode At(IReadOnlyList<string> path)
        {
            var node = root;
            foreach (var name in path)
            {
                if (!children.TryGetValue(node, out var list)) children[node] = list = [];
                var bytes = Encoding.UTF8.GetBytes(name);
                var next = list.Find(n => n.Name.AsSpan().SequenceEqual(bytes));
                if (next is null)
                {
                    next = new EditNode(bytes, count++);
                    list.Add(next);
                }
                node = next;
            }
            return node;
        }

        // The validator refused contradictions: each edited path is a leaf, edited once.
        foreach (var path in edits.Remove) At(path).Edit = MemberEdit.Remove;
        foreach (var rename in edits.Rename)
        {
            var node = At(rename.Path);
            node.Edit = MemberEdit.Rename;
            node.NewName = Encoding.UTF8.GetBytes(rename.NewName);
        }
        foreach (var add in edits.Add)
        {
            var node = At(add.Path);
            node.Edit = MemberEdit.Add;
            node.Value = add.Json is not null ? JsonValueTemplate.Literal(add.Json) : JsonValueTemplate.From(add.Template!);
        }
        Freeze(root, children);
        return new JsonEditTree(root, count);
    }

    private static bool Freeze(EditNode node, Dictionary<EditNode, List<EditNode>> children)
    {
        bool adds = node.Edit == MemberEdit.Add;
        if (children.TryGetValue(node, out var list))
        {
            node.Children = [.. list];
            foreach (var child in node.Children)
            {
                adds |= Freeze(child, children);
                node.RenamesChildren |= child.Edit == MemberEdit.Rename;
            }
        }
        node.AddsBelow = adds && node.Edit == MemberEdit.Descend;
        return adds;
    }
}
