using System.Globalization;
using System.Text.Json;
using RlMemory.Memory.Persistence;
using TorchSharp;
using static TorchSharp.torch;

namespace RlMemory.Memory;

/// <summary>
/// Saves and loads a <see cref="RolloutBuffer"/> in the shared buffer file format (docs/replay.md, "Persistence").
/// Sections: <c>table</c> (float32 [Count · N, W]), <c>rewards</c> (float64), <c>terminated</c>, <c>truncated</c>,
/// <c>valid</c>, <c>episode_starts</c> (bool [Count · N]), <c>previous_ended</c> and <c>next_starts_episode</c>
/// (bool [N]), <c>generator_state</c> (uint8 [32]) and one <c>state_i</c> per recurrent-state part.
/// </summary>
internal static class RolloutBufferFile
{
    public static void Save(RolloutBuffer buffer, string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        int entries = buffer.Count * buffer.NumEnvs;
        var metadata = new SavedRolloutMetadata
        {
            Options = SavedRolloutOptions.From(buffer.Options),
            Count = buffer.Count,
            AdvantagesComputed = buffer.AdvantagesComputed,
            Width = buffer.Table.Width,
            GeneratorAlgorithm = Xoshiro256StarStar.Algorithm,
        };
        using var writer = BufferFileWriter.Create(Path.Combine(directory, RolloutBuffer.FileName), RolloutBuffer.Kind, RolloutBuffer.KindVersion, JsonSerializer.Serialize(metadata, MemoryJsonContext.Default.RolloutMetadata));
        writer.WriteSection("table", buffer.Table.Tensor, entries);
        writer.WriteSection("rewards", buffer.Rewards[..entries], entries);
        writer.WriteSection("terminated", buffer.Terminated[..entries], entries);
        writer.WriteSection("truncated", buffer.Truncated[..entries], entries);
        writer.WriteSection("valid", buffer.Valid[..entries], entries);
        writer.WriteSection("episode_starts", buffer.EpisodeStarts[..entries], entries);
        writer.WriteSection("previous_ended", buffer.PreviousEnded, buffer.NumEnvs);
        writer.WriteSection("next_starts_episode", buffer.NextStepBeginsEpisode, buffer.NumEnvs);
        writer.WriteSection<byte>("generator_state", buffer.Generator.ExportState(), Xoshiro256StarStar.StateSize);
        if (buffer.States is not null)
        {
            for (int i = 0; i < buffer.States.Parts.Count; i++)
            {
                writer.WriteSection($"state_{i}", buffer.States.Parts[i], entries);
            }
        }

        writer.Commit();
    }

    public static RolloutBuffer Load(string directory, Device? device, RolloutBufferOptions? expected, bool forceStaging)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        using BufferFileReader reader = BufferFileReader.Open(Path.Combine(directory, RolloutBuffer.FileName));
        string file = reader.Path;
        SavedFields.RequireKind(reader, RolloutBuffer.Kind, RolloutBuffer.KindVersion);
        SavedRolloutMetadata metadata = SavedFields.Metadata(reader, MemoryJsonContext.Default.RolloutMetadata);

        if (metadata.Options is null || metadata.GeneratorAlgorithm is null)
        {
            throw new InvalidDataException($"{file}: the metadata lacks options or the generator algorithm.");
        }

        RolloutBufferOptions options = SavedFields.Options(reader, () =>
        {
            RolloutBufferOptions saved = metadata.Options.ToOptions(device);
            saved.Validate();
            return saved;
        });

        if (expected is not null)
        {
            CheckExpected(file, options, expected);
        }

        // Everything is checked before any tensor is allocated.
        int n = options.NumEnvs;
        int width = options.ObservationSize + options.Action.Dimension + RolloutTable.ExtraColumns;
        void Require(bool ok, string what)
        {
            if (!ok)
            {
                throw new InvalidDataException($"{file}: inconsistent buffer state: {what}.");
            }
        }

        Require(metadata.GeneratorAlgorithm == Xoshiro256StarStar.Algorithm, $"generator '{metadata.GeneratorAlgorithm}', this build uses {Xoshiro256StarStar.Algorithm}");
        Require(metadata.Count >= 0 && metadata.Count <= options.NumSteps, $"{metadata.Count} steps outside [0, {options.NumSteps}]");
        Require(!metadata.AdvantagesComputed || metadata.Count == options.NumSteps, $"advantages computed for a rollout of {metadata.Count} of {options.NumSteps} steps");
        Require(metadata.Width == width, $"table width {metadata.Width}, the options give {width}");
        long entries = (long)metadata.Count * n;
        reader.Expect("table", ScalarType.Float32, entries, width);
        reader.Expect("rewards", ScalarType.Float64, entries);
        foreach (string name in new[] { "terminated", "truncated", "valid", "episode_starts" })
        {
            reader.Expect(name, ScalarType.Bool, entries);
        }

