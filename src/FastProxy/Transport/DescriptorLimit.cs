using System.Runtime.InteropServices;

namespace FastProxy.Transport;

/// <summary>
/// The process's file-descriptor limit (RLIMIT_NOFILE, its soft value): every client connection, upstream connection
/// and listener takes one, so whatever the proxy keeps open by choice (idle upstream connections) stays within a share of it.
/// </summary>
internal static partial class DescriptorLimit
{
    /// <summary>Where the limit cannot be read (Windows has none of this kind): as a typical server's raised limit.</summary>
    private const int Fallback = 65_536;

    private static readonly Lazy<int> s_current = new(Read);

    /// <summary>The soft limit at the first call, clamped to int.MaxValue (RLIM_INFINITY reads as that).</summary>
    public static int Current => s_current.Value;

    private static int Read()
    {
        // RLIMIT_NOFILE is 7 on Linux, 8 on the BSDs and macOS; rlim_t is 64 bits on all of them (64-bit builds).
        int resource;
        if (OperatingSystem.IsLinux()) resource = 7;
        else if (OperatingSystem.IsMacOS() || OperatingSystem.IsFreeBSD()) resource = 8;
        else return Fallback;
        try
        {
            if (GetRLimit(resource, out var limit) != 0) return Fallback;
            return limit.Current > int.MaxValue ? int.MaxValue : (int)limit.Current;
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            return Fallback;
        }
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct RLimit
    {
        public ulong Current;
        public ulong Maximum;
    }

    [LibraryImport("libc", EntryPoint = "getrlimit")]
    private static partial int GetRLimit(int resource, out RLimit limit);
}
