using System.Security.Cryptography;

namespace FastProxy.Ingress;

/// <summary>
/// Secret contents the proxy reads from files (PEM certificates and keys, htpasswd lists), written under the state
/// directory by the SHA-256 of their bytes: the same content is the same file, so an unchanged Secret is not rewritten.
/// Files no longer used are removed by <see cref="Sweep"/> after a configuration that does not name them is serving.
/// </summary>
public sealed class SecretFiles
{
    private readonly string _directory;
    private readonly HashSet<string> _used = new(StringComparer.Ordinal);

    public SecretFiles(string directory)
    {
        _directory = directory;
        if (!Directory.Exists(directory))
        {
            if (OperatingSystem.IsWindows()) Directory.CreateDirectory(directory);
            else Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }

    /// <summary>The path of a file holding <paramref name="content"/> (written now when absent).</summary>
    public string Write(ReadOnlySpan<byte> content, string extension)
    {
        var name = Convert.ToHexStringLower(SHA256.HashData(content)) + extension;
        var path = Path.Combine(_directory, name);
        lock (_used)
        {
            _used.Add(name);
            if (!File.Exists(path))
            {
                var temp = path + ".tmp";
                var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
                if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
                using (var stream = new FileStream(temp, options)) stream.Write(content);
                File.Move(temp, path, overwrite: true);
            }
        }
        return path;
    }

    /// <summary>Starts a new round: files written from now on are the ones in use.</summary>
    public void BeginRound()
    {
        lock (_used) _used.Clear();
    }

    /// <summary>Removes the files the last round did not write (the configuration now serving does not name them).</summary>
    public void Sweep()
    {
        lock (_used)
        {
            foreach (var file in Directory.EnumerateFiles(_directory))
            {
                if (!_used.Contains(Path.GetFileName(file))) File.Delete(file);
            }
        }
    }
}
