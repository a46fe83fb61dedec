using System.Runtime.InteropServices;
using RlMemory.Build;

namespace RlMemory.Tests.Build;

/// <summary>The ELF reader and the in-memory weak-flag edit, on a copy of the real, unpatched libLibTorchSharp.so.</summary>
public sealed class ElfVersionNeedsTests : IDisposable
{
    private readonly ScratchDirectory scratch = new();
    private readonly string libraryPath;
    private readonly byte[] unpatched;

    public ElfVersionNeedsTests()
    {
        libraryPath = PackagedLibTorchSharp.CopyTo(scratch.Path);
        unpatched = File.ReadAllBytes(libraryPath);
    }

    public void Dispose() => scratch.Dispose();

    [Fact]
    public void UnpatchedLibrary_NeedsGlibcxx3432_ForTheMarkerSymbolOnly()
    {
        IReadOnlyList<ElfVersionNeed> needs = ElfVersionNeeds.ReadNeeds(unpatched);

        ElfVersionNeed marker = Assert.Single(needs, n => n.Version == "GLIBCXX_3.4.32");
        Assert.Equal("libstdc++.so.6", marker.Library);
        Assert.False(marker.IsWeak);
        Assert.Equal(["_ZSt21ios_base_library_initv"], ElfVersionNeeds.ReadSymbolsBoundTo(unpatched, marker.Index));
        Assert.All(needs, n => Assert.False(n.IsWeak));
        Assert.Contains(needs, n => n.Library == "libstdc++.so.6" && n.Version == "GLIBCXX_3.4.30");
        Assert.Contains(needs, n => n.Library == "libc.so.6" && n.Version == "GLIBC_2.34");
    }

    [Fact]
    public void UnpatchedLibrary_OtherLibStdCxxVersionsAreUsedByManySymbols()
    {
        ElfVersionNeed glibcxx3430 = Assert.Single(ElfVersionNeeds.ReadNeeds(unpatched), n => n.Version == "GLIBCXX_3.4.30");

        IReadOnlyList<string> users = ElfVersionNeeds.ReadSymbolsBoundTo(unpatched, glibcxx3430.Index);

        Assert.Contains("_ZNSt18condition_variable4waitERSt11unique_lockISt5mutexE", users);
    }

    [Fact]
    public void MarkWeak_SetsTheWeakFlagOfTheMarkerNeed_AndChangesNothingElse()
    {
        byte[] patched = (byte[])unpatched.Clone();

        Assert.True(ElfVersionNeeds.MarkWeak(patched, "libstdc++.so.6", "GLIBCXX_3.4.32"));

        IReadOnlyList<ElfVersionNeed> before = ElfVersionNeeds.ReadNeeds(unpatched);
        IReadOnlyList<ElfVersionNeed> after = ElfVersionNeeds.ReadNeeds(patched);
        ElfVersionNeed marker = Assert.Single(after, n => n.Version == "GLIBCXX_3.4.32");
        Assert.True(marker.IsWeak);
        Assert.Equal(ElfVersionNeeds.WeakFlag, marker.Flags);
        Assert.Equal(
            before.Where(n => n.Version != "GLIBCXX_3.4.32").Select(n => n.ToString()),
            after.Where(n => n.Version != "GLIBCXX_3.4.32").Select(n => n.ToString()));
        int[] changed = Enumerable.Range(0, patched.Length).Where(i => patched[i] != unpatched[i]).ToArray();
        Assert.Equal([marker.FlagsOffset], changed);
    }

    [Fact]
    public void MarkWeak_Twice_SecondCallChangesNoByte()
    {
        byte[] patched = (byte[])unpatched.Clone();
        Assert.True(ElfVersionNeeds.MarkWeak(patched, "libstdc++.so.6", "GLIBCXX_3.4.32"));
        byte[] once = (byte[])patched.Clone();

        Assert.False(ElfVersionNeeds.MarkWeak(patched, "libstdc++.so.6", "GLIBCXX_3.4.32"));

        Assert.Equal(once, patched);
    }

    [Fact]
    public void MarkWeak_OfAVersionTheFileDoesNotNeed_Throws_AndChangesNothing()
    {
        byte[] image = (byte[])unpatched.Clone();

        var error = Assert.Throws<ArgumentException>(() => ElfVersionNeeds.MarkWeak(image, "libstdc++.so.6", "GLIBCXX_9.9"));

        Assert.Contains("GLIBCXX_9.9", error.Message);
        Assert.Equal(unpatched, image);
    }

