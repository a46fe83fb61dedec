namespace RlMemory.Memory;

/// <summary>
/// The checks of one vector step handed to a sequence cutter (<see cref="SequenceReplayBuffer.Add"/>,
/// <see cref="SequenceCollector.Add"/>), done in full before anything changes, so that a refused step leaves the
/// owner unchanged. Entries of autoreset pseudo-steps are neither checked nor stored.
/// </summary>
internal static class SequenceStepChecks
{
    /// <summary>
    /// Checks <paramref name="input"/> and <paramref name="state"/> against <paramref name="layout"/>: span lengths,
    /// the state's layout and row count, finite rewards, actions and observations (values in [0, 255] for byte
    /// storage), and finite state rows of the environments that start a sequence at this step. Writes those
    /// environments to <paramref name="envs"/> and their snapshot rows to <paramref name="rows"/> (each at least
    /// <c>NumEnvs</c> long) and returns their number.
    /// </summary>
    /// <exception cref="ArgumentException">Bad input; the message names <paramref name="owner"/>, <paramref name="call"/>, the argument, the environment and the value.</exception>
    public static int Check(string owner, string call, SequenceLayout layout, SequenceCutter cutter, SequenceStateStorage states, in StepSpans input, RecurrentState state, Span<int> envs, Span<int> rows)
    {
        int n = layout.NumEnvs;
        int os = layout.ObservationSize;
        ObservationStorage storage = layout.ObservationsInTable ? ObservationStorage.Float32 : ObservationStorage.UInt8;
        TransitionChecks.Length(owner, call, "observations", input.Observations.Length, n, os, "env");
        TransitionChecks.Length(owner, call, "nextObservations", input.NextObservations.Length, n, os, "env");
        TransitionChecks.Length(owner, call, "actions", layout.Discrete ? input.DiscreteActions.Length : input.ContinuousActions.Length, n, layout.ActionDimension, "env");
        TransitionChecks.Length(owner, call, "rewards", input.Rewards.Length, n, 1, "env");
        TransitionChecks.Length(owner, call, "terminated", input.Terminated.Length, n, 1, "env");
        TransitionChecks.Length(owner, call, "truncated", input.Truncated.Length, n, 1, "env");
        states.CheckLayout(state, n, call, "stateBeforeStep");

        // Pseudo-steps are neither stored nor checked.
        ReadOnlySpan<bool> skip = cutter.PreviousEnded;
        TransitionChecks.Rewards(owner, call, "rewards", input.Rewards, skip, "env");
        if (layout.Discrete)
        {
            TransitionChecks.DiscreteActions(owner, call, "actions", input.DiscreteActions, skip, "env");
        }
        else
        {
            TransitionChecks.ContinuousActions(owner, call, "actions", input.ContinuousActions, layout.ActionDimension, skip, "env");
        }

        TransitionChecks.Observations(owner, call, "observations", input.Observations, os, storage, skip, "env");
        TransitionChecks.Observations(owner, call, "nextObservations", input.NextObservations, os, storage, skip, "env");

        int starting = 0;
        for (int e = 0; e < n; e++)
        {
            if (cutter.StartsSequence(e))
            {
                envs[starting] = e;
                rows[starting] = cutter.SnapshotRow(e, cutter.EpisodeSteps[e]);
                starting++;
            }
        }

        states.CheckFinite(state, envs[..starting], call, "stateBeforeStep");
        return starting;
    }
}
