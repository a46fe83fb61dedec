namespace RlMemory.Training;

/// <summary>
/// A value that moves linearly from <see cref="Start"/> to <see cref="End"/> over the first <see cref="Duration"/>
/// steps and stays at <see cref="End"/> afterwards (SB3's <c>get_linear_fn</c>; used for ε and β).
/// </summary>
public sealed record LinearSchedule
{
    /// <summary>Creates the schedule.</summary>
    public LinearSchedule(double start, double end, long duration)
    {
        if (!double.IsFinite(start) || !double.IsFinite(end))
        {
            throw new ArgumentException($"LinearSchedule: start and end must be finite, got {start} and {end}.");
        }

        ArgumentOutOfRangeException.ThrowIfNegative(duration);
        Start = start;
        End = end;
        Duration = duration;
    }

    /// <summary>The value at step 0.</summary>
    public double Start { get; }

    /// <summary>The value from step <see cref="Duration"/> on.</summary>
    public double End { get; }

    /// <summary>The number of steps of the ramp (0: always <see cref="End"/>).</summary>
    public long Duration { get; }

    /// <summary>The value at <paramref name="step"/>.</summary>
    public double ValueAt(long step) =>
        Duration == 0 || step >= Duration ? End : step <= 0 ? Start : Start + (End - Start) * ((double)step / Duration);
}
