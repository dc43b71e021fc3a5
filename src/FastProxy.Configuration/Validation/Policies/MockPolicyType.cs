using System.Text;
using System.Text.Json;
using FastProxy.Configuration.Reading;
using FastProxy.Configuration.Values;

namespace FastProxy.Configuration.Validation.Policies;

/// <summary>
/// type = "mock": a fixed answer, with its body given inline or read from body_file at load, after an optional delay.
/// It always answers, so a route that has it needs neither upstream nor respond.
/// </summary>
internal sealed class MockPolicyType : IPolicyType
{
    public string Name => "mock";

    public IReadOnlyList<string> Keys { get; } = ["status", "headers", "body", "body_file", "content_type", "delay"];

    public bool AlwaysAnswers => true;

    /// <summary>A mock body is written in one piece per answer: kept to a size a test fixture or an example needs.</summary>
    public const int MaxBody = 1 << 20;

    /// <summary>A delay simulates a slow service; longer than this is a mistake (a stuck client, a held connection).</summary>
    public static readonly TimeSpan MaxDelay = TimeSpan.FromMinutes(1);

    // The proxy frames the answer and handles the connection itself.
    private static readonly string[] Reserved = ["content-length", "transfer-encoding", "connection", "keep-alive", "upgrade", "te", "trailer", "proxy-connection", "date"];

    public PolicyOptions? Read(TableReader policy)
    {
        // 1xx are interim responses, not something to end a request with.
        var status = policy.Int("status", 200, 599) ?? 200;
        var headers = HeaderTableValidator.Read(policy.Table("headers", keys: null), lowerCaseNames: false, Reserved);

        byte[] body = [];
        if (policy.Has("body") && policy.Has("body_file"))
        {
            policy.Context.ErrorAtKey(policy.PathOf("body_file"), "give either body or body_file, not both");
        }
        else if (policy.String("body") is { } text)
        {
            body = Encoding.UTF8.GetBytes(text);
            if (body.Length > MaxBody) policy.Error("body", $"must be at most {Sizes.Format(MaxBody)}");
        }
        else if (policy.String("body_file") is { } file)
        {
            body = ReadFile(policy, file) ?? [];
        }
        if (body.Length > 0 && status is 204 or 304)
        {
            // RFC 9110 15.3.5 and 15.4.5: 204 and 304 never carry content.
            policy.Error(policy.Has("body") ? "body" : "body_file", $"a {status} response has no body");
        }

        var contentType = policy.String("content_type");
        bool typeInHeaders = headers.Exists(h => string.Equals(h.Key, "content-type", StringComparison.OrdinalIgnoreCase));
        if (contentType is not null)
        {
            if (typeInHeaders) policy.Error("content_type", "Content-Type is also in headers: give it once");
            else if (contentType.Length == 0 || HttpSyntax.FieldValueProblem(contentType) is not null || !contentType.Contains('/'))
            {
                policy.Error("content_type", $"\"{contentType}\" is not a media type (e.g. \"application/json\", \"text/html; charset=utf-8\")");
            }
        }
        else if (!typeInHeaders && body.Length > 0)
        {
            contentType = LooksLikeJson(body) ? "application/json" : "text/plain; charset=utf-8";
        }
        if (typeInHeaders) contentType = null;

        var delay = policy.Duration("delay", allowZero: true) ?? TimeSpan.Zero;
        if (delay > MaxDelay) policy.Error("delay", $"must be at most {MaxDelay.TotalSeconds:0}s (a mock stands in for a slow service, not a stuck one)");

        return new MockOptions { Status = status, Headers = headers, Body = body, ContentType = contentType, Delay = delay };
    }

    private static byte[]? ReadFile(TableReader policy, string file)
    {
        if (file.Length == 0)
        {
            policy.Error("body_file", "must not be empty");
            return null;
        }
        var full = policy.Context.FullPath(file);
        try
        {
            var info = new FileInfo(full);
            if (!info.Exists)
            {
                policy.Error("body_file", $"file not found: {full}");
                return null;
            }
            if (info.Length > MaxBody)
            {
                policy.Error("body_file", $"{full} is {Sizes.Format(info.Length)}; a mock body must be at most {Sizes.Format(MaxBody)}");
                return null;
            }
            return File.ReadAllBytes(full);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            policy.Error("body_file", $"cannot read {full}: {e.Message}");
            return null;
        }
    }

    private static bool LooksLikeJson(byte[] body)
    {
        try
        {
            using var _ = JsonDocument.Parse(body);
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
