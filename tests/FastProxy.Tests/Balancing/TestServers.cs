using System.Text;
using FastProxy.Balancing;

namespace FastProxy.Tests.Balancing;

/// <summary>Builds server sets and reads pick sequences as letters: server 0 is 'a', no server is '-'.</summary>
internal static class TestServers
{
    public static BalancedServer[] Create(int count)
    {
        var servers = new BalancedServer[count];
        for (int i = 0; i < count; i++)
        {
            servers[i] = new BalancedServer(i, $"10.0.0.{i + 1}:8080");
        }

        return servers;
    }

    public static BalancedServer[] WithWeights(params int[] weights)
    {
        var servers = new BalancedServer[weights.Length];
        for (int i = 0; i < weights.Length; i++)
        {
            servers[i] = new BalancedServer(i, $"10.0.0.{i + 1}:8080", weights[i]);
        }

        return servers;
    }

    public static string Sequence(ILoadBalancer balancer, int picks) => Sequence(balancer, picks, []);

    public static string Sequence(ILoadBalancer balancer, int picks, params int[] excluded)
    {
        Span<ulong> set = stackalloc ulong[4];
        set.Clear();
        foreach (int index in excluded)
        {
            PickContext.Exclude(set, index);
        }

        var context = new PickContext { Excluded = set };
        var text = new StringBuilder(picks);
        for (int i = 0; i < picks; i++)
        {
            text.Append(Letter(balancer.Pick(in context)));
        }

        return text.ToString();
    }

    /// <summary>One pick with the given servers excluded.</summary>
    public static int PickExcluding(ILoadBalancer balancer, params int[] excluded)
    {
        Span<ulong> set = stackalloc ulong[4];
        set.Clear();
        foreach (int index in excluded)
        {
            PickContext.Exclude(set, index);
        }

        return balancer.Pick(new PickContext { Excluded = set });
    }

    public static char Letter(int index) => index < 0 ? '-' : (char)('a' + index);
}
