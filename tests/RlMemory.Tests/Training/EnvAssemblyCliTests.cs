using System.Diagnostics;
using RlMemory.App;
using RlMemory.Environments;

namespace RlMemory.Tests.Training;

/// <summary>
/// The command line with the user's own environments: a small environment project, built by the test with
/// <c>dotnet build</c>, is loaded with <c>--env-assembly</c>; <c>train</c> records it in the run folder by its qualified id
/// (<c>fullpath.dll:Id</c>), so <c>eval</c> needs no option. Bad assemblies are refused with one clear line.
/// </summary>
public sealed class EnvAssemblyCliTests : IClassFixture<EnvAssemblyCliTests.UserEnvironmentProject>, IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"rlmemory-envasm-{Guid.NewGuid():N}");
    private readonly UserEnvironmentProject _project;

    public EnvAssemblyCliTests(UserEnvironmentProject project)
    {
        _project = project;
        Directory.CreateDirectory(_dir);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Train_WithEnvAssembly_RecordsTheQualifiedId_AndEvalOfTheRunNeedsNoOption()
    {
        string run = Path.Combine(_dir, "run");
        var trained = Run("train", "dqn-cartpole", "--env-assembly", _project.AssemblyPath, "--set", "env=UserCorridor-v0",
            "--steps", "1200", "--set", "learning_starts=200", "--set", "eval_freq=0", "--set", "eval_episodes=2", "--out", run, "--quiet");
        Assert.True(trained.Code == 0, trained.Error);

        string qualified = $"{_project.AssemblyPath}:UserCorridor-v0";
        Assert.Contains($"env: {qualified}", File.ReadAllText(Path.Combine(run, "config.yaml")), StringComparison.Ordinal);
        using (var agent = RlMemory.Agents.AgentFile.Load(Path.Combine(run, "final_model.rlagent")))
        {
            Assert.Equal(qualified, agent.EnvId);
        }

        var evaluated = Run("eval", run, "--episodes", "3");
        Assert.True(evaluated.Code == 0, evaluated.Error);
        Assert.Contains("mean return", evaluated.Output, StringComparison.Ordinal);

        // Every episode ends within the corridor's time limit of 12 steps.
        int[] lengths = [.. evaluated.Output.Split('\n').Where(l => l.StartsWith("episode ", StringComparison.Ordinal))
            .Select(l => int.Parse(l[(l.LastIndexOf(' ') + 1)..].Trim(), System.Globalization.CultureInfo.InvariantCulture))];
        Assert.Equal(3, lengths.Length);
        Assert.All(lengths, n => Assert.InRange(n, 1, 12));
    }

    [Fact]
    public void QualifiedIds_WorkEverywhereAnIdIsTaken()
    {
        var random = Run("random", $"{_project.AssemblyPath}:UserCorridor-v0", "--episodes", "2");
        Assert.True(random.Code == 0, random.Error);
        Assert.Contains("episode 2", random.Output, StringComparison.Ordinal);

        var listed = Run("list", "envs", "--env-assembly", _project.AssemblyPath);
        Assert.True(listed.Code == 0, listed.Error);
        Assert.Contains(listed.Output.Split('\n'), l => l.StartsWith("UserCorridor-v0 ", StringComparison.Ordinal) && l.Contains("A corridor built by a test", StringComparison.Ordinal));

        using IEnv<int> env = EnvRegistry.Make<int>($"{_project.AssemblyPath}:UserCorridor-v0", new EnvOptions { { "length", 3 } });
        Assert.Equal("UserCorridor-v0", EnvRegistry.Spec($"{_project.AssemblyPath}:UserCorridor-v0").Id);
        Assert.Equal(_project.AssemblyPath, EnvAssemblies.AssemblyOf("UserCorridor-v0"));
    }

    [Fact]
    public void BadAssemblies_AreRefusedWithOneLineThatSaysWhy()
    {
        string missing = Path.Combine(_dir, "NoSuch.dll");
        var absent = Run("list", "envs", "--env-assembly", missing);
        Assert.Equal(RlMemoryCli.InvalidInput, absent.Code);
        Assert.Contains($"Environment assembly '{missing}' does not exist", absent.Error, StringComparison.Ordinal);

        string text = Path.Combine(_dir, "Text.dll");
        File.WriteAllText(text, "not an assembly");
        var notNet = Run("random", $"{text}:Corridor-v0");
        Assert.Equal(RlMemoryCli.InvalidInput, notNet.Code);
        Assert.Contains("is not a .NET assembly", notNet.Error, StringComparison.Ordinal);

        // An assembly without registrations (xunit's) says what to add.
        string xunit = typeof(Assert).Assembly.Location;
        var empty = Run("list", "envs", "--env-assembly", xunit);
        Assert.Equal(RlMemoryCli.InvalidInput, empty.Code);
        Assert.Contains("registered no environment: add a public class that implements IEnvRegistration", empty.Error, StringComparison.Ordinal);

        var unknown = Run("random", $"{_project.AssemblyPath}:Elsewhere-v0");
        Assert.Equal(RlMemoryCli.InvalidInput, unknown.Code);
        Assert.Contains("does not register 'Elsewhere-v0'", unknown.Error, StringComparison.Ordinal);
        Assert.Single(unknown.Error.Trim().Split('\n'));
    }

    private static (int Code, string Output, string Error) Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = RlMemoryCli.Run(args, output, error);
        return (code, output.ToString(), error.ToString());
    }

    /// <summary>A class library of one environment, built once for the class with <c>dotnet build</c>.</summary>
    public sealed class UserEnvironmentProject : IDisposable
    {
        private readonly string _folder = Path.Combine(Path.GetTempPath(), $"rlmemory-userenvs-{Guid.NewGuid():N}");

        public UserEnvironmentProject()
        {
            Directory.CreateDirectory(_folder);
            string environments = typeof(EnvRegistry).Assembly.Location;
            File.WriteAllText(Path.Combine(_folder, "UserEnvs.csproj"), $"""
                <Project Sdk="Microsoft.NET.Sdk">
                  <PropertyGroup>
                    <TargetFramework>net10.0</TargetFramework>
                    <ImplicitUsings>enable</ImplicitUsings>
                    <Nullable>enable</Nullable>
                    <EnableDynamicLoading>true</EnableDynamicLoading>
                  </PropertyGroup>
                  <ItemGroup>
                    <Reference Include="RlMemory.Environments" HintPath="{environments}" Private="false" />
                  </ItemGroup>
                </Project>
                """);
            File.WriteAllText(Path.Combine(_folder, "Corridor.cs"), """
                using RlMemory.Environments;

                namespace UserEnvs;

                public sealed class Registrations : IEnvRegistration
                {
                    public void Register() => EnvRegistry.Register("UserCorridor-v0", o => new Corridor(o.GetInt("length")),
                        new EnvOptions { { "length", 5 } }, maxEpisodeSteps: 12, description: "A corridor built by a test.");
                }

                public sealed class Corridor(int length) : Env<int>(new Box(0f, 1f, 1), new Discrete(2))
                {
                    private int _position;

                    protected override Info ResetCore(Span<float> observation, EnvOptions? options)
                    {
                        _position = 0;
                        observation[0] = 0;
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
                """);
            string output = Path.Combine(_folder, "out");
            var start = new ProcessStartInfo("dotnet", ["build", "-c", "Release", "-o", output, "-nologo", "-v:q"])
            {
                WorkingDirectory = _folder,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
            foreach (string inherited in new[] { "MSBuildSDKsPath", "MSBuildExtensionsPath", "MSBUILD_EXE_PATH", "MSBuildLoadMicrosoftTargetsReadOnly" })
            {
                start.Environment.Remove(inherited);
            }
            using Process build = Process.Start(start)!;
            string log = build.StandardOutput.ReadToEnd() + build.StandardError.ReadToEnd();
            build.WaitForExit();
            Assert.True(build.ExitCode == 0, $"dotnet build of the user's environment project failed:\n{log}");
            AssemblyPath = Path.Combine(output, "UserEnvs.dll");
        }

        /// <summary>The built assembly's full path.</summary>
        public string AssemblyPath { get; }

        public void Dispose() => Directory.Delete(_folder, recursive: true);
    }
}
