#!/usr/bin/env bash
# Packs RlMemory into a temporary folder and uses the packages as a user would, from projects outside the repository:
#   1. a console project that references the RlMemory package registers its own environment, trains DQN on it for a
#      few thousand steps and records a GIF (its output holds LibTorch once, for this platform only);
#   2. a console project that references RlMemory.Environments alone: its output holds no TorchSharp or LibTorch;
#   3. a file-based app (`dotnet run app.cs`, `#:package RlMemory@…`) trains for a moment;
#   4. the rlmemory tool, installed from the folder, lists the environments and trains for a moment;
#   5. a project with the libraries but no LibTorch backend fails its build with RLM1006, saying what to reference.
# The packages get a version of their own (VersionPrefix-check.<time>), so nothing cached by an earlier run is used,
# and their entries in the NuGet cache are removed at the end. Run by .ci/run after the tests; takes a few minutes.
#   build/check-packages.sh            keep nothing
#   KEEP=1 build/check-packages.sh     keep the temporary folder (its path is printed)
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/rlmemory-packages.XXXXXX")"
version="$(dotnet msbuild "$repo/Memory/RlMemory.Memory.csproj" -getProperty:VersionPrefix)-check.$(date +%s)"
rid="$(dotnet --info | awk '/^ *RID:/ { print $2; exit }')"
nuget_cache="$(dotnet nuget locals global-packages --list | sed 's/^global-packages: *//')"

cleanup() {
  status=$?
  for id in rlmemory rlmemory.environments rlmemory.memory rlmemory.agents rlmemory.training rlmemory.tool "rlmemory.tool.$rid"; do
    rm -rf "${nuget_cache:?}/$id/$version"
  done
  if [ "${KEEP:-0}" = 1 ]; then echo "Kept $work"; else rm -rf "$work"; fi
  exit $status
}
trap cleanup EXIT

fail() { echo "check-packages: FAILED: $*" >&2; exit 1; }
step() { printf '\n== %s\n' "$*"; }

step "Packing RlMemory $version into $work/feed (tool for $rid)"
dotnet pack "$repo/RlMemory.sln" -c Release -o "$work/feed" --version-suffix "${version#*-}" \
  -p:ToolPackageRuntimeIdentifiers="$rid" -p:ContinuousIntegrationBuild=true -nologo -v:q
ls -l "$work/feed"
for id in RlMemory RlMemory.Environments RlMemory.Memory RlMemory.Agents RlMemory.Training RlMemory.Tool "RlMemory.Tool.$rid"; do
  [ -f "$work/feed/$id.$version.nupkg" ] || fail "no package $id.$version.nupkg"
done

# A user's folder: the local feed first, then nuget.org for TorchSharp and the rest.
cat > "$work/NuGet.config" <<EOF
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <clear />
    <add key="rlmemory-check" value="$work/feed" />
    <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />
  </packageSources>
</configuration>
EOF

step "1. A console project with its own environment: DQN for 4,000 steps, then a GIF"
mkdir -p "$work/corridor"
cat > "$work/corridor/Corridor.csproj" <<EOF
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup>
    <OutputType>Exe</OutputType>
    <TargetFramework>net10.0</TargetFramework>
    <ImplicitUsings>enable</ImplicitUsings>
    <Nullable>enable</Nullable>
  </PropertyGroup>
  <ItemGroup>
    <PackageReference Include="RlMemory" Version="$version" />
  </ItemGroup>
</Project>
EOF
cat > "$work/corridor/Program.cs" <<'EOF'
using RlMemory.Environments;
using RlMemory.Environments.Recording;
using RlMemory.Environments.Rendering;
using RlMemory.Training.Dqn;

EnvRegistry.Register("Corridor-v0", o => new Corridor(o.GetInt("length")), new EnvOptions { { "length", 5 } }, maxEpisodeSteps: 30,
    description: "Walk right along a corridor to its end.");

