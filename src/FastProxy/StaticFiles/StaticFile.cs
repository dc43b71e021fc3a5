using System.Buffers.Text;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace FastProxy.StaticFiles;

/// <summary>
/// One stored representation of a file (the file itself, or its .br / .zst / .gz sibling): an open handle and the validator
/// lines, formatted once when the file is opened. The handle is shared by every request that serves the file while it
/// is cached: each takes a reference (<see cref="TryAcquire"/>) so that an entry replaced meanwhile closes its
/// descriptor only after the last read (SafeHandle's own reference count).
/// </summary>
internal sealed class FileVariant
{
    public FileVariant(SafeFileHandle handle, long length, long mtime, byte[]? encodingLines)
    {
        Handle = handle;
        Length = length;
        Mtime = mtime;
        // nginx's form: hex seconds of the modification time, hex size. Strong: the bytes change with either.
        ETag = Encoding.ASCII.GetBytes($"\"{mtime:x}-{length:x}\"");
        Span<byte> date = stackalloc byte[29];
        Utf8Formatter.TryFormat(DateTimeOffset.FromUnixTimeSeconds(mtime), date, out int written, 'R');
        ValidatorLines = [.. "Last-Modified: "u8, .. date[..written], .. "\r\nETag: "u8, .. ETag, .. "\r\n"u8];
        EncodingLines = encodingLines;
    }

    public SafeFileHandle Handle { get; }
    public long Length { get; }
    /// <summary>Modification time, seconds since the epoch.</summary>
    public long Mtime { get; }
    /// <summary>The quoted entity tag.</summary>
    public byte[] ETag { get; }
    /// <summary>"Last-Modified: ...\r\nETag: ...\r\n".</summary>
    public byte[] ValidatorLines { get; }
    /// <summary>"Content-Encoding: br\r\n" for a precompressed sibling; null for the file itself.</summary>
    public byte[]? EncodingLines { get; }

    /// <summary>Takes a reference on the handle for one response; false when the entry was closed meanwhile.</summary>
    public bool TryAcquire()
    {
        bool added = false;
        try
        {
            Handle.DangerousAddRef(ref added);
        }
        catch (ObjectDisposedException)
        {
            return false;
        }
        return added;
    }

    public void Release() => Handle.DangerousRelease();
}

internal enum FileKind : byte
{
    /// <summary>A regular file under the root: served.</summary>
    File,
    /// <summary>A directory asked for without its final '/': 301 to the path with it (nginx does the same).</summary>
    Directory,
}

/// <summary>A mapped path resolved to what it serves, cached for <see cref="StaticSite.ValidMs"/> (nginx's open_file_cache).</summary>
internal sealed class StaticFile
{
    public required FileKind Kind { get; init; }
    /// <summary>The file itself (null for a directory).</summary>
    public FileVariant? Identity { get; init; }
    public FileVariant? Brotli { get; init; }
    public FileVariant? Gzip { get; init; }
    public FileVariant? Zstd { get; init; }
    /// <summary>"Content-Type: ...\r\n", by the requested name's extension.</summary>
    public byte[] TypeLine { get; init; } = [];
    /// <summary>When the entry must be checked against the file system again (Environment.TickCount64).</summary>
    public long ExpiresAt { get; init; }
    /// <summary>Not in the cache (it was full): closed by the response that opened it.</summary>
    public bool Owned { get; set; }

    public bool HasVariants => Brotli is not null || Gzip is not null || Zstd is not null;

    public FileVariant For(Coding coding) => coding switch
    {
        Coding.Brotli => Brotli!,
        Coding.Gzip => Gzip!,
        Coding.Zstd => Zstd!,
        _ => Identity!,
    };

    public void Close()
    {
        Identity?.Handle.Dispose();
        Brotli?.Handle.Dispose();
        Gzip?.Handle.Dispose();
        Zstd?.Handle.Dispose();
    }
}
