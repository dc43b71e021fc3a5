using System.IO.Compression;
using System.Text;
using FastProxy.Tests.Infrastructure;

namespace FastProxy.Tests.StaticFiles;

/// <summary>
/// A directory tree for static routes, made fresh per test in the temp folder: a root "public/" with files, an index, a
/// directory without one, precompressed siblings, dotfiles, a FIFO, symbolic links in and out of the root; and, next to
/// the root, files that must never be served (their contents are markers the traversal tests look for).
/// </summary>
internal sealed class StaticTree : IDisposable
{
    public const string Secret = "TOP-SECRET-OUTSIDE-ROOT";
    public const string OutsideDirMarker = "OUTSIDE-DIRECTORY-MARKER";
    public const string DotenvMarker = "DOTENV-MARKER=1";
    public const string GitMarker = "GIT-CONFIG-MARKER";
    public const string AppJs = "console.log('the identity representation of app.js, long enough to compress well');\n";

    public StaticTree()
    {
        Base = Path.Combine(Path.GetTempPath(), "fastproxy-static-" + Guid.NewGuid().ToString("N"));
        Root = Path.Combine(Base, "public");
        Directory.CreateDirectory(Root);
        File.WriteAllText(Path.Combine(Base, "secret.txt"), Secret);
        Directory.CreateDirectory(Path.Combine(Base, "outside"));
        File.WriteAllText(Path.Combine(Base, "outside", "inner.txt"), OutsideDirMarker);

        File.WriteAllText(Path.Combine(Root, "index.html"), "<h1>home</h1>\n");
        File.WriteAllText(Path.Combine(Root, "hello.txt"), "hello static\n");
        File.WriteAllText(Path.Combine(Root, "sp ace.txt"), "with a space\n");
        File.WriteAllText(Path.Combine(Root, "caf\u00e9.txt"), "utf-8 name\n");
        File.WriteAllText(Path.Combine(Root, "unknown.qqq"), "what type?\n");
        File.WriteAllText(Path.Combine(Root, "site.webmanifest"), "{}\n");
        Data = new byte[1000];
        for (int i = 0; i < Data.Length; i++) Data[i] = (byte)('a' + i % 26);
        File.WriteAllBytes(Path.Combine(Root, "data.txt"), Data);
        Directory.CreateDirectory(Path.Combine(Root, "docs"));
        File.WriteAllText(Path.Combine(Root, "docs", "index.html"), "docs index\n");
        File.WriteAllText(Path.Combine(Root, "docs", "page.html"), "docs page\n");
        Directory.CreateDirectory(Path.Combine(Root, "nodir"));
        File.WriteAllText(Path.Combine(Root, "nodir", "x.txt"), "x\n");

        File.WriteAllText(Path.Combine(Root, "app.js"), AppJs);
        Gzipped = Compress(Encoding.UTF8.GetBytes(AppJs), s => new GZipStream(s, CompressionLevel.SmallestSize));
        Brotlied = Compress(Encoding.UTF8.GetBytes(AppJs), s => new BrotliStream(s, CompressionLevel.SmallestSize));
        File.WriteAllBytes(Path.Combine(Root, "app.js.gz"), Gzipped);
        File.WriteAllBytes(Path.Combine(Root, "app.js.br"), Brotlied);

        File.WriteAllText(Path.Combine(Root, ".env"), DotenvMarker);
        Directory.CreateDirectory(Path.Combine(Root, ".git"));
        File.WriteAllText(Path.Combine(Root, ".git", "config"), GitMarker);

        File.CreateSymbolicLink(Path.Combine(Root, "link-out"), Path.Combine("..", "secret.txt"));
        File.CreateSymbolicLink(Path.Combine(Root, "abs-link-out"), Path.Combine(Base, "secret.txt"));
        Directory.CreateSymbolicLink(Path.Combine(Root, "dirlink-out"), Path.Combine("..", "outside"));
        File.CreateSymbolicLink(Path.Combine(Root, "link-in"), "hello.txt");
        File.CreateSymbolicLink(Path.Combine(Root, "link-to-dotenv"), ".env");
        var mkfifo = Processes.RunAsync("mkfifo", [Path.Combine(Root, "fifo")]).GetAwaiter().GetResult();
        if (mkfifo.ExitCode != 0) throw new InvalidOperationException("mkfifo failed: " + mkfifo.StdErr);
    }

    public string Base { get; }
    public string Root { get; }
    public byte[] Data { get; }
    public byte[] Gzipped { get; }
    public byte[] Brotlied { get; }

    /// <summary>A config with one listener "web" and a static route over <see cref="Root"/> with the given keys added.</summary>
    public string Config(string staticKeys = "", string routeKeys = "", string match = "") => $$"""
        [[listeners]]
        name = "web"
        bind = "127.0.0.1:0"

        [[routes]]
        name = "files"
        static = { root = "{{Root}}"{{staticKeys}} }
        {{routeKeys}}
        {{(match.Length > 0 ? "[routes.match]\n" + match : "")}}
        """;

    private static byte[] Compress(byte[] data, Func<Stream, Stream> compressor)
    {
        using var output = new MemoryStream();
        using (var stream = compressor(output)) stream.Write(data);
        return output.ToArray();
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Base, recursive: true);
        }
        catch (IOException)
        {
            // best effort
        }
    }
}
