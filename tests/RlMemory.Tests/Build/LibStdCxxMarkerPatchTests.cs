using System.Diagnostics;
using System.Runtime.Versioning;
using RlMemory.Build;

namespace RlMemory.Tests.Build;

/// <summary>The decision whether to weaken GLIBCXX_3.4.32, and the patch of a file on disk.</summary>
public sealed class LibStdCxxMarkerPatchTests : IDisposable
{
    private const string Marker = "GLIBCXX_3.4.32";

    private readonly ScratchDirectory scratch = new();
    private readonly string libraryPath;
    private readonly byte[] unpatched;

    /// <summary>What Debian 12's libstdc++ offers this library: every version it needs but GLIBCXX_3.4.32.</summary>
    private readonly string[] debian12Versions;

    public LibStdCxxMarkerPatchTests()
    {
        libraryPath = PackagedLibTorchSharp.CopyTo(scratch.Path);
        unpatched = File.ReadAllBytes(libraryPath);
        debian12Versions = LibStdCxxNeeds(unpatched).Where(v => v != Marker).ToArray();
    }

    public void Dispose() => scratch.Dispose();

    [Fact]
    public void Assess_SystemWithoutMarkerVersion_AsksToWeakenIt()
    {
        LibStdCxxAssessment assessment = LibStdCxxMarkerPatch.Assess(unpatched, debian12Versions);

        Assert.Equal(LibStdCxxVerdict.MarkerNeedsWeakening, assessment.Verdict);
        Assert.Equal([Marker], assessment.MissingVersions);
        Assert.Equal([LibStdCxxMarkerPatch.MarkerSymbol], assessment.MarkerVersionSymbols);
    }

    [Fact]
    public void Assess_SystemWithMarkerVersion_IsCompatible()
    {
        LibStdCxxAssessment assessment = LibStdCxxMarkerPatch.Assess(unpatched, [.. debian12Versions, Marker, "GLIBCXX_3.4.33"]);

        Assert.Equal(LibStdCxxVerdict.Compatible, assessment.Verdict);
        Assert.Empty(assessment.MissingVersions);
    }

    [Fact]
    public void Assess_SystemMissingAnotherVersion_IsIncompatible_AndNamesIt()
    {
        LibStdCxxAssessment assessment = LibStdCxxMarkerPatch.Assess(unpatched, debian12Versions.Where(v => v != "GLIBCXX_3.4.30"));

        Assert.Equal(LibStdCxxVerdict.Incompatible, assessment.Verdict);
        Assert.Equal(["GLIBCXX_3.4.30", Marker], assessment.MissingVersions);
        Assert.Contains("GLIBCXX_3.4.30", assessment.Explanation);
    }

    [Fact]
    public void Assess_PatchedLibrary_ReportsMarkerAlreadyWeak()
    {
        byte[] patched = (byte[])unpatched.Clone();
        ElfVersionNeeds.MarkWeak(patched, "libstdc++.so.6", Marker);

        Assert.Equal(LibStdCxxVerdict.MarkerAlreadyWeak, LibStdCxxMarkerPatch.Assess(patched, debian12Versions).Verdict);
    }

    [Fact]
    public void Assess_OtherSymbolUsingMarkerVersion_IsIncompatible_AndNamesIt()
    {
        byte[] image = SyntheticElf.WithNeeds(
            "libstdc++.so.6",
            ["GLIBCXX_3.4", Marker],
            [(LibStdCxxMarkerPatch.MarkerSymbol, Marker), ("_ZNSt6chrono12tzdb_list5beginEv", Marker), ("_Znwm", "GLIBCXX_3.4")]);

        LibStdCxxAssessment assessment = LibStdCxxMarkerPatch.Assess(image, ["GLIBCXX_3.4"]);

        Assert.Equal(LibStdCxxVerdict.Incompatible, assessment.Verdict);
        Assert.Equal([Marker], assessment.MissingVersions);
        Assert.Contains("_ZNSt6chrono12tzdb_list5beginEv", assessment.Explanation);
    }

    [Fact]
    public void Assess_MarkerVersionOfAnotherLibrary_IsNotConsidered()
    {
        byte[] image = SyntheticElf.WithNeeds("libfoo.so.1", [Marker], [("foo", Marker)]);

        LibStdCxxAssessment assessment = LibStdCxxMarkerPatch.Assess(image, ["GLIBCXX_3.4"]);

        Assert.Equal(LibStdCxxVerdict.Compatible, assessment.Verdict);
    }

    [LinuxFact]
    [SupportedOSPlatform("linux")]
    public void PatchFile_WeakensTheMarkerNeed_KeepingTimestampAndPermissions()
    {
        var lastWrite = new DateTime(2024, 5, 6, 7, 8, 9, DateTimeKind.Utc);
        File.SetLastWriteTimeUtc(libraryPath, lastWrite);
        UnixFileMode mode = File.GetUnixFileMode(libraryPath);

        LibStdCxxAssessment assessment = LibStdCxxMarkerPatch.PatchFile(libraryPath, debian12Versions);

        Assert.Equal(LibStdCxxVerdict.MarkerNeedsWeakening, assessment.Verdict);
        byte[] expected = (byte[])unpatched.Clone();
        ElfVersionNeeds.MarkWeak(expected, "libstdc++.so.6", Marker);
        Assert.Equal(expected, File.ReadAllBytes(libraryPath));
        Assert.Equal(lastWrite, File.GetLastWriteTimeUtc(libraryPath));
        Assert.Equal(mode, File.GetUnixFileMode(libraryPath));
        Assert.Equal(["libLibTorchSharp.so"], scratch.FileNames());
    }

