"""Records tests/RlMemory.Environments.Tests/Golden/MountainCarContinuous-v0.json (format rl-golden-trajectories/1, see
that folder's FORMAT.md) by running Gymnasium 1.0.0's own MountainCarContinuous-v0. Not run by the tests, which read only
the recorded file. Needs Python 3 with numpy 1.24 and Gymnasium 1.0.0 importable (put its source tree on PYTHONPATH):

    PYTHONPATH=<gymnasium-1.0.0 source> python3 benchmarks/golden/record_mountaincar_continuous.py OUT.json
"""
import datetime
import json
import math
import os
import platform
import sys

import numpy as np
import gymnasium as gym

ENV_ID = "MountainCarContinuous-v0"


def floats(values):
    return [float(v) for v in values]


def episode(index, kind, seed, generator_text, choose):
    env = gym.make(ENV_ID)
    obs, _ = env.reset(seed=seed)
    inner = env.unwrapped
    initial_state = floats(inner.state)
    record = {
        "index": index, "kind": kind, "reset_seed": seed, "action_generator": generator_text,
        "initial_state": initial_state, "initial_state_dtype": str(np.asarray(inner.state).dtype),
        "initial_obs": floats(obs), "actions": [], "obs": [], "rewards": [], "terminated": [], "truncated": [], "states": [],
    }
    total = 0.0
    step = 0
    while True:
        action = choose(step, inner.state)
        obs, reward, terminated, truncated, _ = env.step(action)
        record["actions"].append(floats(action))
        record["obs"].append(floats(obs))
        record["rewards"].append(float(reward))
        record["terminated"].append(bool(terminated))
        record["truncated"].append(bool(truncated))
        record["states"].append(floats(inner.state))
        total += float(reward)
        step += 1
        if terminated or truncated:
            break
    record.update({"length": step, "return": total, "end": "terminated" if terminated else "truncated"})
    env.close()
    return record


def main(out):
    episodes = []
    for k in range(3):
        actions = np.random.default_rng(2000 + k).uniform(-1.0, 1.0, size=(1000, 1)).astype(np.float32)
        episodes.append(episode(k, "random", k, f"np.random.default_rng({2000 + k}).uniform(-1.0, 1.0, size=(1000, 1)).astype(float32)",
                                lambda i, s, a=actions: a[i]))

    # Pumping energy: full force along the velocity reaches the flag (reward 100, termination).
    episodes.append(episode(3, "policy", 10, "pump: a = [1.0] if velocity >= 0 else [-1.0] (float32)",
                            lambda i, s: np.array([1.0 if s[1] >= 0 else -1.0], dtype=np.float32)))
    # Pushing left with fractional forces: the car reaches the left wall (position clipped, velocity zeroed).
    episodes.append(episode(4, "policy", 11, "left: a = [-0.73] (float32) for 60 steps, then pump with 0.9",
                            lambda i, s: np.array([-0.73 if i < 60 else (0.9 if s[1] >= 0 else -0.9)], dtype=np.float32)))

    spec = gym.spec(ENV_ID)
    probe = gym.make(ENV_ID)
    doc = {
        "format": "rl-golden-trajectories/1",
        "env_id": ENV_ID,
        "generated_utc": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "versions": {
            "python": platform.python_version(), "python_executable": sys.executable, "numpy": np.__version__,
            "gymnasium": gym.__version__, "platform": platform.platform(), "cpu_count": os.cpu_count(),
            "sources": {"gymnasium": {"repo": "Farama-Foundation/Gymnasium", "tag": "v1.0.0"}},
        },
        "spec": {"id": spec.id, "entry_point": spec.entry_point, "max_episode_steps": spec.max_episode_steps,
                 "reward_threshold": spec.reward_threshold, "kwargs": spec.kwargs},
        "wrappers": str(probe),
        "observation_space": {"type": "Box", "shape": list(probe.observation_space.shape), "dtype": str(probe.observation_space.dtype),
                              "low": floats(probe.observation_space.low), "high": floats(probe.observation_space.high)},
        "action_space": {"type": "Box", "shape": list(probe.action_space.shape), "dtype": str(probe.action_space.dtype),
                         "low": floats(probe.action_space.low), "high": floats(probe.action_space.high)},
        "state_layout": ["position", "velocity"],
        "obs_layout": ["position", "velocity"],
        "constants": {"min_action": -1.0, "max_action": 1.0, "min_position": -1.2, "max_position": 0.6, "max_speed": 0.07,
                      "goal_position": 0.45, "power": 0.0015},
        "reset_distribution": "state = [np_random.uniform(-0.6, -0.4), 0] (float64)",
        "notes": "force = min(max(action[0], -1), 1); velocity += force*power - 0.0025*cos(3*position) (numpy 1.24 promotes the "
                 "float32 scalars to float64); clip velocity to +-max_speed; position += velocity; clip position; if position == "
                 "min_position and velocity < 0: velocity = 0. terminated = position >= 0.45 and velocity >= goal_velocity. reward = "
                 "100 if terminated else 0, minus 0.1*action[0]**2. The state is stored as float32 after every step (float64 after reset).",
        "self_check": {"replayed_by": "RlMemory's GoldenTrajectoryTests"},
        "episodes": episodes,
    }
    probe.close()
    with open(out, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
    print(out, [(e["kind"], e["length"], e["end"], round(e["return"], 3)) for e in episodes])


if __name__ == "__main__":
    main(sys.argv[1])
