namespace FastProxy.ProxyProtocol;

/// <summary>What the bytes read so far say (<see cref="ProxyHeaderParser.TryParse"/>).</summary>
public enum ProxyParseStatus : byte
{
    /// <summary>Every byte so far can start a valid header, which is not complete yet: read more and call again with all of them.</summary>
    NeedMore,
    /// <summary>A whole, valid header: its length is given, and what follows it is the connection's own data.</summary>
    Complete,
    /// <summary>Not a valid header (<see cref="ProxyHeaderError"/> says why): the spec asks for the connection to be aborted.</summary>
    Invalid,
}

/// <summary>Why a header was refused. Names read as the log's reason.</summary>
public enum ProxyHeaderError : byte
{
    None = 0,

    /// <summary>Neither "PROXY " (version 1) nor the 12-byte signature (version 2): the peer does not speak the protocol.</summary>
    NotProxyProtocol,

    // Version 1 (§2.1).
    /// <summary>No CRLF within the first 107 bytes.</summary>
    V1LineTooLong,
    /// <summary>A CR not followed by LF, or a LF without its CR.</summary>
    V1BareCrOrLf,
    /// <summary>A byte that is not printable US-ASCII.</summary>
    V1InvalidCharacter,
    /// <summary>Not TCP4, TCP6 or UNKNOWN.</summary>
    V1UnknownProtocol,
    /// <summary>Not exactly four fields separated by single spaces after TCP4/TCP6.</summary>
    V1InvalidFields,
    /// <summary>An address that is not canonical for the family (leading zeros, out of range, wrong family).</summary>
    V1InvalidAddress,
    /// <summary>A port that is not a decimal in 0-65535 without leading zeros.</summary>
    V1InvalidPort,

    // Version 2 (§2.2).
    /// <summary>The 13th byte's version is not 2.</summary>
    V2InvalidVersion,
    /// <summary>The command is neither LOCAL nor PROXY.</summary>
    V2InvalidCommand,
    /// <summary>An unassigned address family or transport protocol.</summary>
    V2InvalidFamily,
    /// <summary>The header is longer than <see cref="ProxyHeaderParser.MaxV2PayloadLength"/> allows.</summary>
    V2TooLong,
    /// <summary>The length is too short for the family's address block.</summary>
    V2AddressBlockTooShort,
    /// <summary>A TLV overruns the header.</summary>
    V2InvalidTlv,
    /// <summary>A PP2_TYPE_CRC32C TLV whose checksum does not match the header (§2.2.3: the connection is invalid).</summary>
    V2ChecksumMismatch,
}
