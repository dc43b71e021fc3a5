using System.Text;
using System.Text.Json;
using FastProxy.Configuration.Reading;
using Tomlyn.Model;

namespace FastProxy.Configuration.Validation.Policies;

/// <summary>
/// type = "json_body": <c>request = { add, remove, rename }</c> and <c>response = { ... }</c> on JSON bodies,
/// <c>max_size</c>, <c>oversize</c>. Paths are member names joined by dots; <c>add</c> values are fixed JSON (a TOML
/// number, boolean, array or table) or a JSON string from a template (a TOML string). Edits that would contradict
/// each other (a member removed and renamed, an edited member that also holds edited members, two edits ending on
/// one name) are refused here rather than resolved by an order nobody reads.
/// </summary>
internal sealed class JsonBodyPolicyType : IPolicyType
{
    public static readonly string[] SideKeys = ["add", "remove", "rename"];

    /// <summary>Bodies are held whole in memory while transformed; beyond this a body is no longer a document to edit.</summary>
    public const long MaxMaxSize = 64L * 1024 * 1024;

    public string Name => "json_body";

    public IReadOnlyList<string> Keys { get; } = ["request", "response", "max_size", "oversize"];

    public PolicyOptions? Read(TableReader policy)
    {
        var request = ReadSide(policy.Table("request", SideKeys));
        var response = ReadSide(policy.Table("response", SideKeys));
        long maxSize = policy.Size("max_size", MaxMaxSize) ?? JsonBodyOptions.DefaultMaxSize;
        var oversize = policy.Choice("oversize", "oversize mode", [("pass", JsonOversize.Pass), ("refuse", JsonOversize.Refuse)]) ?? JsonOversize.Pass;
        if (request.IsEmpty && response.IsEmpty)
        {
            policy.Context.Warning(policy.Path, "this json_body policy changes nothing: give it request or response edits");
        }
        return new JsonBodyOptions { Request = request, Response = response, MaxSize = maxSize, Oversize = oversize };
    }

    private static JsonEdits ReadSide(TableReader? side)
    {
        if (side is null) return JsonEdits.None;
        var context = side.Context;
        // Every edited path with where it was written, to find contradictions across the three lists.
        var edited = new List<(string[] Path, string Where, string What)>();

        var remove = new List<IReadOnlyList<string>>();
        foreach (var (text, path) in side.Strings("remove") ?? [])
        {
            var parsed = ParsePath(context, path, text, atKey: false);
            if (parsed is null) continue;
            remove.Add(parsed);
            edited.Add((parsed, path, "removed"));
        }

        var rename = new List<JsonMemberRename>();
        var renameTable = side.Table("rename", keys: null);
        foreach (var (from, value) in renameTable?.Entries ?? [])
        {
            var path = renameTable!.PathOf(from);
            var parsed = ParsePath(context, path, from, atKey: true);
            if (parsed is null) continue;
            if (value is not string to)
            {
                context.Error(path, $"expected the new member name as a string, got {TomlTypeNames.Of(value)}");
                continue;
            }
            if (to.Length == 0 || to.Contains('.'))
            {
                context.Error(path, $"\"{to}\": the new name is one member name (no dots): a rename keeps the member in its object");
                continue;
            }
            if (to == parsed[^1])
            {
                context.Error(path, $"renames \"{from}\" to itself");
                continue;
            }
            rename.Add(new JsonMemberRename(parsed, to));
            edited.Add((parsed, path, "renamed"));
        }

        var add = new List<JsonMemberAdd>();
        var addTable = side.Table("add", keys: null);
        foreach (var (name, value) in addTable?.Entries ?? [])
        {
            var path = addTable!.PathOf(name);
            var parsed = ParsePath(context, path, name, atKey: true);
            if (parsed is null) continue;
            JsonMemberAdd? member;
            if (value is string text)
            {
                var template = HeaderTemplates.Parse(text, out var problem, fieldValue: false);
                if (template is null)
                {
                    context.Error(path, problem!);
                    continue;
                }
                member = new JsonMemberAdd(parsed, null, template);
            }
            else
            {
                var json = ToJson(value, out var problem);
                if (json is null)
                {
                    context.Error(path, problem!);
                    continue;
                }
                member = new JsonMemberAdd(parsed, json, null);
            }
            add.Add(member);
            edited.Add((parsed, path, "added"));
        }

        CheckContradictions(context, edited, rename);
        return new JsonEdits { Add = add, Remove = remove, Rename = rename };
    }