        reader.Expect("previous_ended", ScalarType.Bool, n);
        reader.Expect("next_starts_episode", ScalarType.Bool, n);
        reader.Expect("generator_state", ScalarType.Byte, Xoshiro256StarStar.StateSize);
        IReadOnlyList<RecurrentStatePart> parts = options.RecurrentState?.Parts ?? [];
        for (int i = 0; i < parts.Count; i++)
        {
            reader.Expect($"state_{i}", parts[i].DType, [entries, .. parts[i].Shape]);
        }

        Require(!reader.HasSection($"state_{parts.Count}"), $"more recurrent-state sections than the {parts.Count} parts of the options");

        double[] rewards = reader.ReadArray<double>("rewards");
        bool[] terminated = reader.ReadArray<bool>("terminated");
        bool[] truncated = reader.ReadArray<bool>("truncated");
        bool[] valid = reader.ReadArray<bool>("valid");
        bool[] starts = reader.ReadArray<bool>("episode_starts");
        bool[] previousEnded = reader.ReadArray<bool>("previous_ended");
        bool[] nextStarts = reader.ReadArray<bool>("next_starts_episode");
        byte[] generator = reader.ReadArray<byte>("generator_state");
        try
        {
            Xoshiro256StarStar.CheckState(file, generator);
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"{file}: the generator state is invalid: {e.Message}", e);
        }

        CheckFlags(file, metadata.Count, n, rewards, terminated, truncated, valid, starts, previousEnded, nextStarts);

        var buffer = new RolloutBuffer(options, forceStaging);
        try
        {
            reader.ReadInto("table", buffer.Table.Tensor);
            for (int i = 0; i < parts.Count; i++)
            {
                reader.ReadInto($"state_{i}", buffer.States!.Parts[i]);
            }

            buffer.Restore(metadata.Count, metadata.AdvantagesComputed, rewards, terminated, truncated, valid, starts, previousEnded, nextStarts, generator);
            return buffer;
        }
        catch
        {
            buffer.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Checks that the host arrays tell one consistent autoreset story: a pseudo-step (invalid entry) follows an
    /// ended step or an earlier rollout, has reward 0 and no flags; an episode start is the first valid step after a
    /// pseudo-step; and the per-environment flags follow from the last step.
    /// </summary>
    private static void CheckFlags(string file, int count, int n, double[] rewards, bool[] terminated, bool[] truncated, bool[] valid, bool[] starts, bool[] previousEnded, bool[] nextStarts)
    {
        for (int t = 0; t < count; t++)
        {
            for (int e = 0; e < n; e++)
            {
                int i = t * n + e;
                string where = $"step {t}, env {e}";
                if (!double.IsFinite(rewards[i]) || !float.IsFinite((float)rewards[i]))
                {
                    throw new InvalidDataException($"{file}: inconsistent buffer state: the reward at {where} is {TransitionChecks.Text(rewards[i])}.");
                }

                if (!valid[i] && (rewards[i] != 0 || terminated[i] || truncated[i] || starts[i]))
                {
                    throw new InvalidDataException($"{file}: inconsistent buffer state: the autoreset pseudo-step at {where} has a reward, end flags or an episode start.");
                }

                if (t > 0)
                {
                    int p = i - n;
                    bool ended = valid[p] && (terminated[p] || truncated[p]);
                    if (valid[i] == ended)
                    {
                        throw new InvalidDataException($"{file}: inconsistent buffer state: {where} is {(valid[i] ? "valid after an ended step" : "a pseudo-step after a step that did not end")}.");
                    }

                    if (starts[i] != (valid[i] && !valid[p]))
                    {
                        throw new InvalidDataException($"{file}: inconsistent buffer state: the episode-start flag at {where} does not follow the pseudo-steps.");
                    }
                }
            }
        }

        if (count == 0)
        {
            for (int e = 0; e < n; e++)
            {
                if (previousEnded[e] && nextStarts[e])
                {
                    throw new InvalidDataException($"{file}: inconsistent buffer state: env {e} both ended and begins an episode.");
                }
            }

            return;
        }

        for (int e = 0; e < n; e++)
        {
            int last = (count - 1) * n + e;
            bool ended = valid[last] && (terminated[last] || truncated[last]);
            if (previousEnded[e] != ended || nextStarts[e] != !valid[last])
            {
                throw new InvalidDataException($"{file}: inconsistent buffer state: the autoreset flags of env {e} do not follow its last step.");
            }
        }
    }

    private static void CheckExpected(string path, RolloutBufferOptions saved, RolloutBufferOptions expected)
    {
        void Same(string field, string savedValue, string expectedValue)
        {
            if (savedValue != expectedValue)
            {
                throw new InvalidDataException($"{path} was saved with {field} {savedValue}, but {expectedValue} is expected; load it without expected options, or build the buffer with the saved ones.");
            }
        }

        static string Number(double v) => v.ToString("R", CultureInfo.InvariantCulture);
        Same("NumSteps", saved.NumSteps.ToString(CultureInfo.InvariantCulture), expected.NumSteps.ToString(CultureInfo.InvariantCulture));
        Same("NumEnvs", saved.NumEnvs.ToString(CultureInfo.InvariantCulture), expected.NumEnvs.ToString(CultureInfo.InvariantCulture));
        Same("ObservationShape", $"[{ReplayBufferOptions.ShapeText(saved.ObservationShape)}]", $"[{ReplayBufferOptions.ShapeText(expected.ObservationShape)}]");
        Same("Action", saved.Action.ToString(), expected.Action.ToString());
        Same("Gamma", Number(saved.Gamma), Number(expected.Gamma));
        Same("GaeLambda", Number(saved.GaeLambda), Number(expected.GaeLambda));
        Same("AdvantageNormalization", saved.AdvantageNormalization.ToString(), expected.AdvantageNormalization.ToString());
        Same("RecurrentState", saved.RecurrentState?.ToString() ?? "none", expected.RecurrentState?.ToString() ?? "none");
    }
}

