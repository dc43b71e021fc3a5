using FastProxy.Transport;

namespace FastProxy.Tests.Transport;

/// <summary>The file-descriptor limit the adaptive upstream pools take their ceiling from.</summary>
public sealed class DescriptorLimitTests
{
    [Fact]
    public void Reads_the_soft_RLIMIT_NOFILE_the_kernel_reports_for_this_process()
    {
        if (!OperatingSystem.IsLinux()) return;
        // "Max open files            20000                20000                files": the soft limit is the first number.
        var line = File.ReadAllLines("/proc/self/limits").Single(l => l.StartsWith("Max open files", StringComparison.Ordinal));
        var soft = line["Max open files".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries)[0];
        int expected = soft == "unlimited" ? int.MaxValue : (int)Math.Min(long.Parse(soft), int.MaxValue);

        Assert.Equal(expected, DescriptorLimit.Current);
    }
}
