using System.Buffers;
using System.IO.Compression;
using System.Net;
using System.Text;
using System.Text.Json;
using FastProxy.Configuration;
using FastProxy.Http1;
using FastProxy.Policies.ClientIdentity;
using FastProxy.Policies.Consumers;
using FastProxy.Policies.Pipeline;
using FastProxy.Policies.Types.JsonBody;
using FastProxy.Tests.Configuration;

namespace FastProxy.Tests.Gateway;

/// <summary>
/// The json_body transform on its own: edits compiled from a real config, applied by JsonTransformer to bodies,
/// output checked as JSON (member order and values), plus the content-coding decoder and a bounded fuzz.
/// </summary>
public sealed class JsonBodyTransformTests
{
    internal static JsonEditTree Tree(string side)
    {
        var config = ConfigText.Load(ConfigText.Minimal + "\n\n[policies.j]\ntype = \"json_body\"\nrequest = " + side + "\n");
        var options = Assert.IsType<JsonBodyOptions>(Assert.Single(config.Policies).Options);
        return JsonEditTree.Build(options.Request)!;
    }

    internal static PolicyContext Context(string? consumer = null, string headers = "")
    {
        var request = Encoding.ASCII.GetBytes("POST /a HTTP/1.1\r\nHost: api\r\nX-Request-Id: rid-7\r\n" + headers + "\r\n");
        var head = new RequestHead();
        Assert.Equal(ParseStatus.Complete, RequestParser.Parse(request, head, HeadLimits.Default));
        var context = new PolicyContext();
        context.Begin(head, request, IpValue.From(IPAddress.Parse("203.0.113.7")), "203.0.113.7"u8, "r", secure: false);
        context.SetRequestId("rid-7"u8);
        if (consumer is not null) context.Consumer = new Consumer(new ConsumerConfig { Name = consumer });
        return context;
    }

    private static (TransformResult Result, string Output) Run(JsonEditTree tree, string json, PolicyContext? context = null)
    {
        var output = new ArrayBufferWriter<byte>();
        var result = JsonTransformer.Transform(tree, Encoding.UTF8.GetBytes(json), output, context ?? Context());
        return (result, Encoding.UTF8.GetString(output.WrittenSpan));
    }

    [Fact]
    public void Remove_rename_and_add_apply_to_top_level_and_nested_members()
    {
        var tree = Tree("""{ add = { "source" = "gateway", "meta.via" = "fp" }, remove = ["password", "internal.debug"], rename = { "userName" = "user_name", "internal.keep" = "kept" } }""");

        var (result, output) = Run(tree, """{"userName":"al","password":"x","internal":{"debug":true,"keep":1,"other":[1,{"debug":2}]},"meta":{"a":1},"n":1.5e3}""");

        Assert.Equal(TransformResult.Done, result);
        Assert.Equal("""{"user_name":"al","internal":{"kept":1,"other":[1,{"debug":2}]},"meta":{"a":1,"via":"fp"},"n":1.5e3,"source":"gateway"}""", output);
    }

    [Fact]
    public void Add_replaces_a_member_the_body_already_has_and_makes_missing_parent_objects()
    {
        var tree = Tree("""{ add = { "source" = "gateway", "a.b.c" = 1, "flags" = [true, false, {x = "y"}] } }""");

        var (_, output) = Run(tree, """{"source":"client","flags":"forged","z":null}""");

        Assert.Equal("""{"z":null,"source":"gateway","a":{"b":{"c":1}},"flags":[true,false,{"x":"y"}]}""", output);
    }

    [Fact]
    public void Edits_under_a_member_that_is_not_an_object_do_not_apply()
    {
        var tree = Tree("""{ add = { "meta.via" = "fp" }, remove = ["internal.debug"] }""");

        var (_, output) = Run(tree, """{"meta":"text","internal":[{"debug":1}]}""");

        Assert.Equal("""{"meta":"text","internal":[{"debug":1}]}""", output);
    }

    [Fact]
    public void A_rename_takes_the_place_of_a_member_already_under_the_new_name_only_when_the_renamed_one_is_there()
    {
        var tree = Tree("""{ rename = { "userName" = "user_name" } }""");

        Assert.Equal("""{"a":1,"user_name":"new"}""", Run(tree, """{"user_name":"old","a":1,"userName":"new"}""").Output);
        Assert.Equal("""{"user_name":"old","a":1}""", Run(tree, """{"user_name":"old","a":1}""").Output);
    }

    [Fact]
    public void Templates_become_escaped_json_strings_and_a_missing_variable_makes_the_member_null()
    {
        var tree = Tree("""{ add = { "who" = "{consumer}", "id" = "{request_id}", "ua" = "<{header.x-agent}>", "none" = "{header.x-missing}", "text" = "line\n\"quoted\" é" } }""");
        var context = Context(consumer: "alice", headers: "X-Agent: a\"b\\c\",\"evil\":1\r\n");

        var (_, output) = Run(tree, "{}", context);

        using var document = JsonDocument.Parse(output);
        var root = document.RootElement;
        Assert.Equal("alice", root.GetProperty("who").GetString());
        Assert.Equal("rid-7", root.GetProperty("id").GetString());
        // The header's quotes are data, not structure: no "evil" member appears.
        Assert.Equal("<a\"b\\c\",\"evil\":1>", root.GetProperty("ua").GetString());
        Assert.False(root.TryGetProperty("evil", out _));
        Assert.Equal(JsonValueKind.Null, root.GetProperty("none").ValueKind);
        Assert.Equal("line\n\"quoted\" é", root.GetProperty("text").GetString());
    }