/// <summary>The metadata of a saved rollout buffer.</summary>
internal sealed record SavedRolloutMetadata
{
    public SavedRolloutOptions? Options { get; init; }

    public int Count { get; init; }

    public bool AdvantagesComputed { get; init; }

    public int Width { get; init; }

    public string? GeneratorAlgorithm { get; init; }
}

/// <summary>The options as saved (everything but the device, which is chosen at load time).</summary>
internal sealed record SavedRolloutOptions : SavedStepLayout
{
    public int NumSteps { get; init; }

    public double Gamma { get; init; }

    public double GaeLambda { get; init; }

    public string AdvantageNormalization { get; init; } = "";

    public SavedStatePart[]? RecurrentState { get; init; }

    public static SavedRolloutOptions From(RolloutBufferOptions o) => WithLayout(
        new SavedRolloutOptions
        {
            NumSteps = o.NumSteps,
            Gamma = o.Gamma,
            GaeLambda = o.GaeLambda,
            AdvantageNormalization = o.AdvantageNormalization.ToString(),
            RecurrentState = o.RecurrentState?.Parts.Select(p => new SavedStatePart { Name = p.Name, Shape = [.. p.Shape], DType = BufferFileFormat.Name(p.DType) }).ToArray(),
        },
        o.ObservationShape,
        o.Action,
        o.NumEnvs,
        o.Seed);

    /// <summary>The options on <paramref name="device"/>; invalid values throw <see cref="ArgumentException"/>.</summary>
    public RolloutBufferOptions ToOptions(Device? device)
    {
        if (!Enum.TryParse(AdvantageNormalization, out AdvantageNormalization normalization) || !Enum.IsDefined(normalization))
        {
            throw new ArgumentException($"unknown advantage normalization '{AdvantageNormalization}'");
        }

        RecurrentStateSpec? spec = null;
        if (RecurrentState is not null)
        {
            var parts = new List<RecurrentStatePart>(RecurrentState.Length);
            foreach (SavedStatePart? p in RecurrentState)
            {
                if (p is null)
                {
                    throw new ArgumentException("a recurrent-state part is missing");
                }

                ScalarType dtype = SavedFields.DType(p.DType) ?? throw new ArgumentException($"recurrent-state part '{p.Name}' has unknown dtype '{p.DType}'");
                parts.Add(new RecurrentStatePart(p.Name ?? "", p.Shape ?? throw new ArgumentException($"recurrent-state part '{p.Name}' has no shape"), dtype));
            }

            spec = new RecurrentStateSpec(parts);
        }

        return new RolloutBufferOptions
        {
            NumSteps = NumSteps,
            NumEnvs = NumEnvs,
            ObservationShape = Shape(),
            Action = Action(),
            Gamma = Gamma,
            GaeLambda = GaeLambda,
            AdvantageNormalization = normalization,
            RecurrentState = spec,
            Device = device,
            Seed = Seed,
        };
    }
}

/// <summary>One saved recurrent-state part.</summary>
internal sealed record SavedStatePart
{
    public string? Name { get; init; }

    public long[]? Shape { get; init; }

    public string? DType { get; init; }
}
