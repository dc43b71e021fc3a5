using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;
using FastProxy.Policies.Pipeline;

namespace FastProxy.Policies.Types.JsonBody;

internal enum TransformResult : byte
{
    /// <summary>The edited document was written.</summary>
    Done = 0,
    /// <summary>Valid JSON whose root is not an object (an array, a string...): nothing to edit, nothing written.</summary>
    NotAnObject,
    /// <summary>Not JSON (or deeper than <see cref="JsonTransformer.MaxDepth"/>): nothing written.</summary>
    Invalid,
}

/// <summary>
/// Applies one side's edits to a JSON document in one pass: Utf8JsonReader over the body, Utf8JsonWriter to the output,
/// no document object model. Objects on an edit path are walked member by member; every other value (most of a body)
/// is copied as the raw bytes the reader validated. Removed members are skipped, renamed ones written under their new
/// name, added ones written at the end of their object (replacing a member of that name; a missing parent object is
/// made). A body that is not JSON is reported, never half-written: the reader checks all of it, trailing bytes too.
/// </summary>
internal static class JsonTransformer
{
    /// <summary>Nesting a reader accepts (Utf8JsonWriter's own default); deeper documents are treated as not JSON.</summary>
    public const int MaxDepth = 1000;

    private static readonly JsonReaderOptions s_readerOptions = new() { MaxDepth = MaxDepth };

