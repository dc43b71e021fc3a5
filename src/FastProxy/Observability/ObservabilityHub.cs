namespace FastProxy.Observability;

/// <summary>
/// The registered request observers, for the whole process (held by ProxyServices). The request path asks
/// <see cref="Enabled"/> once per request (one volatile read) and does nothing more when no observer is registered;
/// otherwise it fills the connection's <see cref="RequestRecord"/> and hands it to <see cref="Complete"/>.
/// Observers are added and removed at start and reload (a copy-on-write array: readers never lock).
/// </summary>
internal sealed class ObservabilityHub
{
    private readonly Lock _lock = new();
    private volatile IRequestObserver[] _observers = [];
    private volatile bool _wantsText;

    /// <summary>At least one observer: requests are recorded.</summary>
    public bool Enabled => _observers.Length > 0;

    /// <summary>Some observer reads the request's text (see <see cref="IRequestObserver.WantsText"/>).</summary>
    public bool WantsText => _wantsText;

    public IRequestObserver[] Observers => _observers;

    public void Add(IRequestObserver observer)
    {
        lock (_lock)
        {
            if (Array.IndexOf(_observers, observer) >= 0) return;
            Publish([.. _observers, observer]);
        }
    }

    public void Remove(IRequestObserver observer)
    {
        lock (_lock)
        {
            int at = Array.IndexOf(_observers, observer);
            if (at < 0) return;
            var rest = new List<IRequestObserver>(_observers);
            rest.RemoveAt(at);
            Publish([.. rest]);
        }
    }

    private void Publish(IRequestObserver[] observers)
    {
        bool text = false;
        foreach (var o in observers) text |= o.WantsText;
        _wantsText = text;
        _observers = observers;
    }

    /// <summary>The one completion call per request: every observer sees the record, in registration order.</summary>
    public void Complete(RequestRecord record)
    {
        record.EndTimestamp = System.Diagnostics.Stopwatch.GetTimestamp();
        var observers = _observers;
        for (int i = 0; i < observers.Length; i++)
        {
            try
            {
                observers[i].OnRequestComplete(record);
            }
            catch (Exception ex)
            {
                // An observer's bug must not cost the request (its response is already written).
                Diagnostics.Log.ObserverFailed(observers[i].GetType().Name, ex);
            }
        }
    }
}
