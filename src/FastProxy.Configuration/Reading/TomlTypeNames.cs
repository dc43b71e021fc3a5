using Tomlyn.Model;

namespace FastProxy.Configuration.Reading;

/// <summary>TOML type names for "expected a string, got an integer" messages, in TOML's own words.</summary>
internal static class TomlTypeNames
{
    public static string Of(object? value) => value switch
    {
        string => "a string",
        long or int => "an integer",
        double or float => "a float",
        bool => "a boolean",
        TomlTableArray => "an array of tables",
        TomlTable => "a table",
        TomlArray => "an array",
        null => "nothing",
        _ => "a date-time",
    };
}