var config = DqnConfig.FromPreset("dqn-cartpole", "env=Corridor-v0", "n_timesteps=4000", "learning_starts=500",
    "exploration_fraction=0.3", "target_update_interval=200", "eval_freq=2000", "eval_episodes=5", "seed=1");
using var trainer = new DqnTrainer(config);
var result = trainer.Learn();
double mean = result.FinalEvaluation!.MeanReturn;
Console.WriteLine($"Corridor-v0: final evaluation {mean:0.###} after {result.Steps} steps");

var agent = trainer.Agent; // the trainer's: it shares the trained network
using var env = EnvRegistry.Make<int>("Corridor-v0");
RecordingResult video = EpisodeRecorder.Record(env, obs => agent.Act(obs), "corridor.gif", episodes: 2, seed: 7);
Console.WriteLine($"Wrote {video.Path}: {video.FrameCount} frames");
// From any cell, walking right reaches the end within 4 steps (return 1 - 0.01 * steps); a random walk rarely does.
return mean > 0.9 && video.FrameCount >= 2 ? 0 : 1;

sealed class Corridor(int length) : Env<int>(new Box(0f, 1f, 1), new Discrete(2)), IRenderable
{
    private int _position;

    public int RenderWidth => 40 * length;
    public int RenderHeight => 40;
    public int RenderFps => 4;

    public void Render(ICanvas canvas)
    {
        canvas.Clear(new Rgb(255, 255, 255));
        canvas.FillRect(40 * (length - 1), 0, 40, 40, new Rgb(60, 180, 75));
        canvas.FillCircle(40 * _position + 20, 20, 14, new Rgb(0, 90, 200));
    }

    protected override Info ResetCore(Span<float> observation, EnvOptions? options)
    {
        _position = (int)Rng.Integers(0, length - 1);
        observation[0] = (float)_position / (length - 1);
        return Info.Empty;
    }

    protected override StepResult StepCore(int action, Span<float> observation)
    {
        _position = Math.Clamp(_position + (action == 1 ? 1 : -1), 0, length - 1);
        observation[0] = (float)_position / (length - 1);
        bool atEnd = _position == length - 1;
        return new StepResult(atEnd ? 1.0 : -0.01, terminated: atEnd, truncated: false);
    }
}
EOF
(cd "$work/corridor" && dotnet run -c Release) || fail "the console project did not train or record"
[ -s "$work/corridor/corridor.gif" ] || fail "corridor.gif was not written"
out="$work/corridor/bin/Release/net10.0"
libtorch_copies="$(find "$out" -name 'libtorch_cpu.so' -o -name 'torch_cpu.dll' -o -name 'libtorch_cpu.dylib' | wc -l)"
[ "$libtorch_copies" = 1 ] || fail "the output holds $libtorch_copies copies of LibTorch (expected 1): $(find "$out" -name '*torch_cpu*')"
other_platforms="$(find "$out/runtimes" -mindepth 1 -maxdepth 1 ! -name "$rid" -printf '%f ')"
[ -z "$other_platforms" ] || fail "the output holds natives of other platforms: $other_platforms"
app_only="$(find "$out" -maxdepth 1 \( -name 'ScottPlot*.dll' -o -name 'Spectre.Console*.dll' -o -name 'System.CommandLine*.dll' \) -printf '%f ')"
[ -z "$app_only" ] || fail "the library brought the app's packages into the output: $app_only"
if grep -q 'Microsoft.AspNetCore.App' "$out/Corridor.runtimeconfig.json"; then
  fail "the library made the app depend on ASP.NET Core (Kestrel is the rlmemory app's)"
fi
echo "Output folder: $(du -sh "$out" | cut -f1): LibTorch once, natives of $rid only, none of the app's packages."

