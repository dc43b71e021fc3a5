using System.Buffers;

namespace FastProxy.Policies.Pipeline;

/// <summary>
/// The response stages (<see cref="IResponseStreamPolicy"/>) of this connection: one stage per policy, made the first
/// time and reused for each response; the ones that took the response in progress; and the two buffers transforming
/// stages write into (the bytes for the client, valid until the next call).
/// </summary>
public sealed partial class PolicyContext
{
    private const int MaxStages = 8;

    private readonly IResponseStreamPolicy?[] _stagePolicies = new IResponseStreamPolicy?[MaxStages];
    private readonly ResponseStage?[] _stageCache = new ResponseStage?[MaxStages];
    private int _stageCacheCount;

    private readonly ResponseStage?[] _activeStages = new ResponseStage?[MaxStages];
    private int _activeCount;
    private int _transformCount;

    private PooledBufferWriter? _stageA;
    private PooledBufferWriter? _stageB;

    /// <summary>Some stage took the response in progress.</summary>
    public bool HasActiveStages => _activeCount > 0;

    /// <summary>Some stage that took the response changes the body (its length is no longer the upstream's).</summary>
    public bool StagesTransform => _transformCount > 0;

    /// <summary>This connection's stage for <paramref name="policy"/>, made on first use.</summary>
    public ResponseStage StageFor(IResponseStreamPolicy policy)
    {
        for (int i = 0; i < _stageCacheCount; i++)
        {
            if (ReferenceEquals(_stagePolicies[i], policy)) return _stageCache[i]!;
        }
        if (_stageCacheCount == MaxStages)
        {
            // A reload made new policies: the old ones' stages go.
            for (int i = 0; i < _stageCacheCount; i++)
            {
                _stageCache[i]!.Dispose();
                _stageCache[i] = null;
                _stagePolicies[i] = null;
            }
            _stageCacheCount = 0;
        }
        var stage = policy.CreateStage();
        _stagePolicies[_stageCacheCount] = policy;
        _stageCache[_stageCacheCount++] = stage;
        return stage;
    }

    /// <summary>Called by the chain, transforming stages first.</summary>
    internal void AddActiveStage(ResponseStage stage, bool observesOnly)
    {
        if (_activeCount == MaxStages) return;
        _activeStages[_activeCount++] = stage;
        if (!observesOnly) _transformCount++;
    }

    /// <summary>A piece of the upstream's body through the stages: what the client gets for it (<paramref name="data"/> itself when nothing transforms).</summary>
    public ReadOnlySpan<byte> StageWrite(ReadOnlySpan<byte> data) => RunStages(data, StageCall.Write);

    /// <summary>The upstream paused: what the stages held, for the client to get now.</summary>
    public ReadOnlySpan<byte> StageFlush() => RunStages(default, StageCall.Flush);

    /// <summary>The body ended whole: the last bytes for the client.</summary>
    public ReadOnlySpan<byte> StageComplete() => RunStages(default, StageCall.Complete);

    /// <summary>The response is over (exactly once after stages took it): each stage is told, and none is active any more.</summary>
    public void EndStages(bool completed)
    {
        for (int i = 0; i < _activeCount; i++)
        {
            _activeStages[i]!.End(completed);
            _activeStages[i] = null;
        }
        _activeCount = 0;
        _transformCount = 0;
        _stageA?.Clear();
        _stageB?.Clear();
    }

    private enum StageCall : byte { Write, Flush, Complete }

    private ReadOnlySpan<byte> RunStages(ReadOnlySpan<byte> input, StageCall call)
    {
        int i = 0;
        for (; i < _transformCount; i++)
        {
            var output = (i & 1) == 0 ? (_stageA ??= new PooledBufferWriter()) : (_stageB ??= new PooledBufferWriter());
            output.Clear();
            var stage = _activeStages[i]!;
            if (!input.IsEmpty) stage.Write(input, output);
            if (call == StageCall.Flush) stage.Flush(output);
            else if (call == StageCall.Complete) stage.Complete(output);
            input = output.WrittenSpan;
        }
        for (; i < _activeCount; i++)
        {
            var stage = _activeStages[i]!;
            if (!input.IsEmpty) stage.Write(input, NoOutput.Instance);
            if (call == StageCall.Flush) stage.Flush(NoOutput.Instance);
            else if (call == StageCall.Complete) stage.Complete(NoOutput.Instance);
        }
        return input;
    }

    /// <summary>What observing stages are given to write to: they must not.</summary>
    private sealed class NoOutput : IBufferWriter<byte>
    {
        public static readonly NoOutput Instance = new();
        public void Advance(int count) => throw new InvalidOperationException("An observing response stage wrote body bytes.");
        public Memory<byte> GetMemory(int sizeHint = 0) => throw new InvalidOperationException("An observing response stage wrote body bytes.");
        public Span<byte> GetSpan(int sizeHint = 0) => throw new InvalidOperationException("An observing response stage wrote body bytes.");
    }
}
