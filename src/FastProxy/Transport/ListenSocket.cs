using System.Net;
using System.Net.Sockets;

namespace FastProxy.Transport;

/// <summary>
/// Opens the listening sockets (traffic listeners and the admin listener) with the address-reuse options a proxy
/// wants, and turns a bind failure into one line naming the listener, the address and why.
/// <list type="bullet">
/// <item>SO_REUSEADDR, always: a restarted proxy binds at once while its old connections sit in TIME_WAIT. On Linux and
/// macOS it does not let a second socket listen on a port that is already listened on.</item>
/// <item>SO_REUSEPORT, only when a listener asks for it (<c>reuse_port = true</c>): processes that all set it (as the same
/// user) share the port, and the kernel spreads new connections across them.</item>
/// </list>
/// .NET's <see cref="SocketOptionName.ReuseAddress"/> sets both on Unix, which let a second proxy started on the same
/// config bind the same ports without an error and take part of the traffic; so the options are set raw here.
/// </summary>
internal static class ListenSocket
{
    /// <summary>Binds and listens; any failure closes the socket and throws a <see cref="ListenerBindException"/>.</summary>
    /// <param name="owner">Names the socket in the error: <c>listener "web"</c> or <c>admin</c>.</param>
    public static Socket Open(string owner, IPEndPoint endPoint, bool reusePort, int backlog)
    {
        var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (endPoint.AddressFamily == AddressFamily.InterNetworkV6 && endPoint.Address.Equals(IPAddress.IPv6Any))
            {
                socket.DualMode = true;
            }
            SetReuseOptions(socket, reusePort);
            socket.Bind(endPoint);
            socket.Listen(backlog);
            return socket;
        }
        catch (SocketException ex)
        {
            socket.Dispose();
            string why = ex.SocketErrorCode switch
            {
                SocketError.AddressAlreadyInUse => "address already in use",
                SocketError.AddressNotAvailable => "address not available on this machine",
                SocketError.AccessDenied => "permission denied",
                _ => ex.Message,
            };
            throw new ListenerBindException($"{owner}: cannot bind {endPoint}: {why}", ex);
        }
        catch (PlatformNotSupportedException ex)
        {
            socket.Dispose();
            throw new ListenerBindException($"{owner}: cannot bind {endPoint}: {ex.Message}", ex);
        }
    }

    private static void SetReuseOptions(Socket socket, bool reusePort)
    {
        // Option numbers from <sys/socket.h>: Linux <asm-generic/socket.h>; macOS and the BSDs share theirs.
        int level, reuseAddress, reusePortOption;
        if (OperatingSystem.IsLinux())
        {
            (level, reuseAddress, reusePortOption) = (1, 2, 15);
        }
        else if (OperatingSystem.IsMacOS() || OperatingSystem.IsFreeBSD())
        {
            (level, reuseAddress, reusePortOption) = (0xffff, 0x4, 0x200);
        }
        else
        {
            // Windows: its SO_REUSEADDR would let anyone take the port over, and a listening socket needs nothing to
            // bind over TIME_WAIT there. Sharing a port between processes is not offered.
            if (reusePort) throw new PlatformNotSupportedException("reuse_port = true is supported on Linux, macOS and FreeBSD only");
            return;
        }
        socket.SetRawSocketOption(level, reuseAddress, BitConverter.GetBytes(1));
        if (reusePort) socket.SetRawSocketOption(level, reusePortOption, BitConverter.GetBytes(1));
    }
}

internal sealed class ListenerBindException(string message, Exception inner) : Exception(message, inner);
