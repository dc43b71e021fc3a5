using System.Buffers;
using System.Buffers.Binary;

namespace FastProxy.Tcp;

internal enum HelloStatus : byte
{
    /// <summary>The ClientHello is not complete yet: call again with the same stream once more has arrived.</summary>
    NeedMore,
    /// <summary>The ClientHello is complete and well formed: <see cref="ClientHelloReader.ServerName"/> is its name (maybe empty).</summary>
    Complete,
    /// <summary>Not a well-formed ClientHello: <see cref="ClientHelloReader.Error"/> says why.</summary>
    Invalid,
}

/// <summary>
/// Reassembles the first TLS handshake message from the records it arrives in, without consuming anything: the
/// caller keeps every byte in its pipe and forwards the stream untouched once it is routed.
/// </summary>
/// <remarks>
/// A resumable state machine over the client's byte stream (RFC 8446 §5.1 records, §4 handshake header):
/// <c>HandshakeHeader → Body → Done</c>, with a record header read whenever the current record's payload is used
/// up (<see cref="_recordLeft"/> 0). Each call is given the whole stream from its first
/// byte and picks up where the previous call stopped (<see cref="_consumed"/>), so a ClientHello that arrives one
/// byte per segment costs no more than one that arrives whole. Handshake bytes are copied out of the records into
/// one buffer (rented when the message length is known, bounded by <see cref="MaxMessageLength"/>), because a
/// message may span records and records may span segments. Not TLS is detected at the first byte.
/// One instance per pooled connection; <see cref="Reset"/> between connections.
/// </remarks>
internal sealed class ClientHelloReader
{
    /// <summary>
    /// The largest ClientHello accepted. Real ones are 0.2-2 KB (a post-quantum key share adds ~1.2 KB); 16 KiB is
    /// what nginx's ssl_preread reads by default (preread_buffer_size), and with the record headers it stays below
    /// the pipe's pause threshold, so waiting for the rest never stalls on back-pressure.
    /// </summary>
    public const int MaxMessageLength = 16 * 1024;

    /// <summary>RFC 8446 §5.1: ContentType handshake(22).</summary>
    private const byte HandshakeRecord = 22;
    /// <summary>RFC 8446 §5.1: legacy_record_version is 0x0301 or 0x0303 for a ClientHello; SSL 3.0 to TLS 1.2 all say 3.x.</summary>
    private const byte RecordVersionMajor = 3;
    /// <summary>ContentType (1), legacy_record_version (2), length (2).</summary>
    private const int RecordHeaderLength = 5;
    /// <summary>RFC 8446 §5.1: "The length MUST NOT exceed 2^14 bytes"; and zero-length handshake fragments MUST NOT be sent.</summary>
    private const int MaxFragmentLength = 1 << 14;

    /// <summary>RFC 8446 §4: HandshakeType client_hello(1).</summary>
    private const byte ClientHelloType = 1;
    /// <summary>msg_type (1), length (3).</summary>
    private const int HandshakeHeaderLength = 4;
    /// <summary>legacy_version (2), random (32), empty session id (1), one cipher suite (2 + 2), one compression method (1 + 1).</summary>
    private const int MinBodyLength = 2 + 32 + 1 + 4 + 2;

    private enum State : byte
    {
        HandshakeHeader,
        Body,
        Done,
    }

    private State _state;
    /// <summary>Bytes of the stream taken apart so far (record headers and the payload copied out of them).</summary>
    private long _consumed;
    /// <summary>Payload bytes of the current record not taken yet.</summary>
    private int _recordLeft;
    private uint _handshakeHeader;
    private int _handshakeHeaderFilled;
    private byte[]? _body;
    private int _bodyLength;
    private int _bodyFilled;
    private int _nameOffset;
    private int _nameLength;

    public HelloError Error { get; private set; }

    /// <summary>The host_name of a complete ClientHello, without a trailing dot; empty when the client sent none.</summary>
    public ReadOnlySpan<byte> ServerName => _body is null ? default : _body.AsSpan(_nameOffset, _nameLength);