    // Member names keep non-ASCII characters as they are; quotes, backslashes and controls are still escaped.
    private static readonly JsonWriterOptions s_writerOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, SkipValidation = true };

    [ThreadStatic] private static Utf8JsonWriter? t_writer;

    public static TransformResult Transform(JsonEditTree tree, ReadOnlySpan<byte> json, IBufferWriter<byte> output, PolicyContext context)
    {
        var reader = new Utf8JsonReader(json, s_readerOptions);
        try
        {
            if (!reader.Read()) return TransformResult.Invalid;
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                reader.Skip();
                while (reader.Read()) { } // throws on anything after the value
                return TransformResult.NotAnObject;
            }
            var writer = t_writer;
            if (writer is null) t_writer = writer = new Utf8JsonWriter(output, s_writerOptions);
            else writer.Reset(output);
            try
            {
                Span<bool> seen = tree.NodeCount <= 256 ? stackalloc bool[256] : new bool[tree.NodeCount];
                seen.Clear();
                WriteObject(ref reader, writer, tree.Root, json, seen, context);
                // Anything but whitespace after the root object throws here.
                while (reader.Read()) { }
                writer.Flush();
            }
            finally
            {
                // The cached writer must not keep the caller's buffer alive.
                writer.Reset(NullWriter.Instance);
            }
            return TransformResult.Done;
        }
        catch (JsonException)
        {
            return TransformResult.Invalid;
        }
    }

    /// <summary>Writes the object the reader is at (its StartObject), edited by <paramref name="node"/>'s children.</summary>
    private static void WriteObject(ref Utf8JsonReader reader, Utf8JsonWriter writer, EditNode node, ReadOnlySpan<byte> json, scoped Span<bool> seen, PolicyContext context)
    {
        // Which renamed members this object holds: a member already under a rename's new name gives way to the renamed
        // one (the object must not end up with the name twice), but only when the renamed member is there.
        if (node.RenamesChildren)
        {
            var probe = reader;
            while (probe.Read() && probe.TokenType == JsonTokenType.PropertyName)
            {
                if (FindMember(in probe, node) is { Edit: MemberEdit.Rename } renamed) seen[renamed.Id] = true;
                probe.Read();
                probe.Skip();
            }
        }

        writer.WriteStartObject();
        Span<byte> nameBuffer = stackalloc byte[256];
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            int memberStart = (int)reader.TokenStartIndex;
            // A name that does not decode (an escaped lone surrogate) matches no edit: it is copied as it came.
            bool named = TryName(in reader, nameBuffer, out var name, out byte[]? rented);
            try
            {
                var child = named ? node.Find(name) : null;
                bool taken = named && child is null && node.RenamesChildren && IsTakenByRename(node, name, seen);
                reader.Read();
                int start = (int)reader.TokenStartIndex;
                if (child is null)
                {
                    reader.Skip();
                    // The member as it came, name and value, byte for byte.
                    if (!taken) writer.WriteRawValue(json[memberStart..(int)reader.BytesConsumed], skipInputValidation: true);
                    continue;
                }
                switch (child.Edit)
                {
                    case MemberEdit.Remove:
                    case MemberEdit.Add: // the added value replaces it, written at the end
                        reader.Skip();
                        break;
                    case MemberEdit.Rename:
                        reader.Skip();
                        writer.WritePropertyName(child.NewName!);
                        writer.WriteRawValue(json[start..(int)reader.BytesConsumed], skipInputValidation: true);
                        break;
                    default:
                        if (reader.TokenType == JsonTokenType.StartObject && !seen[child.Id])
                        {
                            seen[child.Id] = true;
                            writer.WritePropertyName(child.Name);
                            WriteObject(ref reader, writer, child, json, seen, context);
                        }
                        else
                        {
                            // Not an object (or the name again): copied as it is; edits below it do not apply.
                            seen[child.Id] = true;
                            reader.Skip();
                            writer.WriteRawValue(json[memberStart..(int)reader.BytesConsumed], skipInputValidation: true);
                        }
                        break;
                }
            }
            finally
            {
                if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
            }
        }
        WriteAdds(writer, node, seen, context);
        writer.WriteEndObject();
    }

    /// <summary>The added members of <paramref name="node"/>'s object, and the objects to make for adds below a member the body does not have.</summary>
    private static void WriteAdds(Utf8JsonWriter writer, EditNode node, scoped Span<bool> seen, PolicyContext context)
    {
        foreach (var child in node.Children)
        {
            if (child.Edit == MemberEdit.Add)
            {
                writer.WritePropertyName(child.Name);
                child.Value!.Write(writer, context);
            }
            else if (child.AddsBelow && !seen[child.Id])
            {
                writer.WritePropertyName(child.Name);
                writer.WriteStartObject();
                WriteAdds(writer, child, seen, context);
                writer.WriteEndObject();
            }
        }
    }

    /// <summary><paramref name="name"/> is the new name of a rename whose member this object holds.</summary>
    private static bool IsTakenByRename(EditNode node, ReadOnlySpan<byte> name, scoped Span<bool> seen)
    {
        foreach (var child in node.Children)
        {
            if (child.Edit == MemberEdit.Rename && seen[child.Id] && name.SequenceEqual(child.NewName)) return true;
        }
        return false;
    }

    private static EditNode? FindMember(in Utf8JsonReader reader, EditNode node)
    {
        Span<byte> buffer = stackalloc byte[256];
        if (!TryName(in reader, buffer, out var name, out var rented)) return null;
        try
        {
            return node.Find(name);
        }
        finally
        {
            if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>The current property name, unescaped (as the edits name members); false when its escapes do not make UTF-8.</summary>
    private static bool TryName(in Utf8JsonReader reader, Span<byte> buffer, out ReadOnlySpan<byte> name, out byte[]? rented)
    {
        rented = null;
        if (!reader.ValueIsEscaped)
        {
            name = reader.ValueSpan;
            return true;
        }
        int max = reader.ValueSpan.Length;
        if (max > buffer.Length) buffer = rented = ArrayPool<byte>.Shared.Rent(max);
        try
        {
            int n = reader.CopyString(buffer);
            name = buffer[..n];
            return true;
        }
        catch (InvalidOperationException)
        {
            name = default;
            return false;
        }
    }

    /// <summary>Where the cached writer points between uses.</summary>
    private sealed class NullWriter : IBufferWriter<byte>
    {
        public static readonly NullWriter Instance = new();
        public void Advance(int count) { }
        public Memory<byte> GetMemory(int sizeHint = 0) => Array.Empty<byte>();
        public Span<byte> GetSpan(int sizeHint = 0) => [];
    }
}
