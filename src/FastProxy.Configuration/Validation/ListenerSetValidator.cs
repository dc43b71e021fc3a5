using System.Net;
using System.Net.Sockets;
using FastProxy.Configuration.Reading;

namespace FastProxy.Configuration.Validation;

/// <summary>All [[listeners]] together: names are unique and no two sockets claim the same address and port.</summary>
internal static class ListenerSetValidator
{
    public static List<Located<ListenerConfig>> Read(TableReader root, LimitsConfig limits, AdminConfig? admin)
    {
        var listeners = new List<Located<ListenerConfig>>();
        foreach (var table in root.Tables("listeners", ListenerValidator.Keys, ListenerValidator.Misplaced) ?? [])
        {
            listeners.Add(new(ListenerValidator.Read(table, limits), table.Path));
        }
        if (!root.Has("listeners"))
        {
            root.Context.FileError("no [[listeners]]: the proxy would accept no connections");
        }
        CheckNames(root.Context, listeners);
        CheckBinds(root.Context, listeners, admin);
        return listeners;
    }

    private static void CheckNames(LoadContext context, List<Located<ListenerConfig>> listeners)
    {
        var seen = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (listener, path) in listeners)
        {
            if (listener.Name.Length == 0) continue;
            if (!seen.TryAdd(listener.Name, path))
            {
                context.Error(KeyPath.Child(path, "name"), $"duplicate listener name \"{listener.Name}\" (also {seen[listener.Name]})");
            }
        }
    }

    private static void CheckBinds(LoadContext context, List<Located<ListenerConfig>> listeners, AdminConfig? admin)
    {
        var claimed = new List<(IPEndPoint EndPoint, string Owner)>();
        if (admin is not null && admin.EndPoint.Port != 0) claimed.Add((admin.EndPoint, "[admin]"));
        foreach (var (listener, path) in listeners)
        {
            // Port 0 lets the OS pick a free port each time, so those never collide.
            if (listener.EndPoint.Port == 0 || listener.EndPoint.Address.Equals(IPAddress.None)) continue;
            var owner = listener.Name.Length > 0 ? $"listener \"{listener.Name}\"" : path;
            foreach (var (other, otherOwner) in claimed)
            {
                if (Overlap(listener.EndPoint, other))
                {
                    context.Error(KeyPath.Child(path, "bind"), $"{listener.Bind} is already taken by {otherOwner} ({other})");
                    break;
                }
            }
            claimed.Add((listener.EndPoint, owner));
        }
    }

    // Same port, and the same address or a wildcard of the same family: binding both fails with
    // "address in use" at startup, which is better said now, with the two keys named.
    private static bool Overlap(IPEndPoint a, IPEndPoint b) =>
        a.Port == b.Port && a.AddressFamily == b.AddressFamily &&
        (a.Address.Equals(b.Address) || IsWildcard(a.Address) || IsWildcard(b.Address));

    private static bool IsWildcard(IPAddress address) =>
        address.Equals(address.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any);
}