    [Fact]
    public void PatchFile_Twice_SecondCallLeavesTheFileUntouched()
    {
        LibStdCxxMarkerPatch.PatchFile(libraryPath, debian12Versions);
        byte[] once = File.ReadAllBytes(libraryPath);
        var marker = new DateTime(2020, 1, 2, 3, 4, 5, DateTimeKind.Utc); // a time no patch would produce
        File.SetLastWriteTimeUtc(libraryPath, marker);

        LibStdCxxAssessment second = LibStdCxxMarkerPatch.PatchFile(libraryPath, debian12Versions);

        Assert.Equal(LibStdCxxVerdict.MarkerAlreadyWeak, second.Verdict);
        Assert.Equal(once, File.ReadAllBytes(libraryPath));
        Assert.Equal(marker, File.GetLastWriteTimeUtc(libraryPath));
    }

    [Fact]
    public void PatchFile_CompatibleSystem_LeavesTheFileUntouched()
    {
        var lastWrite = new DateTime(2021, 2, 3, 4, 5, 6, DateTimeKind.Utc);
        File.SetLastWriteTimeUtc(libraryPath, lastWrite);

        LibStdCxxAssessment assessment = LibStdCxxMarkerPatch.PatchFile(libraryPath, [.. debian12Versions, Marker]);

        Assert.Equal(LibStdCxxVerdict.Compatible, assessment.Verdict);
        Assert.Equal(unpatched, File.ReadAllBytes(libraryPath));
        Assert.Equal(lastWrite, File.GetLastWriteTimeUtc(libraryPath));
    }

    [LinuxFact]
    public void PatchFile_OfAHardLinkedCopy_LeavesTheOtherLinkUnchanged()
    {
        Directory.CreateDirectory(scratch.Combine("out"));
        string output = scratch.Combine("out/libLibTorchSharp.so");
        CreateHardLink(libraryPath, output);

        LibStdCxxMarkerPatch.PatchFile(output, debian12Versions);

        Assert.Equal(unpatched, File.ReadAllBytes(libraryPath));
        ElfVersionNeed patchedMarker = Assert.Single(ElfVersionNeeds.ReadNeeds(File.ReadAllBytes(output)), n => n.Version == Marker);
        Assert.True(patchedMarker.IsWeak);
    }

    [LinuxFact]
    public void PatchFile_OfASymbolicLink_ReplacesTheLinkWithAPatchedFileWithTheTargetsTime()
    {
        var targetTime = new DateTime(2022, 3, 4, 5, 6, 7, DateTimeKind.Utc);
        File.SetLastWriteTimeUtc(libraryPath, targetTime);
        Directory.CreateDirectory(scratch.Combine("out"));
        string output = scratch.Combine("out/libLibTorchSharp.so");
        File.CreateSymbolicLink(output, libraryPath);

        LibStdCxxMarkerPatch.PatchFile(output, debian12Versions);

        Assert.Equal(unpatched, File.ReadAllBytes(libraryPath));
        Assert.Null(new FileInfo(output).LinkTarget);
        Assert.True(Assert.Single(ElfVersionNeeds.ReadNeeds(File.ReadAllBytes(output)), n => n.Version == Marker).IsWeak);
        Assert.Equal(targetTime, File.GetLastWriteTimeUtc(output));
    }

    [Fact]
    public void NewestGlibcxx_ComparesMinorVersionsNumerically()
    {
        Assert.Equal("GLIBCXX_3.4.30", LibStdCxxMarkerPatch.NewestGlibcxx(["GLIBCXX_3.4", "GLIBCXX_3.4.9", "GLIBCXX_3.4.30", "GLIBCXX_3.4.4", "CXXABI_1.3.13"]));
        Assert.Equal("none", LibStdCxxMarkerPatch.NewestGlibcxx(["CXXABI_1.3"]));
    }

    private static string[] LibStdCxxNeeds(byte[] image) =>
        ElfVersionNeeds.ReadNeeds(image).Where(n => n.Library == "libstdc++.so.6").Select(n => n.Version).ToArray();

    private static void CreateHardLink(string existing, string link)
    {
        var start = new ProcessStartInfo("ln") { ArgumentList = { existing, link }, RedirectStandardError = true };
        using Process ln = Process.Start(start) ?? throw new InvalidOperationException("Could not start ln.");
        string errors = ln.StandardError.ReadToEnd();
        ln.WaitForExit();
        Assert.True(ln.ExitCode == 0, $"ln {existing} {link} failed: {errors}");
    }
}
