using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Text;
using FastProxy.Http2.Frames;
using FastProxy.Http2.HPack;
using FastProxy.Http2.Streams;

namespace FastProxy.Tests.Http2;

/// <summary>
/// A test-only HTTP/2 server built from nothing but the FastProxy.Http2 library (frame reader and writer, HPACK,
/// stream states, flow-control windows), so that real clients (curl, nghttp) can check the library's bytes and the
/// library can read theirs. It is not the proxy: it answers every request itself with a text body listing the
/// request's decoded fields and body size (<c>?size=N</c> pads the body to N octets, to exercise flow control).
/// One event loop per connection: read frames, then send what the peer's windows allow; no reentrancy.
/// Anything the library refuses is recorded in <see cref="Errors"/>, which the tests require to be empty.
/// </summary>
internal sealed class WireH2Server : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;
    private readonly List<Task> _connections = [];

    public WireH2Server()
    {
        _listener.Start();
        _accepting = AcceptAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>What happened, for assertions: "SETTINGS", "SETTINGS-ACK", "PING", "PRIORITY", "HEADERS 1", "DATA 1 16384", ...</summary>
    public List<string> Events { get; } = [];
    public List<string> Errors { get; } = [];
    /// <summary>Each request's decoded field list, in arrival order.</summary>
    public List<List<string>> Requests { get; } = [];

    private void Record(string e)
    {
        lock (Events) Events.Add(e);
    }

    private void Fail(string e)
    {
        lock (Errors) Errors.Add(e);
    }

    private async Task AcceptAsync()
    {
        try
        {
            for (int i = 0; i < 64; i++)
            {
                var socket = await _listener.AcceptSocketAsync(_stop.Token);
                lock (_connections) _connections.Add(ServeAsync(socket));
            }
        }
        catch (Exception) when (_stop.IsCancellationRequested)
        {
        }
    }

    private sealed class Stream
    {
        public int Id;
        public Http2StreamStateMachine State;
        public Http2SendWindow SendWindow;
        public Http2ReceiveWindow ReceiveWindow;
        public readonly List<string> Fields = [];
        public long BodyBytes;
        public bool EndStreamSeen;
        public byte[]? Response;
        public int ResponseSent;
    }

    private struct FieldSink : IHPackHeaderHandler
    {
        public List<string> Fields;
        public void OnHeader(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value, bool neverIndexed) =>
            Fields.Add(Encoding.Latin1.GetString(name) + ": " + Encoding.Latin1.GetString(value));
    }

    private async Task ServeAsync(Socket socket)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        await using var network = new NetworkStream(socket, ownsSocket: true);
        var input = PipeReader.Create(network);
        var output = PipeWriter.Create(network);
        var frames = new Http2FrameReader();
        var decoder = new HPackDecoder(Http2Limits.DefaultHeaderTableSize, 64 * 1024);
        var encoder = new HPackEncoder();
        var streams = new Dictionary<int, Stream>();
        var connectionSend = new Http2SendWindow(Http2Limits.DefaultInitialWindowSize);
        var connectionReceive = new Http2ReceiveWindow(Http2Limits.DefaultInitialWindowSize);
        int peerInitialWindow = Http2Limits.DefaultInitialWindowSize;
        int peerMaxFrame = Http2Limits.DefaultMaxFrameSize;
        int lastStream = 0;
        bool prefaceDone = false, goAway = false;

        try
        {
            Http2FrameWriter.WriteSettings(output, [new(Http2SettingsParameter.MaxConcurrentStreams, 100), new(Http2SettingsParameter.EnablePush, 0)]);
            await output.FlushAsync(timeout.Token);

            while (true)
            {
                var result = await input.ReadAsync(timeout.Token);
                var buffer = result.Buffer;
                if (!prefaceDone)
                {
                    var match = Http2Preface.Match(buffer);
                    if (match is PrefaceMatch.Mismatch or PrefaceMatch.Invalid)
                    {
                        Fail("bad preface");
                        return;
                    }
                    if (match == PrefaceMatch.NeedMore)
                    {
                        if (result.IsCompleted) return;
                        input.AdvanceTo(buffer.Start, buffer.End);
                        continue;
                    }
                    buffer = buffer.Slice(Http2Preface.Length);
                    prefaceDone = true;
                }

                Http2ReadStatus status;
                while ((status = frames.TryRead(ref buffer, out Http2Frame frame, out Http2FrameError error)) != Http2ReadStatus.NeedMore)
                {
                    if (status == Http2ReadStatus.Error)
                    {
                        Fail($"frame error {error}");
                        Http2FrameWriter.WriteGoAway(output, lastStream, error.Code);
                        await output.FlushAsync(timeout.Token);
                        return;
                    }
                    Stream? s = null;
                    if (frame.StreamId != 0 && !streams.TryGetValue(frame.StreamId, out s))
                    {
                        s = new Stream { Id = frame.StreamId, SendWindow = new(peerInitialWindow), ReceiveWindow = new(Http2Limits.DefaultInitialWindowSize) };
                        streams[frame.StreamId] = s;
                    }
                    if (s is not null && frame.Type != Http2FrameType.Continuation && !frame.IsExtension)
                    {
                        var verdict = s.State.OnReceive(frame.Type, frame.EndStream);
                        if (verdict.Action is Http2StreamAction.StreamError or Http2StreamAction.ConnectionError)
                            Fail($"stream {s.Id}: {frame.Type} in the wrong state: {verdict}");
                    }

                    switch (frame.Type)
                    {
                        case Http2FrameType.Settings when frame.IsAck:
                            Record("SETTINGS-ACK");
                            break;
                        case Http2FrameType.Settings:
                            Record("SETTINGS");
                            foreach (var setting in new Http2SettingsEnumerator(frame.Payload))
                            {
                                if (setting.Parameter == Http2SettingsParameter.InitialWindowSize)
                                {
                                    foreach (var open in streams.Values)
                                    {
                                        if (!open.SendWindow.TryAdjust((long)setting.Value - peerInitialWindow)) Fail("initial window overflow");
                                    }
                                    peerInitialWindow = (int)setting.Value;
                                }
                                else if (setting.Parameter == Http2SettingsParameter.MaxFrameSize) peerMaxFrame = (int)setting.Value;
                                else if (setting.Parameter == Http2SettingsParameter.HeaderTableSize) encoder.SetPeerMaxTableSize(setting.Value);
                            }
                            Http2FrameWriter.WriteSettingsAck(output);
                            break;
                        case Http2FrameType.Ping:
                            Record(frame.IsAck ? "PING-ACK" : "PING");
                            if (!frame.IsAck) Http2FrameWriter.WritePing(output, frame.PingData, ack: true);
                            break;
                        case Http2FrameType.Priority:
                            Record("PRIORITY");
                            break;
                        case Http2FrameType.Headers:
                        case Http2FrameType.Continuation:
                        {
                            Record($"{frame.Type.ToString().ToUpperInvariant()} {frame.StreamId}");
                            lastStream = Math.Max(lastStream, frame.StreamId);
                            if (frame.Type == Http2FrameType.Headers) s!.EndStreamSeen |= frame.EndStream;
                            var sink = new FieldSink { Fields = s!.Fields };
                            var hpack = decoder.Decode(frame.Payload, frame.EndHeaders, ref sink);
                            if (hpack != HPackError.None) Fail($"hpack {hpack}");
                            if (frame.EndHeaders && s.EndStreamSeen) Respond(s);
                            break;
                        }
                        case Http2FrameType.Data:
                        {
                            Record($"DATA {frame.StreamId} {frame.Length}");
                            if (!connectionReceive.TryReceive(frame.Length) || !s!.ReceiveWindow.TryReceive(frame.Length))
                            {
                                Fail("peer overran a window");
                                break;
                            }
                            s.BodyBytes += frame.Payload.Length;
                            // The body is consumed at once: credit goes back as the windows decide.
                            int connectionCredit = connectionReceive.Release(frame.Length);
                            if (connectionCredit > 0) Http2FrameWriter.WriteWindowUpdate(output, 0, connectionCredit);
                            if (frame.EndStream)
                            {
                                s.EndStreamSeen = true;
                                Respond(s);
                            }
                            else
                            {
                                int streamCredit = s.ReceiveWindow.Release(frame.Length);
                                if (streamCredit > 0) Http2FrameWriter.WriteWindowUpdate(output, s.Id, streamCredit);
                            }
                            break;
                        }
                        case Http2FrameType.WindowUpdate:
                            Record($"WINDOW_UPDATE {frame.StreamId}");
                            if (!(frame.StreamId == 0 ? connectionSend.TryIncrease(frame.WindowIncrement) : s!.SendWindow.TryIncrease(frame.WindowIncrement)))
                                Fail("window overflow");
                            break;
                        case Http2FrameType.RstStream:
                            Record($"RST_STREAM {frame.StreamId} {frame.ErrorCode}");
                            s!.Response = null;
                            break;
                        case Http2FrameType.GoAway:
                            Record($"GOAWAY {frame.ErrorCode}");
                            goAway = true;
                            break;
                    }
                }
                input.AdvanceTo(buffer.Start, buffer.End);

                // Send what the windows allow: headers at once, DATA frames up to both windows and the frame size.
                foreach (var s in streams.Values)
                {
                    if (s.Response is null) continue;
                    while (s.ResponseSent < s.Response.Length)
                    {
                        int want = Math.Min(Math.Min(s.Response.Length - s.ResponseSent, peerMaxFrame), (int)Math.Max(0, connectionSend.Available));
                        int granted = s.SendWindow.Take(want);
                        if (granted == 0) break;
                        connectionSend.Take(granted);
                        bool last = s.ResponseSent + granted == s.Response.Length;
                        Http2FrameWriter.WriteData(output, s.Id, s.Response.AsSpan(s.ResponseSent, granted), endStream: last);
                        if (!s.State.OnSend(Http2FrameType.Data, last)) Fail($"stream {s.Id}: DATA not allowed in {s.State.State}");
                        s.ResponseSent += granted;
                        Record($"SENT DATA {s.Id} {granted}");
                    }
                    if (s.ResponseSent == s.Response.Length) s.Response = null;
                }
                await output.FlushAsync(timeout.Token);
                if (result.IsCompleted || goAway && streams.Values.All(x => x.Response is null)) break;
            }
        }
        catch (OperationCanceledException)
        {
            Fail("connection did not finish in time");
        }
        catch (IOException)
        {
            // The client closed first; what it saw is what the test checks.
        }
        finally
        {
            await input.CompleteAsync();
            await output.CompleteAsync();
        }

        void Respond(Stream s)
        {
            lock (Requests) Requests.Add(s.Fields);
            var text = new StringBuilder();
            foreach (var field in s.Fields) text.Append(field).Append('\n');
            text.Append("body-bytes: ").Append(s.BodyBytes).Append('\n');
            string path = s.Fields.FirstOrDefault(f => f.StartsWith(":path: ", StringComparison.Ordinal)) ?? "";
            int sizeAt = path.IndexOf("size=", StringComparison.Ordinal);
            if (sizeAt >= 0 && int.TryParse(path[(sizeAt + 5)..], out int size) && size > text.Length) text.Append('x', size - text.Length);
            byte[] body = Encoding.ASCII.GetBytes(text.ToString());

            var block = new byte[1024];
            int written = 0;
            encoder.BeginBlock(block, ref written);
            Encode(":status", "200", HPackIndexing.Incremental);
            Encode("content-type", "text/plain", HPackIndexing.Incremental);
            Encode("content-length", body.Length.ToString(), HPackIndexing.Without);
            Encode("x-served-by", "fastproxy-http2-library", HPackIndexing.Incremental);
            Http2FrameWriter.WriteFieldBlock(output, s.Id, block.AsSpan(0, written), endStream: false, peerMaxFrame);
            if (!s.State.OnSend(Http2FrameType.Headers, endStream: false)) Fail($"stream {s.Id}: HEADERS not allowed");
            Record($"SENT HEADERS {s.Id}");
            s.Response = body;

            void Encode(string name, string value, HPackIndexing indexing)
            {
                if (!encoder.TryEncode(Encoding.ASCII.GetBytes(name), Encoding.ASCII.GetBytes(value), indexing, block, ref written)) Fail("response head too big");
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        try { await _accepting; } catch { /* stopped */ }
        Task[] all;
        lock (_connections) all = [.. _connections];
        await Task.WhenAll(all).WaitAsync(TimeSpan.FromSeconds(10)).ContinueWith(_ => { });
    }
}