    /// <summary>Takes apart what is new in <paramref name="stream"/> (every byte the client sent, from the first).</summary>
    public HelloStatus Advance(in ReadOnlySequence<byte> stream)
    {
        if (_state == State.Done) return Error == HelloError.None ? HelloStatus.Complete : HelloStatus.Invalid;
        var reader = new SequenceReader<byte>(stream.Slice(_consumed));
        while (true)
        {
            if (_recordLeft == 0)
            {
                var header = ReadRecordHeader(ref reader);
                if (header != HelloStatus.Complete) return header;
                continue;
            }

            int available = (int)Math.Min(_recordLeft, reader.Remaining);
            if (available == 0) return HelloStatus.NeedMore;

            int taken;
            if (_state == State.HandshakeHeader)
            {
                taken = Math.Min(available, HandshakeHeaderLength - _handshakeHeaderFilled);
                for (int i = 0; i < taken; i++)
                {
                    reader.TryRead(out byte b);
                    _handshakeHeader = (_handshakeHeader << 8) | b;
                }
                _handshakeHeaderFilled += taken;
                Take(taken);
                if (_handshakeHeaderFilled == HandshakeHeaderLength)
                {
                    var error = StartBody();
                    if (error != HelloError.None) return Fail(error);
                }
            }
            else
            {
                taken = Math.Min(available, _bodyLength - _bodyFilled);
                reader.TryCopyTo(_body.AsSpan(_bodyFilled, taken));
                reader.Advance(taken);
                _bodyFilled += taken;
                Take(taken);
                if (_bodyFilled == _bodyLength)
                {
                    var error = ClientHello.TryGetServerName(_body.AsSpan(0, _bodyLength), out _nameOffset, out _nameLength);
                    if (error != HelloError.None) return Fail(error);
                    _state = State.Done;
                    return HelloStatus.Complete;
                }
            }
        }
    }

    /// <summary>Returns the message buffer and forgets this connection's hello.</summary>
    public void Reset()
    {
        if (_body is not null) ArrayPool<byte>.Shared.Return(_body);
        _body = null;
        _state = State.HandshakeHeader;
        _consumed = 0;
        _recordLeft = 0;
        _handshakeHeader = 0;
        _handshakeHeaderFilled = 0;
        _bodyLength = 0;
        _bodyFilled = 0;
        _nameOffset = 0;
        _nameLength = 0;
        Error = HelloError.None;
    }

    /// <summary>
    /// RFC 8446 §5.1 TLSPlaintext header. Checked byte by byte as it arrives, so that a client speaking anything
    /// but TLS is turned away at its first byte. Complete: the header was taken and the record's payload follows.
    /// </summary>
    private HelloStatus ReadRecordHeader(ref SequenceReader<byte> reader)
    {
        Span<byte> header = stackalloc byte[RecordHeaderLength];
        int available = (int)Math.Min(reader.Remaining, RecordHeaderLength);
        if (available == 0) return HelloStatus.NeedMore;
        reader.TryCopyTo(header[..available]);
        // Handshake messages MUST NOT be interleaved with other record types: every record until the end of the
        // ClientHello is a handshake record.
        if (header[0] != HandshakeRecord) return Fail(HelloError.NotHandshakeRecord);
        if (available >= 2 && header[1] != RecordVersionMajor) return Fail(HelloError.BadRecordVersion);
        if (available < RecordHeaderLength) return HelloStatus.NeedMore;

        int length = BinaryPrimitives.ReadUInt16BigEndian(header[3..]);
        if (length is 0 or > MaxFragmentLength) return Fail(HelloError.BadRecordLength);
        reader.Advance(RecordHeaderLength);
        _consumed += RecordHeaderLength;
        _recordLeft = length;
        return HelloStatus.Complete;
    }

    /// <summary>RFC 8446 §4: the handshake header is known; the body is the rest of a ClientHello.</summary>
    private HelloError StartBody()
    {
        if (_handshakeHeader >> 24 != ClientHelloType) return HelloError.NotClientHello;
        int length = (int)(_handshakeHeader & 0xFF_FFFF);
        if (length > MaxMessageLength) return HelloError.TooLarge;
        if (length < MinBodyLength) return HelloError.Malformed;
        _bodyLength = length;
        _body = ArrayPool<byte>.Shared.Rent(length);
        _state = State.Body;
        return HelloError.None;
    }

    /// <summary>Payload bytes of the current record were used.</summary>
    private void Take(int bytes)
    {
        _consumed += bytes;
        _recordLeft -= bytes;
    }

    private HelloStatus Fail(HelloError error)
    {
        Error = error;
        _state = State.Done;
        return HelloStatus.Invalid;
    }
}