    /// <summary>"a.b.c" to its member names; null (reported) when a name is empty.</summary>
    private static string[]? ParsePath(LoadContext context, string where, string text, bool atKey)
    {
        var parts = text.Split('.');
        if (parts.Any(p => p.Length == 0))
        {
            var message = $"\"{text}\" is not a member path: names joined by single dots, e.g. \"user.name\" (no empty names, no leading or trailing dot)";
            if (atKey) context.ErrorAtKey(where, message);
            else context.Error(where, message);
            return null;
        }
        return parts;
    }

    private static void CheckContradictions(LoadContext context, List<(string[] Path, string Where, string What)> edited, List<JsonMemberRename> renames)
    {
        for (int i = 0; i < edited.Count; i++)
        {
            for (int j = 0; j < edited.Count; j++)
            {
                if (i == j) continue;
                var (a, whereA, whatA) = edited[i];
                var (b, _, whatB) = edited[j];
                if (a.Length == b.Length && a.SequenceEqual(b))
                {
                    if (i > j) context.Error(whereA, $"\"{string.Join('.', a)}\" is both {whatB} and {whatA}: say which");
                }
                else if (a.Length < b.Length && b.Take(a.Length).SequenceEqual(a))
                {
                    context.Error(whereA, $"\"{string.Join('.', a)}\" is {whatA}, and \"{string.Join('.', b)}\" inside it is {whatB}: edit one or the other");
                }
            }
        }
        // The name a rename ends on must be free: not another rename's source (a chain), not an add, not another rename's target.
        foreach (var rename in renames)
        {
            string[] target = [.. rename.Path.Take(rename.Path.Count - 1), rename.NewName];
            var where = edited.First(e => e.What == "renamed" && e.Path.SequenceEqual(rename.Path)).Where;
            foreach (var (path, _, what) in edited)
            {
                if (what != "removed" && path.SequenceEqual(target))
                {
                    context.Error(where, $"the new name \"{string.Join('.', target)}\" is also {what}: two edits would end on one member");
                }
            }
            foreach (var other in renames)
            {
                if (ReferenceEquals(other, rename) || other.Path.Count != rename.Path.Count || other.NewName != rename.NewName) continue;
                if (other.Path.Take(other.Path.Count - 1).SequenceEqual(rename.Path.Take(rename.Path.Count - 1)))
                {
                    context.Error(where, $"\"{rename.NewName}\" is the new name of two renames in one object");
                    break;
                }
            }
        }
    }

    /// <summary>A TOML value as JSON text (a number, a boolean, an array, a table); null with the problem for what JSON cannot hold.</summary>
    internal static string? ToJson(object value, out string? problem)
    {
        problem = null;
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream))
        {
            if (!Write(writer, value, ref problem)) return null;
        }
        return Encoding.UTF8.GetString(stream.ToArray());
    }

    private static bool Write(Utf8JsonWriter writer, object? value, ref string? problem)
    {
        switch (value)
        {
            case string s:
                writer.WriteStringValue(s);
                return true;
            case long l:
                writer.WriteNumberValue(l);
                return true;
            case double d:
                if (!double.IsFinite(d))
                {
                    problem = "JSON has no NaN or infinity";
                    return false;
                }
                writer.WriteNumberValue(d);
                return true;
            case bool b:
                writer.WriteBooleanValue(b);
                return true;
            case TomlArray array:
                writer.WriteStartArray();
                foreach (var item in array)
                {
                    if (!Write(writer, item, ref problem)) return false;
                }
                writer.WriteEndArray();
                return true;
            case TomlTable table:
                writer.WriteStartObject();
                foreach (var (key, item) in table)
                {
                    writer.WritePropertyName(key);
                    if (!Write(writer, item, ref problem)) return false;
                }
                writer.WriteEndObject();
                return true;
            default:
                problem = $"expected a JSON value (a string, number, boolean, array or table), got {TomlTypeNames.Of(value!)}";
                return false;
        }
    }
}
