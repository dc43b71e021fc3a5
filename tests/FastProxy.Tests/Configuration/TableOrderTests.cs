using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using FastProxy.Configuration;

namespace FastProxy.Tests.Configuration;

/// <summary>
/// TOML lets an array of tables be continued after other tables, and a sub-table ([[listeners.tls]],
/// [routes.match], [upstreams.NAME.health]) come after other tables too: the same config written in any
/// legal order loads to the same model, and every entry keeps its own file:line:col.
/// </summary>
public sealed class TableOrderTests : IDisposable
{
    private static readonly DateTimeOffset Now = new(2025, 6, 1, 0, 0, 0, TimeSpan.Zero);

    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("fastproxy-config-order-");

    public TableOrderTests()
    {
        WriteCertificate("a");
        WriteCertificate("b");
    }

    public void Dispose() => _dir.Delete(recursive: true);

    private void WriteCertificate(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}.example", key, HashAlgorithmName.SHA256);
        using var certificate = request.CreateSelfSigned(Now.AddDays(-1), Now.AddYears(1));
        File.WriteAllText(Path.Combine(_dir.FullName, name + ".pem"), certificate.ExportCertificatePem());
        File.WriteAllText(Path.Combine(_dir.FullName, name + ".key"), key.ExportPkcs8PrivateKeyPem());
    }

    // The pieces of one config. A sub-table ([listeners.limits], [[listeners.tls]], [routes.match]) belongs to the
    // last element of its array so far, so every order below keeps it after its own element and before the next one.
    private static readonly Dictionary<string, string> Blocks = new()
    {
        ["Global"] = """
            [global]
            max_connections = 500
            """,
        ["Web"] = """
            [[listeners]]
            name = "web"
            bind = "127.0.0.1:0"
            """,
        ["WebLimits"] = """
            [listeners.limits]
            max_headers = 50
            """,
        ["Secure"] = """
            [[listeners]]
            name = "secure"
            bind = "127.0.0.1:0"
            """,
        ["TlsA"] = """
            [[listeners.tls]]
            cert = "a.pem"
            key = "a.key"
            sni = ["a.example"]
            """,
        ["TlsB"] = """
            [[listeners.tls]]
            cert = "b.pem"
            key = "b.key"
            sni = ["b.example"]
            """,
        ["L4"] = """
            [[listeners]]
            name = "l4"
            bind = "127.0.0.1:0"
            protocol = "tcp"
            upstream = "app"
            """,
        ["Api"] = """
            [[routes]]
            name = "api"
            listeners = ["web", "secure"]
            upstream = "app"
            """,
        ["ApiMatch"] = """
            [routes.match]
            path_prefix = "/api"
            methods = ["GET", "POST"]
            """,
        ["Hello"] = """
            [[routes]]
            name = "hello"
            respond = { status = 200, body = "hello" }
            """,
        ["HelloMatch"] = """
            [routes.match]
            host = "hello.example"
            """,
        ["App"] = """
            [upstreams.app]
            servers = [{ address = "127.0.0.1:9001" }, { address = "127.0.0.1:9002", weight = 2 }]
            balance = "weighted"
            """,
        ["AppHealth"] = """
            [upstreams.app.health]
            path = "/healthz"
            interval = "5s"
            """,
        ["AppRetry"] = """
            [upstreams.app.retry]
            attempts = 1
            """,
        ["Spare"] = """
            [upstreams.spare]
            servers = [{ address = "localhost:9003" }]
            """,
    };

    private static readonly string[] Grouped =
        ["Global", "Web", "WebLimits", "Secure", "TlsA", "TlsB", "L4", "Api", "ApiMatch", "Hello", "HelloMatch", "App", "AppHealth", "AppRetry", "Spare"];

    public static TheoryData<string, string[]> Orders => new()
    {
        { "grouped", Grouped },
        { "listeners interleaved with routes", ["Web", "WebLimits", "Api", "ApiMatch", "Secure", "TlsA", "TlsB", "Global", "Hello", "HelloMatch", "L4", "App", "AppHealth", "AppRetry", "Spare"] },
        { "[[listeners.tls]] and [routes.match] after later tables", ["Web", "WebLimits", "Secure", "Api", "TlsA", "App", "TlsB", "ApiMatch", "Hello", "L4", "HelloMatch", "AppHealth", "Spare", "AppRetry", "Global"] },
        { "upstream sub-tables first and last, everything interleaved", ["AppHealth", "Spare", "Api", "Web", "App", "ApiMatch", "WebLimits", "Global", "Hello", "Secure", "TlsA", "HelloMatch", "TlsB", "L4", "AppRetry"] },
    };

    private static (string Text, Dictionary<string, int> Lines) Assemble(string[] order)
    {
        var text = "";
        var lines = new Dictionary<string, int>();
        var line = 1;
        foreach (var name in order)
        {
            lines[name] = line;
            text += Blocks[name] + "\n\n";
            line += Blocks[name].Split('\n').Length + 1;
        }
        return (text, lines);
    }

    private ProxyConfig Load(string text) => ConfigText.Load(text, _dir.FullName, Now);

    /// <summary>Everything the config says, without positions (those depend on the order, and are checked on their own).</summary>
    private static List<string> Describe(ProxyConfig config)
    {
        var lines = new List<string> { $"global max_connections={config.Global.MaxConnections}" };
        foreach (var l in config.Listeners)
        {
            var tls = string.Join(", ", l.Tls.Select(t => $"{Path.GetFileName(t.Cert)}+{Path.GetFileName(t.Key)} sni={string.Join("|", t.Sni ?? [])}"));
            lines.Add($"listener {l.Name} {l.Bind} {l.Protocol} upstream={l.Upstream} max_headers={l.Limits.MaxHeaders} tls=[{tls}]");
        }
        foreach (var r in config.Routes)
        {
            var m = r.Match;
            lines.Add($"route {r.Name} listeners={string.Join("|", r.Listeners ?? [])} upstream={r.Upstream} " +
                $"respond={r.Respond?.Status}:{r.Respond?.Body} host={m.Host} prefix={m.PathPrefix} methods={string.Join("|", m.Methods ?? [])}");
        }
        foreach (var u in config.Upstreams)
        {
            var servers = string.Join(", ", u.Servers.Select(s => $"{s.EndPoint}*{s.Weight}"));
            lines.Add($"upstream {u.Name} {u.Balance} [{servers}] health={u.Health?.Path}@{u.Health?.Interval} retry={u.Retry?.Attempts}");
        }
        return lines;
    }

    [Fact]
    public void Grouped_order_loads_everything()
    {
        var (text, _) = Assemble(Grouped);

        Assert.Equal(
        [
            "global max_connections=500",
            "listener web 127.0.0.1:0 Http upstream= max_headers=50 tls=[]",
            "listener secure 127.0.0.1:0 Http upstream= max_headers=100 tls=[a.pem+a.key sni=a.example, b.pem+b.key sni=b.example]",
            "listener l4 127.0.0.1:0 Tcp upstream=app max_headers=100 tls=[]",
            "route api listeners=web|secure upstream=app respond=: host= prefix=/api methods=GET|POST",
            "route hello listeners= upstream= respond=200:hello host=hello.example prefix= methods=",
            "upstream app Weighted [127.0.0.1:9001*1, 127.0.0.1:9002*2] health=/healthz@00:00:05 retry=1",
            "upstream spare RoundRobin [127.0.0.1:9003*1] health=@ retry=",
        ], Describe(Load(text)));
    }

    [Theory]
    [MemberData(nameof(Orders))]
    public void Every_legal_order_loads_the_same_model(string order, string[] blocks)
    {
        var (grouped, _) = Assemble(Grouped);
        var (text, _) = Assemble(blocks);

        Assert.Equal(Describe(Load(grouped)), Describe(Load(text)));
        Assert.NotEqual("", order);
    }

    [Theory]
    [MemberData(nameof(Orders))]
    public void Every_entry_keeps_its_own_position(string order, string[] blocks)
    {
        var (text, line) = Assemble(blocks);
        var config = Load(text);
        Assert.True(config.Listeners.Count == 3 && config.Listeners[1].Tls.Count == 2, $"{order}:\n{text}");

        SourceLocation At(string block) => new("proxy.toml", line[block], 1);
        Assert.Equal([At("Web"), At("Secure"), At("L4")], config.Listeners.Select(l => l.Location));
        Assert.Equal([At("TlsA"), At("TlsB")], config.Listeners[1].Tls.Select(t => t.Location));
        Assert.Equal([At("Api"), At("Hello")], config.Routes.Select(r => r.Location));
        // [upstreams.app] is where the upstream is defined, even when its [upstreams.app.health] comes first.
        Assert.Equal([At("App"), At("Spare")], config.Upstreams.Select(u => u.Location));
    }

    [Fact]
    public void Errors_in_entries_continued_after_other_tables_name_their_own_line_and_key()
    {
        var errors = ConfigText.Errors("""
            [[listeners]]
            name = "a"
            bind = "127.0.0.1:0"

            [[routes]]
            name = "r"
            respond = { status = 200 }

            [[listeners]]
            name = "b"
            bind = "127.0.0.1:99999"

            [upstreams.u]
            servers = [{ address = "127.0.0.1:9001" }]

            [routes.match]
            methods = "GET"

            [listeners.limits]
            max_headers = 0

            [upstreams.u.health]
            interval = "soon"
            """);

        Assert.Equal(
        [
            "proxy.toml:11:8: listeners[1].bind: invalid address \"127.0.0.1:99999\": the port must be a number from 0 to 65535",
            "proxy.toml:17:11: routes[0].match.methods: expected an array of strings (write [\"GET\"]), got a string",
            "proxy.toml:20:15: listeners[1].limits.max_headers: must be at least 1, got 0",
            "proxy.toml:23:12: upstreams.u.health.interval: invalid duration \"soon\": expected a whole number with a unit ms, s, m or h, e.g. \"250ms\", \"5s\", \"2m\", \"1h\", or combined as \"1m30s\"",
        ], errors);
    }

    [Fact]
    public void A_table_defined_twice_with_another_in_between_is_an_error_naming_both_lines()
    {
        var error = ConfigText.Error(ConfigText.Minimal + """


            [upstreams.a]
            servers = [{ address = "127.0.0.1:9001" }]

            [[routes]]
            upstream = "a"

            [upstreams.a]
            balance = "least_conn"
            """);

        Assert.Equal("proxy.toml:14:1: the key `upstreams.a` is already defined at line 8 and cannot be redefined", error);
    }

    [Fact]
    public void A_sub_table_of_one_element_defined_twice_is_an_error_naming_the_element()
    {
        var error = ConfigText.Error("""
            [[listeners]]
            name = "web"
            bind = "127.0.0.1:0"

            [[routes]]
            respond = { status = 200 }

            [routes.match]
            host = "a.example"

            [upstreams.u]
            servers = [{ address = "127.0.0.1:9001" }]

            [routes.match]
            path = "/"
            """);

        Assert.Equal("proxy.toml:14:1: the key `routes[0].match` is already defined at line 8 and cannot be redefined", error);
    }

    [Fact]
    public void The_same_sub_table_name_in_the_next_element_is_no_redefinition()
    {
        var config = ConfigText.Load("""
            [[listeners]]
            name = "a"
            bind = "127.0.0.1:0"
            [listeners.limits]
            max_headers = 50

            [[listeners]]
            name = "b"
            bind = "127.0.0.1:0"
            limits = { max_headers = 60 }

            [[routes]]
            respond = { status = 200 }
            """);

        Assert.Equal([("a", 50), ("b", 60)], config.Listeners.Select(l => (l.Name, l.Limits.MaxHeaders)));
    }

    [Theory]
    // A key of the element, then a table of the same name in it.
    [InlineData("[[listeners]]\nname = \"web\"\nbind = \"127.0.0.1:0\"\n[listeners.name]\nx = 1", "4:1", "listeners[0].name", 2)]
    // An inline table cannot be extended by a header.
    [InlineData("[[listeners]]\nname = \"web\"\nlimits = { max_headers = 5 }\n[[routes]]\nrespond = { status = 200 }\n[listeners.limits]\nmax_body = \"1MiB\"", "6:1", "listeners[0].limits", 3)]
    // An array of tables cannot become a table, nor a table an array of tables.
    [InlineData("[[listeners]]\nname = \"web\"\n[listeners]\nx = 1", "3:1", "listeners", 1)]
    [InlineData("[upstreams]\n[[upstreams]]\nx = 1", "2:1", "upstreams", 1)]
    // A static array cannot be appended to by [[...]].
    [InlineData("routes = [{ respond = { status = 200 } }]\n[[routes]]\nrespond = { status = 204 }", "2:1", "routes", 1)]
    // Dotted keys cannot add to a table a header defined.
    [InlineData("[upstreams.u.health]\npath = \"/\"\n[upstreams]\nu.health.interval = \"5s\"", "4:1", "upstreams.u", 1)]
    public void Redefinitions_are_errors_naming_both_lines(string text, string at, string key, int firstLine)
    {
        var errors = ConfigText.Errors(text);

        Assert.Equal([$"proxy.toml:{at}: the key `{key}` is already defined at line {firstLine} and cannot be redefined"], errors);
    }
}
