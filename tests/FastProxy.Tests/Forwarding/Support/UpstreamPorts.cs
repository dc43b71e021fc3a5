using System.Net;
using System.Net.Sockets;

namespace FastProxy.Tests.Forwarding.Support;

public static class UpstreamPorts
{
    /// <summary>
    /// A loopback port with nothing listening: bound, then released. Connecting to it is refused at once. The OS
    /// could hand it out again, but ephemeral ports cycle through a wide range, so not within a test.
    /// </summary>
    public static int Closed()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }
}
