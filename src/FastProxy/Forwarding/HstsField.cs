namespace FastProxy.Forwarding;

/// <summary>
/// Strict-Transport-Security (RFC 6797) on a listener with [listeners.hsts]: the line is built once per configuration
/// (<see cref="Hosting.ListenerRuntime.HstsLine"/>) and copied into every final response; an upstream's own field of
/// that name is dropped, so the client sees the listener's exactly once.
/// </summary>
internal static class HstsField
{
    public const string Name = "Strict-Transport-Security";

    /// <summary>"Strict-Transport-Security: " before the value in the line.</summary>
    private const int ValueStart = 27;

    /// <summary>The field is the one the listener writes itself (compared only on listeners with hsts).</summary>
    public static bool Is(ReadOnlySpan<byte> name)
        => name.Length == 25 && System.Text.Ascii.EqualsIgnoreCase(name, "strict-transport-security"u8);

    /// <summary>The value of a line built by the runtime, for an HTTP/2 field.</summary>
    public static ReadOnlySpan<byte> Value(byte[] line) => line.AsSpan(ValueStart, line.Length - ValueStart - 2);
}
