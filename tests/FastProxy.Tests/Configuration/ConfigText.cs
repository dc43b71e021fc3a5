using System.Net;
using System.Net.Sockets;
using FastProxy.Configuration;
using FastProxy.Configuration.Values;

namespace FastProxy.Tests.Configuration;

/// <summary>Parses config text the way the loader does, with a fixed resolver so tests never depend on the machine's DNS.</summary>
internal static class ConfigText
{
    /// <summary>A listener and a route that answers, so a snippet under test has company and loads without unrelated warnings.</summary>
    public const string Minimal = """
        [[listeners]]
        name = "web"
        bind = "127.0.0.1:0"

        [[routes]]
        respond = { status = 200 }
        """;

    public static ConfigLoadResult Parse(string text, string? baseDirectory = null, DateTimeOffset? now = null) =>
        ConfigLoader.Parse(text, "proxy.toml", baseDirectory ?? AppContext.BaseDirectory,
            new ConfigLoadOptions { Resolver = FakeResolver.Instance, Now = now });

    public static string[] Errors(string text, string? baseDirectory = null, DateTimeOffset? now = null) =>
        Parse(text, baseDirectory, now).Errors.Select(e => e.ToString()).ToArray();

    /// <summary>Exactly one error, as printed.</summary>
    public static string Error(string text, string? baseDirectory = null, DateTimeOffset? now = null)
    {
        var errors = Errors(text, baseDirectory, now);
        Assert.True(errors.Length == 1, $"expected one error, got {errors.Length}:\n{string.Join("\n", errors)}");
        return errors[0];
    }

    public static ProxyConfig Load(string text, string? baseDirectory = null, DateTimeOffset? now = null)
    {
        var result = Parse(text, baseDirectory, now);
        Assert.True(result.Success, string.Join("\n", result.Errors));
        return result.Config;
    }
}

/// <summary>localhost and app.internal resolve; every other name does not.</summary>
internal sealed class FakeResolver : IHostResolver
{
    public static readonly FakeResolver Instance = new();

    public IPAddress[] Resolve(string host) => host.ToLowerInvariant() switch
    {
        "localhost" => [IPAddress.IPv6Loopback, IPAddress.Loopback],
        "app.internal" => [IPAddress.Parse("10.0.0.5")],
        _ => throw new SocketException((int)SocketError.HostNotFound),
    };
}
