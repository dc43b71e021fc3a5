using FastProxy.Configuration.Reading;
using FastProxy.Configuration.Toml;
using FastProxy.Configuration.Validation;

namespace FastProxy.Configuration;

/// <summary>
/// Loads and validates proxy.toml. Never throws for a bad config: every problem comes back as a
/// <see cref="ConfigDiagnostic"/>, so a reload (SIGHUP) can refuse a bad file and keep serving.
/// </summary>
public static class ConfigLoader
{
    /// <summary>Reads and validates the file at <paramref name="path"/>; relative paths inside it are relative to its directory.</summary>
    public static ConfigLoadResult Load(string path) => Load(path, ConfigLoadOptions.Default);

    /// <summary>Validates TOML text. <paramref name="sourceName"/> names the file in diagnostics; relative paths inside resolve against <paramref name="baseDirectory"/>.</summary>
    public static ConfigLoadResult Parse(string text, string sourceName, string baseDirectory) =>
        Parse(text, sourceName, baseDirectory, ConfigLoadOptions.Default);

    internal static ConfigLoadResult Load(string path, ConfigLoadOptions options)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            var error = new ConfigDiagnostic(new SourceLocation(path, 0, 0), "", $"cannot read file: {ReadProblem(path, e)}");
            return new ConfigLoadResult(null, [error], []);
        }
        var directory = Path.GetDirectoryName(Path.GetFullPath(path)) ?? Directory.GetCurrentDirectory();
        return Parse(text, path, directory, options);
    }

    internal static ConfigLoadResult Parse(string text, string sourceName, string baseDirectory, ConfigLoadOptions options)
    {
        var diagnostics = new DiagnosticBag();
        try
        {
            if (TomlDocument.Parse(text, sourceName, diagnostics) is not var (document, map))
            {
                return new ConfigLoadResult(null, diagnostics.Errors, diagnostics.Warnings);
            }
            var context = new LoadContext(sourceName, Path.GetFullPath(baseDirectory), map, diagnostics, options);
            var config = ProxyConfigValidator.Validate(context, document, sourceName);
            return diagnostics.HasErrors
                ? new ConfigLoadResult(null, diagnostics.Errors, diagnostics.Warnings)
                : new ConfigLoadResult(config, [], config.Warnings);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A bug in a validator: still one line naming the file, never a stack trace at the operator.
            diagnostics.Error(new SourceLocation(sourceName, 0, 0), "", $"internal error while validating: {e.GetType().Name}: {e.Message}");
            return new ConfigLoadResult(null, diagnostics.Errors, diagnostics.Warnings);
        }
    }

    private static string ReadProblem(string path, Exception e) => e switch
    {
        _ when Directory.Exists(path) => "is a directory",
        // A relative path is looked for in the working directory, which a service manager may set to anything.
        FileNotFoundException or DirectoryNotFoundException when !Path.IsPathRooted(path) => $"the file does not exist (looked for {Path.GetFullPath(path)})",
        FileNotFoundException or DirectoryNotFoundException => "the file does not exist",
        UnauthorizedAccessException => "permission denied",
        _ => e.Message,
    };
}