    [Fact]
    public void Escaped_member_names_are_matched_unescaped_and_untouched_values_keep_their_bytes()
    {
        var tree = Tree("""{ remove = ["pass word"], rename = { "é" = "e" } }""");

        var (_, output) = Run(tree, """{"pass\u0020word":1,"\u00e9":"\u00e9\n","k":"\ud83d\ude00"}""");

        Assert.Equal("""{"e":"\u00e9\n","k":"\ud83d\ude00"}""", output);
    }

    [Theory]
    [InlineData("""[1,2]""")]
    [InlineData("\"text\"")]
    [InlineData("42")]
    public void A_document_that_is_not_an_object_is_left_alone(string json)
    {
        var tree = Tree("""{ add = { "a" = 1 } }""");

        Assert.Equal((TransformResult.NotAnObject, ""), Run(tree, json));
    }

    [Theory]
    [InlineData("")]
    [InlineData("{")]
    [InlineData("""{"a":1}x""")]
    [InlineData("""{"a":1}{"b":2}""")]
    [InlineData("""{"a":1,}""")]
    [InlineData("""{"a":tru}""")]
    [InlineData("\uFEFF{}")]
    [InlineData("<html></html>")]
    public void Anything_that_is_not_json_is_reported_invalid_and_nothing_is_written(string json)
    {
        var tree = Tree("""{ add = { "a" = 1 } }""");

        var (result, output) = Run(tree, json);

        Assert.Equal(TransformResult.Invalid, result);
        // A writer may have started: the caller discards the output, so only the verdict matters. But no half document is claimed done.
        Assert.NotEqual(TransformResult.Done, result);
        _ = output;
    }

    [Fact]
    public void Json_media_types_are_application_json_and_plus_json_whatever_the_parameters()
    {
        Assert.True(JsonBodyEngine.IsJson("application/json"u8));
        Assert.True(JsonBodyEngine.IsJson("Application/JSON; charset=utf-8"u8));
        Assert.True(JsonBodyEngine.IsJson("application/problem+json"u8));
        Assert.True(JsonBodyEngine.IsJson("application/vnd.api.v2+json;q=1"u8));
        Assert.False(JsonBodyEngine.IsJson("text/plain"u8));
        Assert.False(JsonBodyEngine.IsJson("application/jsonp"u8));
        Assert.False(JsonBodyEngine.IsJson("+json"u8));
        Assert.False(JsonBodyEngine.IsJson(""u8));
    }

    [Theory]
    [InlineData("gzip")]
    [InlineData("deflate")]
    [InlineData("br")]
    public void Compressed_bodies_decode_within_the_bound_and_a_bomb_stops_at_it(string coding)
    {
        var json = Encoding.UTF8.GetBytes("{\"a\":\"" + new string('x', 100_000) + "\"}");
        var compressed = Compress(coding, json);
        var parsed = ContentCoding.Parse(Encoding.ASCII.GetBytes(" " + coding.ToUpperInvariant() + " "));
        var output = new PooledBufferWriter();

        Assert.Equal(DecodeResult.Done, ContentCoding.Decode(parsed, compressed, json.Length, output));
        Assert.Equal(json, output.WrittenSpan.ToArray());
        output.Release();

        // The same 100 KB from a few hundred compressed bytes, with a 10 KB bound: stopped, not expanded whole.
        Assert.True(compressed.Length < 2_000);
        Assert.Equal(DecodeResult.TooLarge, ContentCoding.Decode(parsed, compressed, 10_000, output));
        Assert.True(output.WrittenCount < 64 * 1024);
        output.Release();

        Assert.Equal(DecodeResult.Invalid, ContentCoding.Decode(parsed, "not compressed at all"u8.ToArray(), 1_000_000, output));
        output.Release();
    }

    [Fact]
    public void Codings_other_than_gzip_deflate_and_br_are_unknown()
    {
        Assert.Equal(Coding.Unknown, ContentCoding.Parse("zstd"u8));
        Assert.Equal(Coding.Unknown, ContentCoding.Parse("gzip, br"u8));
        Assert.Equal(Coding.Identity, ContentCoding.Parse("identity"u8));
        Assert.Equal(Coding.Gzip, ContentCoding.Parse("x-gzip"u8));
    }

