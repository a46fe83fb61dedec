using System.Runtime.InteropServices;
using RlMemory.Build;

namespace RlMemory.Tests.Build;

/// <summary>
/// What the build step (Directory.Build.targets) left in this test project's own output folder, and that it never
/// wrote to the NuGet cache.
/// </summary>
public sealed class BuildOutputCopyTests
{
    private const string Marker = "GLIBCXX_3.4.32";

    [LinuxFact]
    public void OutputCopy_IsPatchedExactlyWhenTheSystemLacksGlibcxx3432()
    {
        string output = Path.Combine(AppContext.BaseDirectory, "libLibTorchSharp.so");
        byte[] packaged = File.ReadAllBytes(PackagedLibTorchSharp.PathInNuGetCache);
        byte[] copied = File.ReadAllBytes(output);

        if (SystemDefines(Marker))
        {
            Assert.Equal(packaged, copied);
        }
        else
        {
            byte[] expected = (byte[])packaged.Clone();
            ElfVersionNeeds.MarkWeak(expected, "libstdc++.so.6", Marker);
            Assert.Equal(expected, copied);
        }

        Assert.Equal(File.GetLastWriteTimeUtc(PackagedLibTorchSharp.PathInNuGetCache), File.GetLastWriteTimeUtc(output));
    }

    [Fact]
    public void NuGetCacheCopy_IsNeverPatched()
    {
        IReadOnlyList<ElfVersionNeed> needs = ElfVersionNeeds.ReadNeeds(File.ReadAllBytes(PackagedLibTorchSharp.PathInNuGetCache));

        Assert.False(Assert.Single(needs, n => n.Version == Marker).IsWeak);
    }

    private static bool SystemDefines(string version)
    {
        ushort machine = ElfMachines.OfArchitecture(RuntimeInformation.OSArchitecture) ?? throw new PlatformNotSupportedException();
        string path = LibStdCxxLocator.Locate(machine, _ => { })
            ?? throw new InvalidOperationException("No libstdc++.so.6 on this host; install libstdc++6.");
        return ElfVersionNeeds.ReadDefinitions(File.ReadAllBytes(path)).Contains(version);
    }
}
