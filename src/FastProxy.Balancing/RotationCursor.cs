namespace FastProxy.Balancing;

/// <summary>
/// The shared position of a rotation (round_robin, and least_conn's tie-break), moved without a lock.
/// </summary>
/// <remarks>
/// A pick reads the position, chooses the first suitable server from there, and moves the position just
/// past its choice with one compare-exchange; if another pick moved it first, it chooses again from the new
/// position. So the picks form one rotation over the eligible servers however threads interleave: with b
/// down the sequence is a, c, a, c, where handing out tickets (position = ticket % n) would give c the
/// share of b too (a, c, c, a, c, c) as soon as threads race. The position is always in [0, n), so a pick
/// needs no division.
/// A pick that keeps losing the race (<see cref="MaxAttempts"/> times in a row) takes its last choice
/// without moving the position rather than spin on: the hot path never waits on other threads, at the
/// cost of one server taking one extra pick in that rare case.
/// Mutable struct: keep it in a non-readonly field and call it in place.
/// </remarks>
internal struct RotationCursor
{
    public const int MaxAttempts = 8;

    private int _position;

    /// <param name="position">Where the first pick starts, in [0, n): carried from a previous server set.</param>
    public RotationCursor(int position) => _position = position;

    /// <summary>Where the next pick starts.</summary>
    public readonly int Position => Volatile.Read(in _position);

    /// <summary>Moves the position past <paramref name="chosen"/> if it is still <paramref name="observed"/>.</summary>
    public bool TryMovePast(int observed, int chosen, int count)
    {
        int next = chosen + 1 == count ? 0 : chosen + 1;
        return next == observed || Interlocked.CompareExchange(ref _position, next, observed) == observed;
    }
}
