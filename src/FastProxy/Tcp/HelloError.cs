namespace FastProxy.Tcp;

/// <summary>Why a connection on an SNI-routed tcp listener was closed before it was routed.</summary>
internal enum HelloError : byte
{
    None = 0,

    // 1x: the TLS record layer (RFC 8446 §5.1).
    /// <summary>The first byte is not a handshake record: not TLS at all (or SSLv2), or something else first.</summary>
    NotHandshakeRecord = 10,
    /// <summary>legacy_record_version is not 3.x.</summary>
    BadRecordVersion = 11,
    /// <summary>A record of length 0 or over 2^14.</summary>
    BadRecordLength = 12,

    // 2x: the handshake message (RFC 8446 §4, §4.1.2; RFC 6066 §3).
    /// <summary>The first handshake message is not a ClientHello.</summary>
    NotClientHello = 20,
    /// <summary>The ClientHello is larger than <see cref="ClientHelloReader.MaxMessageLength"/>.</summary>
    TooLarge = 21,
    /// <summary>A length in the ClientHello or its extensions does not add up.</summary>
    Malformed = 22,
    /// <summary>The server_name extension is malformed or holds something that is not a host name.</summary>
    BadServerName = 23,

    // 3x: the connection.
    /// <summary>The client closed (or reset) before the ClientHello was complete.</summary>
    Closed = 30,
    /// <summary>The ClientHello was not complete within header_timeout.</summary>
    TimedOut = 31,
}
