using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace FastProxy.Tests.Infrastructure;

/// <summary>
/// Debian's chromium (installed by scripts/deps.sh), headless, driven over the Chrome DevTools Protocol on a
/// WebSocket: one page target, attached with a flat session. It records every console error, uncaught exception and
/// browser log entry at level error (network failures, Content-Security-Policy violations) so a test can assert a
/// page ran clean. Every wait is bounded; disposing kills the browser and all its processes and removes its profile.
/// </summary>
public sealed class HeadlessChromium : IAsyncDisposable
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(20);

    private readonly Process _process;
    private readonly string _profile;
    private readonly ClientWebSocket _socket = new();
    private readonly ConcurrentDictionary<int, TaskCompletionSource<JsonNode>> _pending = new();
    private readonly ConcurrentQueue<string> _errors = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private Task? _receiveLoop;
    private string? _session;
    private int _nextId;

    private HeadlessChromium(Process process, string profile)
    {
        _process = process;
        _profile = profile;
    }

    /// <summary>Console errors, exceptions and error log entries seen so far, one line each.</summary>
    public IReadOnlyCollection<string> Errors => _errors.ToArray();

    /// <summary>Starts chromium with a throw-away profile and opens one blank page with Runtime, Log and Page enabled.</summary>
    public static async Task<HeadlessChromium> StartAsync(int width = 1280, int height = 1000)
    {
        string profile = Path.Combine(Path.GetTempPath(), $"fastproxy-chromium-{Guid.NewGuid():N}");
        Directory.CreateDirectory(profile);
        var psi = new ProcessStartInfo("chromium")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var arg in new[]
        {
            "--headless=new", "--no-sandbox", "--remote-debugging-port=0", $"--user-data-dir={profile}",
            "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--no-default-browser-check",
            "--disable-extensions", "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--hide-scrollbars", $"--window-size={width},{height}", "about:blank",
        })
        {
            psi.ArgumentList.Add(arg);
        }
        var process = Process.Start(psi) ?? throw new InvalidOperationException("chromium did not start");
        // Its stderr is chatty (no D-Bus in a container): drain both pipes so it never blocks on a full one.
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var browser = new HeadlessChromium(process, profile);
        try
        {
            await browser.ConnectAsync();
            return browser;
        }
        catch
        {
            await browser.DisposeAsync();
            throw;
        }
    }

    private async Task ConnectAsync()
    {
        // chromium writes the port it picked and the browser target's path to DevToolsActivePort in the profile.
        string portFile = Path.Combine(_profile, "DevToolsActivePort");
        string[]? lines = null;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited) throw new InvalidOperationException($"chromium exited with {_process.ExitCode} before listening");
            if (File.Exists(portFile))
            {
                try { lines = File.ReadAllLines(portFile); } catch (IOException) { }
                if (lines is { Length: >= 2 }) break;
            }
            await Task.Delay(50);
        }
        if (lines is not { Length: >= 2 }) throw new TimeoutException("chromium wrote no DevToolsActivePort within 30 s");

        using (var connect = new CancellationTokenSource(CommandTimeout))
        {
            await _socket.ConnectAsync(new Uri($"ws://127.0.0.1:{lines[0].Trim()}{lines[1].Trim()}"), connect.Token);
        }
        _receiveLoop = Task.Run(ReceiveLoopAsync);

        var target = await SendAsync("Target.createTarget", new JsonObject { ["url"] = "about:blank" });
        var attached = await SendAsync("Target.attachToTarget", new JsonObject { ["targetId"] = target["targetId"]!.GetValue<string>(), ["flatten"] = true });
        _session = attached["sessionId"]!.GetValue<string>();
        await SendAsync("Runtime.enable");
        await SendAsync("Log.enable");
        await SendAsync("Page.enable");
    }

    /// <summary>Sends one command (to the page once attached) and waits for its result; a protocol error throws.</summary>
    public async Task<JsonNode> SendAsync(string method, JsonObject? parameters = null)
    {
        int id = Interlocked.Increment(ref _nextId);
        var message = new JsonObject { ["id"] = id, ["method"] = method, ["params"] = parameters ?? new JsonObject() };
        if (_session is not null) message["sessionId"] = _session;
        var answer = new TaskCompletionSource<JsonNode>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = answer;
        byte[] bytes = Encoding.UTF8.GetBytes(message.ToJsonString());
        await _sendLock.WaitAsync(CommandTimeout);
        try
        {
            using var send = new CancellationTokenSource(CommandTimeout);
            await _socket.SendAsync(bytes, WebSocketMessageType.Text, endOfMessage: true, send.Token);
        }
        finally
        {
            _sendLock.Release();
        }
        try
        {
            return await answer.Task.WaitAsync(CommandTimeout);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"chromium did not answer {method} within {CommandTimeout.TotalSeconds} s");
        }
        finally
        {
            _pending.TryRemove(id, out _);
        }
    }

    /// <summary>Navigates and waits for the load event.</summary>
    public async Task NavigateAsync(string url)
    {
        var result = await SendAsync("Page.navigate", new JsonObject { ["url"] = url });
        if (result["errorText"] is JsonNode error) throw new InvalidOperationException($"navigating to {url}: {error}");
        // The document is small and local: a bounded poll of readyState is enough.
        await UntilAsync("document.readyState === 'complete'", "page load", TimeSpan.FromSeconds(20));
    }

    /// <summary>Evaluates <paramref name="condition"/> every 100 ms until it is true; throws after <paramref name="timeout"/>.</summary>
    public async Task UntilAsync(string condition, string what, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while ((await EvaluateAsync($"Boolean({condition})"))?.GetValue<bool>() != true)
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"timed out after {timeout.TotalSeconds} s waiting for: {what} ({condition}); page errors: {string.Join(" | ", Errors)}");
            await Task.Delay(100);
        }
    }

    /// <summary>Evaluates a JavaScript expression in the page and returns its value (by value, as JSON; null for undefined).</summary>
    public async Task<JsonNode?> EvaluateAsync(string expression)
    {
        var result = await SendAsync("Runtime.evaluate", new JsonObject { ["expression"] = expression, ["returnByValue"] = true, ["awaitPromise"] = true });
        if (result["exceptionDetails"] is JsonNode exception) throw new InvalidOperationException($"{expression} threw: {exception.ToJsonString()}");
        return result["result"]?["value"]?.DeepClone();
    }

    /// <summary>The expression's value as a string (String(value) in the page); null for null or undefined.</summary>
    public async Task<string?> TextAsync(string expression)
        => (await EvaluateAsync($"(v => v == null ? null : String(v))({expression})"))?.GetValue<string>();

    /// <summary>A PNG of the page as shown.</summary>
    public async Task<byte[]> ScreenshotAsync()
    {
        var result = await SendAsync("Page.captureScreenshot", new JsonObject { ["format"] = "png" });
        return Convert.FromBase64String(result["data"]!.GetValue<string>());
    }

    private async Task ReceiveLoopAsync()
    {
        var buffer = new byte[64 * 1024];
        var message = new MemoryStream();
        try
        {
            while (!_stop.IsCancellationRequested && _socket.State == WebSocketState.Open)
            {
                var part = await _socket.ReceiveAsync(buffer, _stop.Token);
                if (part.MessageType == WebSocketMessageType.Close) break;
                message.Write(buffer, 0, part.Count);
                if (!part.EndOfMessage) continue;
                var node = JsonNode.Parse(message.GetBuffer().AsSpan(0, (int)message.Length));
                message.SetLength(0);
                if (node is not null) Dispatch(node);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or WebSocketException or ObjectDisposedException)
        {
            // Closing.
        }
        foreach (var pending in _pending.Values) pending.TrySetException(new InvalidOperationException("chromium closed the DevTools connection"));
    }

    private void Dispatch(JsonNode node)
    {
        if (node["id"] is JsonNode idNode)
        {
            if (!_pending.TryGetValue(idNode.GetValue<int>(), out var answer)) return;
            if (node["error"] is JsonNode error) answer.TrySetException(new InvalidOperationException($"DevTools error: {error.ToJsonString()}"));
            else answer.TrySetResult(node["result"] ?? new JsonObject());
            return;
        }
        JsonNode? p = node["params"];
        string? method = node["method"]?.GetValue<string>();
        if (p is null) return;
        if (method == "Runtime.consoleAPICalled")
        {
            string? type = p["type"]?.GetValue<string>();
            if (type is "error" or "assert") _errors.Enqueue($"console.{type}: {p["args"]?.ToJsonString()}");
        }
        else if (method == "Runtime.exceptionThrown")
        {
            _errors.Enqueue($"exception: {p["exceptionDetails"]?.ToJsonString()}");
        }
        else if (method == "Log.entryAdded")
        {
            JsonNode? entry = p["entry"];
            if (entry?["level"]?.GetValue<string>() == "error")
                _errors.Enqueue($"log ({entry["source"]}): {entry["text"]} {entry["url"]}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        try
        {
            if (_socket.State == WebSocketState.Open)
            {
                using var close = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await _socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, null, close.Token);
            }
        }
        catch (Exception ex) when (ex is WebSocketException or OperationCanceledException or ObjectDisposedException)
        {
        }
        _socket.Dispose();
        try
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
            using var exit = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await _process.WaitForExitAsync(exit.Token);
        }
        catch (Exception ex) when (ex is InvalidOperationException or OperationCanceledException or System.ComponentModel.Win32Exception)
        {
        }
        _process.Dispose();
        if (_receiveLoop is not null)
        {
            try { await _receiveLoop.WaitAsync(TimeSpan.FromSeconds(2)); } catch (Exception) { }
        }
        // The profile holds sockets and lock files for a moment after the processes died.
        for (int attempt = 0; attempt < 5 && Directory.Exists(_profile); attempt++)
        {
            try { Directory.Delete(_profile, recursive: true); }
            catch (IOException) { await Task.Delay(200); }
            catch (UnauthorizedAccessException) { await Task.Delay(200); }
        }
    }
}
