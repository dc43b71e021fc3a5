using FastProxy.Configuration;
using FastProxy.Tests.Configuration;

namespace FastProxy.Tests.Gateway;

/// <summary>[policies.NAME] type = "error_pages" in `fastproxy check`: what loads, and each mistake at its file:line:col.</summary>
public sealed class ErrorPagesConfigTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fp-errorpages-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string Policy(string body) => ConfigText.Minimal + "\npolicies = [\"pages\"]\n\n[policies.pages]\ntype = \"error_pages\"\n" + body;

    // Minimal is 6 lines; then the route's policies (7), a blank line, the header (9), type (10), the first key (11).
    private const int FirstKeyLine = 11;

    private ErrorPagesOptions Load(string body) =>
        Assert.IsType<ErrorPagesOptions>(Assert.Single(ConfigText.Load(Policy(body), _dir).Policies).Options);

    private string Error(string body) => ConfigText.Error(Policy(body), _dir);

    [Fact]
    public void Defaults_every_4xx_and_5xx_negotiated_proxy_errors_only()
    {
        var options = Load("");
        Assert.Equal(["4xx", "5xx"], options.Statuses.Select(s => s.ToString()));
        Assert.Equal([ErrorPageFormat.ProblemJson, ErrorPageFormat.Html], options.Formats);
        Assert.Empty(options.Pages);
        Assert.True(options.OnlyProxyErrors);
    }

    [Fact]
    public void Statuses_formats_pages_and_only_proxy_errors_load()
    {
        File.WriteAllText(Path.Combine(_dir, "503.html"), "<h1>down</h1>");
        Directory.CreateDirectory(Path.Combine(_dir, "errors"));
        File.WriteAllText(Path.Combine(_dir, "errors", "5xx.html"), "<h1>oops</h1>");
        var options = Load("statuses = [\"502\", 503, \"5xx\", \"404\", \"429\"]\nformat = \"html\"\n"
            + "pages = { \"503\" = \"503.html\", \"5xx\" = \"errors/5xx.html\" }\nonly_proxy_errors = false\n");
        Assert.Equal(["502", "503", "5xx", "404", "429"], options.Statuses.Select(s => s.ToString()));
        Assert.Equal([ErrorPageFormat.Html], options.Formats);
        Assert.Equal([("503", "<h1>down</h1>"), ("5xx", "<h1>oops</h1>")],
            options.Pages.Select(p => (p.Statuses.ToString(), System.Text.Encoding.UTF8.GetString(p.Content))));
        Assert.False(options.OnlyProxyErrors);
    }

    [Theory]
    [InlineData("format = \"problem+json\"", new[] { ErrorPageFormat.ProblemJson })]
    [InlineData("format = \"negotiate\"", new[] { ErrorPageFormat.ProblemJson, ErrorPageFormat.Html })]
    [InlineData("format = [\"html\", \"problem+json\"]", new[] { ErrorPageFormat.Html, ErrorPageFormat.ProblemJson })]
    public void Format_is_one_format_or_a_preference_order(string line, ErrorPageFormat[] expected)
    {
        Assert.Equal(expected, Load(line + "\n").Formats);
    }

    [Fact]
    public void A_missing_page_file_is_an_error_at_its_value()
    {
        var error = Error("statuses = [\"503\"]\npages = { \"503\" = \"errors/nope.html\" }\n");
        Assert.StartsWith($"proxy.toml:{FirstKeyLine + 1}:19: policies.pages.pages.503: file not found: ", error);
        Assert.EndsWith(Path.Combine("errors", "nope.html"), error);
    }

    [Theory]
    [InlineData("statuses = [\"200\"]", 1, 13, "policies.pages.statuses[0]", "\"200\" is not an error status: write a status between 400 and 599 (\"503\") or a class (\"4xx\", \"5xx\")")]
    [InlineData("statuses = [\"503\", \"3xx\"]", 1, 20, "policies.pages.statuses[1]", "\"3xx\" is not an error status: write a status between 400 and 599 (\"503\") or a class (\"4xx\", \"5xx\")")]
    [InlineData("statuses = [600]", 1, 13, "policies.pages.statuses[0]", "must be a status between 400 and 599, got 600")]
    [InlineData("statuses = \"503\"", 1, 12, "policies.pages.statuses", "expected an array of statuses (write [\"502\", \"5xx\"]), got a string")]
    [InlineData("statuses = []", 1, 12, "policies.pages.statuses", "an empty list would replace nothing: leave statuses out for every 4xx and 5xx, or list them")]
    [InlineData("format = \"json\"", 1, 10, "policies.pages.format", "unknown format \"json\" (known: problem+json, html, negotiate)")]
    [InlineData("format = [\"html\", \"html\"]", 1, 19, "policies.pages.format[1]", "listed twice")]
    [InlineData("only_proxy_errors = \"yes\"", 1, 21, "policies.pages.only_proxy_errors", "expected a boolean (true or false), got a string")]
    public void Mistakes_name_file_line_column_and_key(string line, int lineOffset, int column, string key, string message)
    {
        Assert.Equal($"proxy.toml:{FirstKeyLine + lineOffset - 1}:{column}: {key}: {message}", Error(line + "\n"));
    }

    [Fact]
    public void A_page_for_a_status_not_listed_is_an_error_at_its_key()
    {
        File.WriteAllText(Path.Combine(_dir, "404.html"), "x");
        Assert.Equal($"proxy.toml:{FirstKeyLine + 1}:11: policies.pages.pages.404: 404 is not in statuses, so this page would never be sent (statuses: 502, 5xx)",
            Error("statuses = [\"502\", \"5xx\"]\npages = { \"404\" = \"404.html\" }\n"));
    }

    [Fact]
    public void Pages_with_problem_json_only_are_an_error()
    {
        File.WriteAllText(Path.Combine(_dir, "503.html"), "x");
        Assert.StartsWith($"proxy.toml:{FirstKeyLine + 1}:9: policies.pages.pages: pages are HTML pages, and format = \"problem+json\" never sends one",
            Error("format = \"problem+json\"\npages = { \"503\" = \"503.html\" }\n"));
    }

    [Fact]
    public void An_unknown_key_is_refused_with_a_suggestion()
    {
        Assert.Contains("unknown key (did you mean \"statuses\"?)", Error("status = [\"503\"]\n"));
    }
}
