namespace FastProxy.Tests.Configuration;

public class SyntaxErrorTests
{
    [Fact]
    public void MissingValue_IsOneLineWithPosition()
    {
        var error = ConfigText.Error("""
            [global]
            shutdown_timeout =
            max_connections = 10
            """);

        Assert.Equal("proxy.toml:2:19: unexpected token end-of-line found while expecting a value", error);
    }

    [Fact]
    public void MissingValueAtEndOfFile_SaysEndOfFile()
    {
        var error = ConfigText.Error("""
            [global]
            shutdown_timeout =
            """);

        Assert.Equal("proxy.toml:2:19: unexpected token end of file for a value", error);
    }

    [Fact]
    public void UnterminatedString_NamesTheLine()
    {
        var errors = ConfigText.Errors("""
            [[listeners]]
            name = "web
            bind = "127.0.0.1:0"
            """);

        Assert.Equal("proxy.toml:2:12: invalid newline in a string", errors[0]);
    }

    [Fact]
    public void DuplicateKey_IsAnError_NotLastWins()
    {
        var error = ConfigText.Error("""
            [global]
            max_connections = 10
            max_connections = 20
            """);

        Assert.Equal("proxy.toml:3:1: the key `global.max_connections` is already defined at line 2 and cannot be redefined", error);
    }

    [Fact]
    public void DuplicateTable_IsAnError()
    {
        var error = ConfigText.Error("""
            [global]
            max_connections = 10
            [global]
            shutdown_timeout = "5s"
            """);

        Assert.StartsWith("proxy.toml:3:1: the key `global` is already defined at line 1", error);
    }

    [Fact]
    public void ErrorsOnSeveralLines_AreAllReported_OnePerLine()
    {
        var errors = ConfigText.Errors("""
            [global]
            shutdown_timeout =
            [limits
            """);

        Assert.Equal(2, errors.Length);
        Assert.StartsWith("proxy.toml:2:", errors[0]);
        Assert.StartsWith("proxy.toml:3:", errors[1]);
    }
}