    /// <summary>
    /// Random documents (valid and broken) through a transform with every kind of edit: it never throws, a valid
    /// document comes out valid with the edits made, and a broken one is never reported done.
    /// </summary>
    [Fact]
    public void Fuzz_random_bodies_never_crash_and_valid_json_stays_valid()
    {
        var tree = Tree("""{ add = { "source" = "{header.x-agent}", "meta.via" = "fp" }, remove = ["password", "internal.debug"], rename = { "userName" = "user_name", "a" = "b" } }""");
        var context = Context(headers: "X-Agent: \"}{\\\r\n");
        var random = new Random(17);
        string[] names = ["password", "internal", "debug", "userName", "user_name", "a", "b", "meta", "via", "source", "x", "é", "p\"q"];
        int valid = 0;
        for (int i = 0; i < 3000; i++)
        {
            var text = RandomJson(random, names, depth: 0);
            var bytes = Encoding.UTF8.GetBytes(text);
            if (i % 3 == 1) bytes = Mutate(random, bytes);
            if (i % 7 == 6) bytes = [.. Enumerable.Range(0, random.Next(0, 40)).Select(_ => (byte)random.Next(256))];
            bool inputValid = IsJson(bytes, out bool isObject);
            var output = new ArrayBufferWriter<byte>();
            var result = JsonTransformer.Transform(tree, bytes, output, context);
            if (!inputValid)
            {
                Assert.NotEqual(TransformResult.Done, result);
                continue;
            }
            valid++;
            Assert.Equal(isObject ? TransformResult.Done : TransformResult.NotAnObject, result);
            if (!isObject) continue;
            using var document = JsonDocument.Parse(output.WrittenMemory);
            var root = document.RootElement;
            Assert.False(root.TryGetProperty("password", out _));
            Assert.False(root.TryGetProperty("userName", out _));
            Assert.False(root.TryGetProperty("a", out _));
            Assert.Equal("\"}{\\", root.GetProperty("source").GetString());
            if (root.GetProperty("meta").ValueKind == JsonValueKind.Object) Assert.Equal("fp", root.GetProperty("meta").GetProperty("via").GetString());
            if (root.TryGetProperty("internal", out var inside) && inside.ValueKind == JsonValueKind.Object) Assert.False(inside.TryGetProperty("debug", out _));
        }
        Assert.True(valid > 1000, $"only {valid} valid documents");
    }

    private static bool IsJson(byte[] bytes, out bool isObject)
    {
        isObject = false;
        try
        {
            using var document = JsonDocument.Parse(bytes, new JsonDocumentOptions { MaxDepth = JsonTransformer.MaxDepth });
            isObject = document.RootElement.ValueKind == JsonValueKind.Object;
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static string RandomJson(Random random, string[] names, int depth)
    {
        int kind = depth > 4 ? random.Next(4) : random.Next(7);
        if (depth == 0 && random.Next(10) > 0) kind = 5;
        switch (kind)
        {
            case 0: return random.Next(2) == 0 ? "null" : "true";
            case 1: return (random.NextDouble() * 1e6 - 5e5).ToString("R", System.Globalization.CultureInfo.InvariantCulture);
            case 2: return JsonSerializer.Serialize(names[random.Next(names.Length)] + (char)random.Next(0x20, 0x250), StringContext.Default.String);
            case 3: return random.Next(-100, 100).ToString(System.Globalization.CultureInfo.InvariantCulture);
            case 4:
                return "[" + string.Join(",", Enumerable.Range(0, random.Next(4)).Select(_ => RandomJson(random, names, depth + 1))) + "]";
            default:
                // Distinct names in one object: what a duplicate means is up to each reader.
                var members = names.OrderBy(_ => random.Next()).Take(random.Next(6)).Select(name =>
                {
                    var quoted = random.Next(5) == 0 ? "\"" + string.Concat(name.Select(c => $"\\u{(int)c:x4}")) + "\"" : JsonSerializer.Serialize(name, StringContext.Default.String);
                    return quoted + ":" + RandomJson(random, names, depth + 1);
                });
                return "{" + string.Join(",", members) + "}";
        }
    }

    private const string Breakers = "{}[],:\"\\x0 ";

    private static byte[] Mutate(Random random, byte[] bytes)
    {
        if (bytes.Length == 0) return [(byte)'{'];
        var copy = bytes.ToList();
        switch (random.Next(3))
        {
            case 0: copy.RemoveAt(random.Next(copy.Count)); break;
            case 1: copy.Insert(random.Next(copy.Count + 1), (byte)Breakers[random.Next(Breakers.Length)]); break;
            default: copy[random.Next(copy.Count)] = (byte)random.Next(256); break;
        }
        return [.. copy];
    }

    internal static byte[] Compress(string coding, byte[] data)
    {
        using var buffer = new MemoryStream();
        using (Stream stream = coding switch
        {
            "gzip" => new GZipStream(buffer, CompressionLevel.Optimal, leaveOpen: true),
            "deflate" => new ZLibStream(buffer, CompressionLevel.Optimal, leaveOpen: true),
            _ => new BrotliStream(buffer, CompressionLevel.Optimal, leaveOpen: true),
        })
        {
            stream.Write(data);
        }
        return buffer.ToArray();
    }
}

[System.Text.Json.Serialization.JsonSerializable(typeof(string))]
internal sealed partial class StringContext : System.Text.Json.Serialization.JsonSerializerContext
{
}
