using System.Text;
using System.Text.Json;
using FastProxy.Policies.Types.Cache;

namespace FastProxy.Admin;

/// <summary>
/// POST /cache/purge?key=HOST/PATH[?QUERY] (one URL's entries, every variant) or ?prefix=TEXT (every key starting so),
/// optionally &amp;policy=NAME (else every cache policy); values percent-encoded. Same authorization as the other POSTs.
/// Answers {"purged": N}.
/// </summary>
internal sealed partial class AdminServer
{
    private AdminAnswer? TryCachePurge(string method, string target, string requestHead, string client)
    {
        int q = target.IndexOf('?');
        if ((q < 0 ? target : target[..q]) != "/cache/purge") return null;
        if (method != "POST") return AdminAnswer.Text(405, "only POST\n", extraHeaders: "Allow: POST\r\n");
        var refused = Authorize(requestHead, method, "/cache/purge", client);
        if (refused is { } refusal) return refusal;
        string? key = null, prefix = null, policy = null;
        if (q >= 0)
        {
            foreach (var pair in target[(q + 1)..].Split('&', StringSplitOptions.RemoveEmptyEntries))
            {
                int eq = pair.IndexOf('=');
                string name = eq < 0 ? pair : pair[..eq];
                string? value = eq < 0 ? "" : Decode(pair[(eq + 1)..].Replace('+', ' '));
                if (value is null) return AdminAnswer.Text(400, "bad percent-encoding in the query\n");
                switch (name)
                {
                    case "key": key = value; break;
                    case "prefix": prefix = value; break;
                    case "policy": policy = value; break;
                    default: return AdminAnswer.Text(400, $"unknown parameter \"{Printable(name)}\" (key, prefix, policy)\n");
                }
            }
        }
        if ((key is null) == (prefix is null)) return AdminAnswer.Text(400, "give key=HOST/PATH?QUERY or prefix=TEXT (one of them)\n");
        var gateway = _host.Runtime.Listeners.Values.Select(l => l.Gateway).FirstOrDefault(g => g is not null);
        var caches = gateway?.Policies.OfType<CachePolicy>().Where(p => policy is null || p.Name == policy).ToList() ?? [];
        if (policy is not null && caches.Count == 0) return AdminAnswer.Text(404, $"no cache policy named \"{Printable(policy)}\"\n");
        int purged = 0;
        foreach (var cache in caches) purged += cache.Purge(key ?? prefix!, prefix: key is null);
        Diagnostics.Log.CachePurged(Printable(key ?? prefix!), key is null, purged, client);
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(64);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteNumber("purged", purged);
            json.WriteEndObject();
        }
        return new AdminAnswer(200, "application/json", [.. buffer.WrittenSpan, (byte)'\n']);
    }
}
