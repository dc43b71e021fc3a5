namespace FastProxy.Tests.Configuration;

public class TypeAndUnitTests
{
    [Fact]
    public void WrongType_NamesBothTypes()
    {
        var error = ConfigText.Error(ConfigText.Minimal + """


            [global]
            max_connections = "100"
            """);

        Assert.Equal("proxy.toml:9:19: global.max_connections: expected an integer, got a string", error);
    }

    [Fact]
    public void DurationGivenAsNumber_SaysHowToWriteIt()
    {
        var error = ConfigText.Error(ConfigText.Minimal + """


            [global]
            shutdown_timeout = 30
            """);

        Assert.Equal("proxy.toml:9:20: global.shutdown_timeout: expected a duration string such as \"5s\", got an integer", error);
    }

    [Fact]
    public void BadDuration_NamesKeyAndAcceptedForms()
    {
        var error = ConfigText.Error(ConfigText.Minimal + """


            [limits]
            header_timeout = "10 seconds"
            """);

        Assert.Equal(
            "proxy.toml:9:18: limits.header_timeout: invalid duration \"10 seconds\" (did you mean \"10s\"?): " +
            "expected a whole number with a unit ms, s, m or h, e.g. \"250ms\", \"5s\", \"2m\", \"1h\", or combined as \"1m30s\"",
            error);
    }

    [Fact]
    public void ZeroDuration_WhereItMustBePositive()
    {
        var error = ConfigText.Error(ConfigText.Minimal + """


            [global]
            shutdown_timeout = "0s"
            """);

        Assert.Equal("proxy.toml:9:20: global.shutdown_timeout: must be greater than 0", error);
    }

    [Fact]
    public void BadSize_NamesKeyAndAcceptedForms()
    {
        var error = ConfigText.Error(ConfigText.Minimal + """


            [limits]
            max_body = "10MB"
            """);

        Assert.Equal(
            "proxy.toml:9:12: limits.max_body: invalid size \"10MB\" (did you mean \"10MiB\"?): " +
            "expected a whole number with a unit B, KiB, MiB or GiB, e.g. \"512B\", \"16KiB\", \"10MiB\"",
            error);
    }

    [Fact]
    public void SizeTooLargeForABuffer()
    {
        var error = ConfigText.Error(ConfigText.Minimal + """


            [limits]
            max_header_bytes = "2GiB"
            """);

        Assert.Equal("proxy.toml:9:20: limits.max_header_bytes: must be at most 2147483647B", error);
    }

    [Fact]
    public void MaxBodyZero_MeansUnlimited()
    {
        var config = ConfigText.Load(ConfigText.Minimal + """


            [limits]
            max_body = "0"
            """);

        Assert.Equal(0, config.Limits.MaxBody);
    }

    [Fact]
    public void OutOfRangeInteger()
    {
        var error = ConfigText.Error(ConfigText.Minimal + """


            [global]
            max_connections = 0
            """);

        Assert.Equal("proxy.toml:9:19: global.max_connections: must be at least 1, got 0", error);
    }

    [Fact]
    public void SingleTableWhereArrayOfTablesBelongs()
    {
        var error = ConfigText.Error("""
            [listeners]
            name = "web"
            """);

        Assert.Equal("proxy.toml:1:1: listeners: expected an array of tables ([[listeners]]), got a table", error);
    }

    [Fact]
    public void ArrayOfTablesWhereOneTableBelongs()
    {
        var error = ConfigText.Error(ConfigText.Minimal + """

            [[routes.match]]
            path = "/"
            """);

        Assert.Equal("proxy.toml:7:1: routes[0].match: expected a table ([...], not [[...]]), got an array of tables", error);
    }

    [Fact]
    public void StringWhereListBelongs_SaysHowToWriteIt()
    {
        var error = ConfigText.Error("""
            [[listeners]]
            name = "web"
            bind = "127.0.0.1:0"

            [[routes]]
            listeners = "web"
            respond = { status = 200 }
            """);

        Assert.Equal("proxy.toml:6:13: routes[0].listeners: expected an array of strings (write [\"web\"]), got a string", error);
    }

    [Fact]
    public void MissingRequiredKey_PointsAtTheTable()
    {
        var error = ConfigText.Error("""
            [[listeners]]
            name = "web"

            [[routes]]
            respond = { status = 200 }
            """);

        Assert.Equal("proxy.toml:1:1: listeners[0]: missing required key \"bind\"", error);
    }
}
