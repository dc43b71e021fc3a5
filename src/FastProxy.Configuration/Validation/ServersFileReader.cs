using FastProxy.Configuration.Reading;
using FastProxy.Configuration.Toml;

namespace FastProxy.Configuration.Validation;

/// <summary>
/// servers_file = "servers.toml": an upstream's servers kept in a file of their own, as `[[servers]]` tables
/// (`address`, `weight`) or `servers = [...]`, read with the same reader as the main file's, so that a problem names
/// that file's line and column. Read at load (and by `fastproxy check`), and again by the proxy whenever the file
/// changes (<see cref="ServersFile"/>).
/// </summary>
internal static class ServersFileReader
{
    // The file's one top-level key (its [[servers]] tables are ServerValidator's, documented under servers_file).
    private static readonly string[] TopLevel = ["servers"];

    /// <summary>Reads <paramref name="file"/> (absolute) into the load's diagnostics; null when it cannot be read at all.</summary>
    public static List<ServerConfig>? Read(LoadContext context, string keyPath, string file)
    {
        string text;
        try
        {
            text = File.ReadAllText(file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            context.Error(keyPath, $"cannot read {file}: {(e is FileNotFoundException or DirectoryNotFoundException ? "the file does not exist" : e.Message)}");
            return null;
        }
        if (TomlDocument.Parse(text, file, context.Diagnostics) is not var (document, map)) return null;
        var fileContext = context.For(file, map);
        var root = new TableReader(fileContext, document, "", TopLevel);
        return ServerValidator.ReadAll(root);
    }
}

/// <summary>Reading an upstream's servers_file again at run time, with the same checks as at load.</summary>
public static class ServersFile
{
    /// <summary>
    /// The servers in <paramref name="file"/>, or the problems that refuse it (file:line:col: key: message). Host names
    /// are resolved as at load: with <paramref name="dns"/>'s servers, or the system resolver.
    /// </summary>
    public static (IReadOnlyList<ServerConfig>? Servers, IReadOnlyList<ConfigDiagnostic> Errors) Read(string file, DnsConfig? dns)
    {
        var diagnostics = new DiagnosticBag();
        try
        {
            var context = new LoadContext(file, Path.GetDirectoryName(file) ?? "", new SourceMap(file), diagnostics, ConfigLoadOptions.Default);
            if (dns is not null) context.UseNameServers(dns);
            var servers = ServersFileReader.Read(context, "servers_file", file);
            if (diagnostics.HasErrors || servers is null) return (null, diagnostics.Errors);
            return (servers, []);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            diagnostics.Error(new SourceLocation(file, 0, 0), "", $"internal error while reading: {e.GetType().Name}: {e.Message}");
            return (null, diagnostics.Errors);
        }
    }
}