    [Theory]
    [InlineData(4)]
    [InlineData(40)]
    [InlineData(64)]
    [InlineData(4096)]
    [InlineData(-1)] // half the file
    [InlineData(-2)] // all but the last byte
    public void TruncatedFile_IsRefused_AndLeftUnchanged(int length)
    {
        int keep = length switch { -1 => unpatched.Length / 2, -2 => unpatched.Length - 1, _ => length };
        byte[] truncated = unpatched[..keep];
        File.WriteAllBytes(libraryPath, truncated);
        DateTime written = File.GetLastWriteTimeUtc(libraryPath);

        var inMemory = Assert.Throws<InvalidDataException>(() => ElfVersionNeeds.ReadNeeds(truncated));
        var onDisk = Assert.Throws<InvalidDataException>(() => LibStdCxxMarkerPatch.PatchFile(libraryPath, ["GLIBCXX_3.4"]));

        Assert.Contains("truncated", inMemory.Message);
        Assert.Equal(inMemory.Message, onDisk.Message);
        Assert.Equal(truncated, File.ReadAllBytes(libraryPath));
        Assert.Equal(written, File.GetLastWriteTimeUtc(libraryPath));
        Assert.Equal(["libLibTorchSharp.so"], scratch.FileNames());
    }

    [Fact]
    public void NonElfFile_IsRefused_AndLeftUnchanged()
    {
        byte[] script = "#!/bin/sh\necho not a library\n"u8.ToArray();
        File.WriteAllBytes(libraryPath, script);

        var error = Assert.Throws<InvalidDataException>(() => LibStdCxxMarkerPatch.PatchFile(libraryPath, ["GLIBCXX_3.4"]));

        Assert.Contains("Not an ELF file", error.Message);
        Assert.Equal(script, File.ReadAllBytes(libraryPath));
        Assert.Equal(["libLibTorchSharp.so"], scratch.FileNames());
    }

    [Theory]
    [InlineData(4, 1, "64-bit")]       // ELFCLASS32
    [InlineData(5, 2, "little-endian")] // ELFDATA2MSB
    public void ElfOtherThan64BitLittleEndian_IsRefusedClearly(int identByte, byte value, string expected)
    {
        byte[] image = (byte[])unpatched.Clone();
        image[identByte] = value;

        var error = Assert.Throws<InvalidDataException>(() => ElfVersionNeeds.ReadNeeds(image));

        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void ReadMachine_OfTheLibrary_IsX86_64()
    {
        Assert.Equal(ElfMachines.X86_64, ElfVersionNeeds.ReadMachine(unpatched[..64]));
    }

    [Fact]
    public void SyntheticLibrary_NeedsAndSymbolVersionsReadBack()
    {
        byte[] image = SyntheticElf.WithNeeds(
            "libstdc++.so.6",
            ["GLIBCXX_3.4", "GLIBCXX_3.4.32"],
            [("_ZSt21ios_base_library_initv", "GLIBCXX_3.4.32"), ("_ZdlPv", "GLIBCXX_3.4"), ("_Znwm", "GLIBCXX_3.4")]);

        IReadOnlyList<ElfVersionNeed> needs = ElfVersionNeeds.ReadNeeds(image);

        Assert.Equal(["GLIBCXX_3.4", "GLIBCXX_3.4.32"], needs.Select(n => n.Version));
        Assert.Equal(["_ZdlPv", "_Znwm"], ElfVersionNeeds.ReadSymbolsBoundTo(image, needs[0].Index));
        Assert.Equal(["_ZSt21ios_base_library_initv"], ElfVersionNeeds.ReadSymbolsBoundTo(image, needs[1].Index));
    }

    [Fact]
    public void SyntheticDefinitions_ReadBackWithoutTheBaseEntry()
    {
        byte[] image = SyntheticElf.WithDefinitions("libstdc++.so.6", ["GLIBCXX_3.4", "GLIBCXX_3.4.1", "CXXABI_1.3"]);

        Assert.Equal(["GLIBCXX_3.4", "GLIBCXX_3.4.1", "CXXABI_1.3"], ElfVersionNeeds.ReadDefinitions(image));
    }

    [LinuxFact]
    public void SystemLibStdCxx_DefinitionsIncludeGlibcxx3430_AndNotItsSoname()
    {
        ushort machine = ElfMachines.OfArchitecture(RuntimeInformation.OSArchitecture) ?? throw new PlatformNotSupportedException();
        string path = LibStdCxxLocator.Locate(machine, _ => { })
            ?? throw new InvalidOperationException("No libstdc++.so.6 on this host; install libstdc++6.");

        IReadOnlyList<string> definitions = ElfVersionNeeds.ReadDefinitions(File.ReadAllBytes(path));

        Assert.Contains("GLIBCXX_3.4.30", definitions);
        Assert.Contains("CXXABI_1.3", definitions);
        Assert.DoesNotContain("libstdc++.so.6", definitions);
    }
}
