using FastProxy.Tests.Configuration;

namespace FastProxy.Tests.StaticFiles;

/// <summary>The static key of a route: what check accepts and refuses, with file:line:col.</summary>
public sealed class StaticConfigTests : IDisposable
{
    private readonly StaticTree _tree = new();

    public void Dispose() => _tree.Dispose();

    [Fact]
    public void Root_is_relative_to_the_config_files_directory_with_defaults()
    {
        var config = ConfigText.Load("""
            [[listeners]]
            name = "web"
            bind = "127.0.0.1:0"

            [[routes]]
            static = { root = "public" }
            """, baseDirectory: _tree.Base);
        var files = Assert.Single(config.Routes).Static!;
        Assert.Equal(_tree.Root, files.Root);
        Assert.Equal("index.html", files.Index);
        Assert.False(files.Precompressed);
        Assert.False(files.Dotfiles);
        Assert.Empty(files.Types);
    }

    [Fact]
    public void A_missing_root_is_named_with_its_position()
    {
        var error = ConfigText.Error("""
            [[listeners]]
            name = "web"
            bind = "127.0.0.1:0"

            [[routes]]
            static = { root = "nowhere" }
            """, baseDirectory: _tree.Base);
        Assert.Equal($"proxy.toml:6:19: routes[0].static.root: directory not found: {Path.Combine(_tree.Base, "nowhere")}", error);
    }

    [Fact]
    public void A_file_as_root_is_refused()
    {
        var error = ConfigText.Error("""
            [[listeners]]
            name = "web"
            bind = "127.0.0.1:0"

            [[routes]]
            static = { root = "secret.txt" }
            """, baseDirectory: _tree.Base);
        Assert.Contains("routes[0].static.root: ", error);
        Assert.Contains("is a file, expected a directory", error);
    }

    [Fact]
    public void Static_with_upstream_is_refused()
    {
        var error = ConfigText.Error("""
            [[listeners]]
            name = "web"
            bind = "127.0.0.1:0"

            [[routes]]
            upstream = "app"
            static = { root = "public" }

            [upstreams.app]
            servers = ["127.0.0.1:9"]
            """, baseDirectory: _tree.Base);
        Assert.Equal("proxy.toml:7:1: routes[0].static: give either static or upstream, not both (a static route answers from its files)", error);
    }

    [Fact]
    public void Static_with_respond_is_refused()
    {
        var error = ConfigText.Error("""
            [[listeners]]
            name = "web"
            bind = "127.0.0.1:0"

            [[routes]]
            respond = { status = 200 }
            static = { root = "public" }
            """, baseDirectory: _tree.Base);
        Assert.Contains("routes[0].static: give either static or respond, not both", error);
    }

    [Theory]
    [InlineData("index = \"a/b.html\"", "routes[0].static.index: expected a file name")]
    [InlineData("types = { \".js\" = \"text/javascript\" }", "routes[0].static.types.\".js\": expected an extension without the dot")]
    [InlineData("types = { js = \"javascript\" }", "routes[0].static.types.js: expected a media type")]
    [InlineData("precompressed = \"yes\"", "routes[0].static.precompressed: expected a boolean")]
    [InlineData("rooot = \"x\"", "routes[0].static.rooot: unknown key")]
    public void Wrong_keys_are_named(string keys, string expected)
    {
        var errors = ConfigText.Errors($$"""
            [[listeners]]
            name = "web"
            bind = "127.0.0.1:0"

            [[routes]]
            static = { root = "public", {{keys}} }
            """, baseDirectory: _tree.Base);
        Assert.Contains(errors, e => e.Contains(expected, StringComparison.Ordinal));
    }
}
