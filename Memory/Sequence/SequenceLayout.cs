namespace RlMemory.Memory;

/// <summary>
/// The sizes of a sequence buffer and the columns of its float32 table. One table row holds one sequence:
/// <c>(T + 1) · obs</c> observation values (when they are float32), then <c>T · d</c> action values, then T rewards,
/// T terminated flags, T truncated flags and T mask values. Byte observations live in their own uint8 tensor
/// <c>[C, (T + 1) · obs]</c>.
/// </summary>
internal sealed class SequenceLayout
{
    public SequenceLayout(SequenceReplayOptions options)
    {
        BurnIn = options.BurnIn;
        LearningLength = options.LearningLength;
        Length = options.SequenceLength;
        Stride = options.Stride;
        SnapshotsPerEnv = (Length + Stride - 1) / Stride;
        NumEnvs = options.NumEnvs;
        ObservationSize = options.ObservationSize;
        ActionDimension = options.Action.Dimension;
        Discrete = options.Action.IsDiscrete;
        ObservationsInTable = options.ObservationStorage == ObservationStorage.Float32;
        MinLength = options.MinSequenceLength;
        ObservationValues = (Length + 1) * ObservationSize;
        ActionColumn = ObservationsInTable ? ObservationValues : 0;
        RewardColumn = ActionColumn + (Length * ActionDimension);
        TerminatedColumn = RewardColumn + Length;
        TruncatedColumn = TerminatedColumn + Length;
        MaskColumn = TruncatedColumn + Length;
        Width = MaskColumn + Length;
    }

    /// <summary>B, burn-in steps.</summary>
    public int BurnIn { get; }

    /// <summary>L, learning steps.</summary>
    public int LearningLength { get; }

    /// <summary>T = B + L, steps per sequence.</summary>
    public int Length { get; }

    /// <summary>Steps between the starts of consecutive sequences of an episode (T − overlap).</summary>
    public int Stride { get; }

    /// <summary>K = ⌈T / stride⌉: the most sequences of one environment that are open (started, not yet stored) at once.</summary>
    public int SnapshotsPerEnv { get; }

    /// <summary>N, environments.</summary>
    public int NumEnvs { get; }

    /// <summary>Values per observation.</summary>
    public int ObservationSize { get; }

    /// <summary>Floats per action (1 for discrete).</summary>
    public int ActionDimension { get; }

    /// <summary>Whether actions are discrete (stored as floats, exact up to 2^24).</summary>
    public bool Discrete { get; }

    /// <summary>Whether observations are float32 columns of the table (else a uint8 tensor).</summary>
    public bool ObservationsInTable { get; }

    /// <summary>The fewest valid steps of a stored partial sequence.</summary>
    public int MinLength { get; }

    /// <summary>(T + 1) · obs: the observation values of one sequence.</summary>
    public int ObservationValues { get; }

    /// <summary>First column of the actions.</summary>
    public int ActionColumn { get; }

    /// <summary>First column of the rewards.</summary>
    public int RewardColumn { get; }

    /// <summary>First column of the terminated flags.</summary>
    public int TerminatedColumn { get; }

    /// <summary>First column of the truncated flags.</summary>
    public int TruncatedColumn { get; }

    /// <summary>First column of the mask.</summary>
    public int MaskColumn { get; }

    /// <summary>Floats per table row.</summary>
    public int Width { get; }
}
