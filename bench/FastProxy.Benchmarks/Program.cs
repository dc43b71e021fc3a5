using BenchmarkDotNet.Running;

namespace FastProxy.Benchmarks;

/// <summary>
/// Runs the microbenchmarks: <c>dotnet run -c Release --project bench/FastProxy.Benchmarks -- --filter '*'</c>.
/// <c>bench/run-microbench.sh</c> runs them with the short job and files the tables under perf-results/.
/// </summary>
public static class Program
{
    public static void Main(string[] args) => BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
}
