using RlMemory.Agents.ActorCritic;
using RlMemory.Agents.Recurrent;
using RlMemory.Environments;
using RlMemory.Environments.Vector;
using RlMemory.Memory;
using RlMemory.Tests.Memory;
using RlMemory.Training.Ppo;
using static TorchSharp.torch;

namespace RlMemory.Tests.Training;

/// <summary>
/// The learner must see exactly what the actor saw: replaying a rollout's sequence minibatches through the network
/// (from the stored initial states, resetting at episode starts) reproduces the log-probabilities and values the actor
/// computed step by step, so PPO's ratio is 1 before the first update.
/// </summary>
public sealed class PpoRolloutReplayTests
{
    [Theory]
    [InlineData(16, 16)]
    [InlineData(5, 3)]
    [InlineData(16, 1)]
    public void SequenceMinibatches_ReplayTheActorsLogProbabilitiesAndValues(int sequenceLength, int sequencesPerBatch)
    {
        const int envs = 3, steps = 16;
        manual_seed(4);
        using var network = new ActorCriticNetwork(new ActorCriticConfig
        {
            ObservationSize = 3,
            ActionCount = 4,
            Core = new CoreConfig { EncoderSizes = [8], HiddenSize = 8 },
            NetArch = [8],
            NormalizeObservations = true,
        });
        network.SetObservationStatistics([0.5, 0.5, 0.5], [0.25, 0.25, 0.25]);

        // A 2-cell T-maze ends an episode every few steps, so sequences hold pseudo-steps and episode starts.
        using VectorEnv<int> vec = EnvRegistry.MakeVector<int>("TMaze-v0", envs, VectorMode.Sync, new EnvOptions { { "corridor_length", 2 } });
        using var buffer = new RolloutBuffer(new RolloutBufferOptions
        {
            NumSteps = steps,
            NumEnvs = envs,
            ObservationShape = [3],
            RecurrentState = network.StateSpec,
            Seed = 1,
        });
        using var actor = new ActorCriticActor(network, envs);
        var sampler = new CategoricalSampler(9);
        var observations = new float[envs * 3];
        var logits = new float[envs * 4];
        var values = new float[envs];
        var logProbs = new float[envs];
        var actions = new int[envs];
        vec.Reset(seed: 3);
        vec.Observations.CopyTo(observations, 0);

        // Two rollouts: the second starts from states carried over from the first.
        for (int rollout = 0; rollout < 2; rollout++)
        {
            buffer.Clear();
            for (int t = 0; t < steps; t++)
            {
                actor.Step(observations, logits, values);
                for (int e = 0; e < envs; e++)
                {
                    actions[e] = sampler.Sample(logits.AsSpan(e * 4, 4), out logProbs[e]);
                }

                vec.Step(actions);
                buffer.Add(observations, actions, vec.Rewards, vec.Terminations, vec.Truncations, values, logProbs, actor.State);
                actor.Advance(buffer.NextStepBeginsEpisode);
                vec.Observations.CopyTo(observations, 0);
            }

            actor.Peek(observations, logits, values);
            buffer.ComputeReturnsAndAdvantages(values);
        }

        int starts = 0, checkedEntries = 0;
        foreach (RolloutSequenceBatch batch in buffer.SequenceMinibatches(sequenceLength, sequencesPerBatch))
        {
            using (batch)
            using (var scope = NewDisposeScope())
            {
                var (l, v) = network.UnrollSequences(batch.Observations, batch.InitialState!, batch.EpisodeStarts);
                Tensor logProb = nn.functional.log_softmax(l, -1).gather(-1, batch.Actions.unsqueeze(-1)).squeeze(-1);
                Tensor valid = batch.Mask.to(ScalarType.Bool);
                Assert.True(allclose(logProb.masked_select(valid), batch.OldLogProbs.masked_select(valid), rtol: 1e-4, atol: 1e-5), "log-probabilities differ");
                Assert.True(allclose(v.masked_select(valid), batch.OldValues.masked_select(valid), rtol: 1e-4, atol: 1e-5), "values differ");

                // Pseudo-steps (mask 0 inside the rollout) carry V(F), computed with the ended episode's state.
                Tensor inRollout = batch.StartSteps.unsqueeze(1).add(arange(batch.Length).unsqueeze(0)).lt(steps);
                Tensor pseudo = batch.Mask.eq(0).logical_and(inRollout);
                Assert.True(allclose(v.masked_select(pseudo), batch.OldValues.masked_select(pseudo), rtol: 1e-4, atol: 1e-5), "pseudo-step values differ");
                starts += (int)batch.EpisodeStarts.sum().item<float>();
                checkedEntries += batch.ValidCount;
            }
        }

        Assert.True(starts >= 4, $"only {starts} episode starts: the test needs episodes that end inside sequences");
        Assert.Equal(buffer.ValidCount, checkedEntries);
    }
}