step "2. An environments-only console project carries no TorchSharp or LibTorch"
mkdir -p "$work/envs-only"
cat > "$work/envs-only/EnvsOnly.csproj" <<EOF
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup>
    <OutputType>Exe</OutputType>
    <TargetFramework>net10.0</TargetFramework>
    <ImplicitUsings>enable</ImplicitUsings>
  </PropertyGroup>
  <ItemGroup>
    <PackageReference Include="RlMemory.Environments" Version="$version" />
  </ItemGroup>
</Project>
EOF
cat > "$work/envs-only/Program.cs" <<'EOF'
using RlMemory.Environments;

using var env = EnvRegistry.Make<int>("CartPole-v1");
env.Reset(seed: 0);
int steps = 0;
for (bool done = false; !done; steps++)
{
    var (_, _, terminated, truncated, _) = env.Step(steps % 2);
    done = terminated || truncated;
}

Console.WriteLine($"CartPole-v1, alternating actions: {steps} steps");
EOF
(cd "$work/envs-only" && dotnet run -c Release) || fail "the environments-only project did not run"
if find "$work/envs-only/bin" -iname '*torch*' | grep -q .; then
  fail "the environments-only output holds torch files: $(find "$work/envs-only/bin" -iname '*torch*' | head -3)"
fi
other_platforms="$(find "$work/envs-only/bin/Release/net10.0/runtimes" -mindepth 1 -maxdepth 1 ! -name "$rid" -printf '%f ')"
[ -z "$other_platforms" ] || fail "the environments-only output holds natives of other platforms: $other_platforms"
echo "Output folder: $(du -sh "$work/envs-only/bin/Release/net10.0" | cut -f1): no torch files, natives of $rid only."

step "3. A file-based app: dotnet run app.cs with #:package RlMemory@$version"
mkdir -p "$work/script"
cat > "$work/script/train.cs" <<EOF
#:package RlMemory@$version
using RlMemory.Training.Dqn;

using var trainer = new DqnTrainer(DqnConfig.FromPreset("dqn-cartpole", "n_timesteps=2000", "eval_freq=0", "eval_episodes=2"));
var result = trainer.Learn();
Console.WriteLine(\$"CartPole-v1: {result.Steps} steps, final evaluation {result.FinalEvaluation!.MeanReturn:0.#}");
EOF
(cd "$work/script" && dotnet run train.cs) || fail "the file-based app did not run"

step "4. The rlmemory tool from the folder"
dotnet tool install --tool-path "$work/tools" --add-source "$work/feed" RlMemory.Tool --version "$version"
"$work/tools/rlmemory" list envs > "$work/envs.txt"
head -3 "$work/envs.txt"
grep -q '^CartPole-v1 ' "$work/envs.txt" || fail "rlmemory list envs does not list CartPole-v1"
"$work/tools/rlmemory" train dqn-cartpole --steps 2000 --set eval_freq=0 --set eval_episodes=2 --out "$work/tool-run" --quiet \
  || fail "the installed tool did not train"

step "5. A project with the libraries but no LibTorch backend is refused at build time (RLM1006)"
mkdir -p "$work/no-backend"
cat > "$work/no-backend/NoBackend.csproj" <<EOF
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup>
    <OutputType>Exe</OutputType>
    <TargetFramework>net10.0</TargetFramework>
  </PropertyGroup>
  <ItemGroup>
    <PackageReference Include="RlMemory.Training" Version="$version" />
  </ItemGroup>
</Project>
EOF
echo 'System.Console.WriteLine(typeof(RlMemory.Training.Dqn.DqnTrainer));' > "$work/no-backend/Program.cs"
if (cd "$work/no-backend" && dotnet build -c Release -nologo > "$work/no-backend.log" 2>&1); then
  fail "a project without a LibTorch backend built"
fi
grep -q 'RLM1006' "$work/no-backend.log" || { cat "$work/no-backend.log"; fail "the build failed without RLM1006"; }
grep -o 'error RLM1006: [^[]*' "$work/no-backend.log" | head -1

step "check-packages: every use of the packages worked"
