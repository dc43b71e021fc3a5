using System.Net.Sockets;

namespace FastProxy.Transport;

/// <summary>What a listener hands its accepted sockets to: the protocol that serves them.</summary>
internal interface IConnectionDispatcher
{
    /// <summary>Takes ownership of an accepted socket. Called on the accepting thread; must not block or throw.</summary>
    void Dispatch(Socket socket, Listener listener);

    /// <summary>The connection cap is reached: tell the client (if the protocol can) and close.</summary>
    void Refuse(Socket socket);
}
