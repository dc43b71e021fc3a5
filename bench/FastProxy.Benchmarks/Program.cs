using BenchmarkDotNet.Running;

namespace FastProxy.Benchmarks;

/// <summary>Runs the microbenchmarks: <c>dotnet run -c Release --project bench/FastProxy.Benchmarks -- --filter '*'</c>.</summary>
public static class Program
{
    public static void Main(string[] args) => BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
}
