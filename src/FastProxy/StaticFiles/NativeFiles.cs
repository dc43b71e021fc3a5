using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace FastProxy.StaticFiles;

/// <summary>
/// The three libc calls static files need and .NET does not offer: realpath(3) (every symbolic link resolved, intermediate
/// directories included, so "is it under root" is decided on the file actually opened), open(2) with O_NONBLOCK (opening a
/// FIFO with File.OpenHandle blocks until a writer comes), and statx(2) on the open descriptor (file type, size and
/// modification time in one call; its layout is the same on every Linux architecture, unlike struct stat).
/// </summary>
internal static unsafe partial class NativeFiles
{
    private const int PathMax = 4096;
    private const int ORdOnly = 0;
    /// <summary>Same value on x86-64 and arm64 (04000 and 02000000 octal).</summary>
    private const int ONonBlock = 0x800;
    private const int OCloExec = 0x80000;
    private const int AtEmptyPath = 0x1000;
    private const uint StatxBasicStats = 0x7ff;
    private const int StatxSize = 256;
    // struct statx (include/uapi/linux/stat.h): stx_mode u16 at 28, stx_size u64 at 40, stx_mtime.tv_sec i64 at 112.
    private const int ModeOffset = 28;
    private const int SizeOffset = 40;
    private const int MtimeOffset = 112;
    private const int SIfMt = 0xF000;
    private const int SIfReg = 0x8000;
    private const int SIfDir = 0x4000;

    [LibraryImport("libc", EntryPoint = "realpath")]
    private static partial nint RealPath(byte* path, byte* resolved);

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true)]
    private static partial int Open(byte* path, int flags);

    [LibraryImport("libc", EntryPoint = "statx", SetLastError = true)]
    private static partial int Statx(int dirfd, byte* path, int flags, uint mask, byte* buffer);

    /// <summary>The canonical absolute path of <paramref name="path"/> (links, "." and ".." resolved); null when it does not exist.</summary>
    public static string? ResolvePath(string path)
    {
        int max = Encoding.UTF8.GetMaxByteCount(path.Length) + 1;
        if (max > PathMax) return null;
        byte* input = stackalloc byte[max];
        int n = Encoding.UTF8.GetBytes(path, new Span<byte>(input, max - 1));
        input[n] = 0;
        byte* output = stackalloc byte[PathMax];
        if (RealPath(input, output) == 0) return null;
        return Marshal.PtrToStringUTF8((nint)output);
    }

    /// <summary>What kind of file a path is, with its size and modification time (seconds since the epoch).</summary>
    public enum Kind : byte { Missing, Regular, Directory, Other }

    /// <summary>
    /// Opens <paramref name="path"/> for reading without blocking (a FIFO does not wait for a writer) and tells what it is.
    /// The handle is returned only for a regular file; any other kind is closed at once.
    /// </summary>
    public static Kind OpenFile(string path, out SafeFileHandle? handle, out long size, out long mtime)
    {
        handle = null;
        size = 0;
        mtime = 0;
        int max = Encoding.UTF8.GetMaxByteCount(path.Length) + 1;
        if (max > PathMax) return Kind.Missing;
        byte* input = stackalloc byte[max];
        int n = Encoding.UTF8.GetBytes(path, new Span<byte>(input, max - 1));
        input[n] = 0;
        int fd = Open(input, ORdOnly | ONonBlock | OCloExec);
        if (fd < 0) return Kind.Missing;
        var owned = new SafeFileHandle(fd, ownsHandle: true);
        byte* stat = stackalloc byte[StatxSize];
        byte empty = 0;
        if (Statx(fd, &empty, AtEmptyPath, StatxBasicStats, stat) != 0)
        {
            owned.Dispose();
            return Kind.Missing;
        }
        int mode = *(ushort*)(stat + ModeOffset) & SIfMt;
        size = *(long*)(stat + SizeOffset);
        mtime = *(long*)(stat + MtimeOffset);
        if (mode != SIfReg)
        {
            owned.Dispose();
            return mode == SIfDir ? Kind.Directory : Kind.Other;
        }
        handle = owned;
        return Kind.Regular;
    }
}
