namespace FastProxy.Balancing;

/// <summary>
/// What a balancer hands to its successor over a new server set (<see cref="LoadBalancers.Create"/> with
/// <c>previous</c>): its servers, and where its rotation stands. Matching is by <see cref="BalancedServer.Address"/>,
/// so a server keeps its state whatever its new position.
/// </summary>
internal interface ICarriesState
{
    /// <summary>The servers this balancer picks among, by position.</summary>
    BalancedServer[] Servers { get; }

    /// <summary>The position the next rotation pick starts at; -1 for an algorithm without a rotation.</summary>
    int NextPosition { get; }
}

/// <summary>Maps a previous generation's state onto a new server set.</summary>
internal static class CarriedState
{
    /// <summary>
    /// Where a rotation over <paramref name="servers"/> should start so that it goes on where <paramref name="previous"/>
    /// stood: at the server the previous rotation would have picked next, or, if that one is gone, at the first server
    /// after it (in the previous order) that stays. 0 without a previous rotation or when no server stays.
    /// </summary>
    public static int StartPosition(BalancedServer[] servers, ILoadBalancer? previous)
    {
        if (previous is not ICarriesState { NextPosition: >= 0 } carried) return 0;
        BalancedServer[] old = carried.Servers;
        int next = carried.NextPosition;
        for (int scanned = 0; scanned < old.Length; scanned++)
        {
            int found = IndexOf(servers, old[next].Address);
            if (found >= 0) return found;
            if (++next == old.Length) next = 0;
        }

        return 0;
    }

    /// <summary>The position of the first server at <paramref name="address"/> in <paramref name="servers"/>; -1 if none.</summary>
    public static int IndexOf(BalancedServer[] servers, string address)
    {
        for (int i = 0; i < servers.Length; i++)
        {
            if (string.Equals(servers[i].Address, address, StringComparison.Ordinal)) return i;
        }

        return -1;
    }
}
