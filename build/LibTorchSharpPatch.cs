// Makes TorchSharp's libLibTorchSharp.so load against an older system libstdc++.
//
// TorchSharp 0.107's libLibTorchSharp.so needs the symbol version GLIBCXX_3.4.32 from
// libstdc++.so.6, but only for `_ZSt21ios_base_library_initv`, a marker that GCC 13.2+ emits
// and nothing calls. Debian 12's libstdc++ stops at GLIBCXX_3.4.30, so the loader refuses the
// library. Marking that one version need weak (VER_FLG_WEAK in its Elf64_Vernaux entry) lets
// the loader accept it; the build does that to the copy in the output folder, never to the
// NuGet cache.
//
// This file is compiled twice:
// - by MSBuild's RoslynCodeTaskFactory (see /Directory.Build.targets). That compilation sees the
//   netstandard2.0 API only: no Span, no BinaryPrimitives, no File.SetUnixFileMode.
// - by tests/RlMemory.Tests with RLMEMORY_NO_MSBUILD defined, which leaves out the MSBuild task
//   so that the ELF logic can be unit-tested without MSBuild.
#nullable enable

using System;
using System.Collections.Generic;
using System.ComponentModel;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using System.Text;
#if !RLMEMORY_NO_MSBUILD
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;
#endif

namespace RlMemory.Build;

#if !RLMEMORY_NO_MSBUILD
/// <summary>
/// MSBuild task: marks the <c>GLIBCXX_3.4.32</c> need of each given <c>libLibTorchSharp.so</c> weak
/// when the system libstdc++ lacks that version, so that TorchSharp loads on older Linux systems
/// (Debian 12). The file is replaced through a temporary file and a rename, so hard links (for
/// example to the NuGet cache) are never written through. Does nothing on hosts other than Linux.
/// </summary>
public sealed class PatchLibTorchSharp : Task
{
    /// <summary>The <c>libLibTorchSharp.so</c> copies to patch (in an output or publish folder).</summary>
    [Required]
    public ITaskItem[] Files { get; set; } = Array.Empty<ITaskItem>();

    /// <summary>
    /// The system <c>libstdc++.so.6</c> to compare against. When empty, the one the dynamic loader
    /// uses is found from the <c>ldconfig -p</c> cache, then from the standard library directories.
    /// </summary>
    public string? SystemLibStdCxx { get; set; }

    /// <summary>
    /// The output will run on other machines whose libstdc++ is unknown (a .NET tool package): weaken the marker need
    /// whenever only the marker uses it, even where this machine's libstdc++ defines the version. A weak need is harmless
    /// on a libstdc++ that has the version.
    /// </summary>
    public bool ForOtherMachines { get; set; }

    /// <inheritdoc />
    public override bool Execute()
    {
        if (!RuntimeInformation.IsOSPlatform(OSPlatform.Linux))
        {
            Log.LogMessage(MessageImportance.Low, "libLibTorchSharp.so patch: not a Linux host; nothing to do.");
            return true;
        }

        var systemVersions = new Dictionary<ushort, SystemLibStdCxxVersions?>();
        foreach (string path in Files.Select(f => Path.GetFullPath(f.ItemSpec)).Distinct(StringComparer.Ordinal))
        {
            PatchOne(path, systemVersions);
        }

        return !Log.HasLoggedErrors;
    }

    private void PatchOne(string path, Dictionary<ushort, SystemLibStdCxxVersions?> systemVersions)
    {
        ushort machine;
        try
        {
            machine = ElfVersionNeeds.ReadMachine(ElfFileHeader.Read(path));
        }
        catch (InvalidDataException ex)
        {
            LogCorruptLibrary(path, ex);
            return;
        }
        catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
        {
            LogIoError(path, ex);
            return;
        }

        ushort? hostMachine = ElfMachines.OfArchitecture(RuntimeInformation.OSArchitecture);
        if (hostMachine.HasValue && hostMachine.Value != machine)
        {
            Log.LogMessage(
                MessageImportance.Normal,
                $"{path}: left unchanged: it is an {ElfMachines.Describe(machine)} library and this host is "
                + $"{RuntimeInformation.OSArchitecture}, so it cannot load here and the libstdc++ of the machine that will run it is unknown.");
            return;
        }

        if (!systemVersions.TryGetValue(machine, out SystemLibStdCxxVersions? system))
        {
            // Found (or reported missing) once per machine type and task run.
            system = FindSystemLibrary(machine);
            systemVersions.Add(machine, system);
        }

        if (system is null)
        {
            return;
        }

        LibStdCxxAssessment assessment;
        try
        {
            IEnumerable<string> versions = ForOtherMachines
                ? system.Versions.Where(v => v != LibStdCxxMarkerPatch.MarkerVersion)
                : system.Versions;
            assessment = LibStdCxxMarkerPatch.PatchFile(path, versions);
        }
        catch (InvalidDataException ex)
        {
            LogCorruptLibrary(path, ex);
            return;
        }
        catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
        {
            LogIoError(path, ex);
            return;
        }

        switch (assessment.Verdict)
        {
            case LibStdCxxVerdict.Compatible:
                Log.LogMessage(MessageImportance.Low, $"{path}: left unchanged: {system.Path} defines every libstdc++ version it needs.");
                break;
            case LibStdCxxVerdict.MarkerAlreadyWeak:
                Log.LogMessage(MessageImportance.Low, $"{path}: left unchanged: its {LibStdCxxMarkerPatch.MarkerVersion} need is already weak.");
                break;
            case LibStdCxxVerdict.MarkerNeedsWeakening:
                Log.LogMessage(
                    MessageImportance.High,
                    $"Patched {path}: marked its {LibStdCxxMarkerPatch.MarkerVersion} need weak ({system.Path} lacks that version; only the unused marker {LibStdCxxMarkerPatch.MarkerSymbol} needs it).");
                break;
            case LibStdCxxVerdict.Incompatible:
                Log.LogError(
                    null, "RLM1003", null, path, 0, 0, 0, 0,
                    $"{path} needs libstdc++ versions that {system.Path} does not define: {string.Join(", ", assessment.MissingVersions)}. "
                    + $"{assessment.Explanation} The system libstdc++ is too old for this TorchSharp build: install a newer libstdc++6 "
                    + "(the GCC 13 runtime or later, as in Debian 13 or Ubuntu 24.04), or use a TorchSharp package built against an older libstdc++.");
                break;
            default:
                throw new InvalidEnumArgumentException(nameof(assessment.Verdict), (int)assessment.Verdict, typeof(LibStdCxxVerdict));
        }
    }

    private SystemLibStdCxxVersions? FindSystemLibrary(ushort machine)
    {
        string? path = string.IsNullOrEmpty(SystemLibStdCxx)
            ? LibStdCxxLocator.Locate(machine, message => Log.LogMessage(MessageImportance.Low, message))
            : SystemLibStdCxx;
        if (path is null)
        {
            Log.LogError(
                null, "RLM1001", null, null, 0, 0, 0, 0,
                $"Cannot find the system libstdc++.so.6 for {ElfMachines.Describe(machine)} (looked in the ldconfig cache and in "
                + $"{string.Join(", ", LibStdCxxLocator.StandardDirectories)}), so the build cannot tell whether TorchSharp's "
                + "libLibTorchSharp.so will load. Install it (Debian/Ubuntu: `sudo apt-get install libstdc++6`; Fedora: "
                + "`sudo dnf install libstdc++`), or pass its path with -p:RlMemoryLibStdCxxPath=/path/to/libstdc++.so.6.");
            return null;
        }

        if (!File.Exists(path))
        {
            Log.LogError(
                null, "RLM1001", null, null, 0, 0, 0, 0,
                $"RlMemoryLibStdCxxPath is {path}, which does not exist. Point it at the system's libstdc++.so.6, or leave it empty to let the build find it.");
            return null;
        }

        IReadOnlyList<string> versions;
        try
        {
            versions = ElfVersionNeeds.ReadDefinitions(File.ReadAllBytes(path));
        }
        catch (Exception ex) when (ex is InvalidDataException || ex is IOException || ex is UnauthorizedAccessException)
        {
            Log.LogError(
                null, "RLM1002", null, path, 0, 0, 0, 0,
                $"Cannot read the symbol versions of the system libstdc++ at {path}: {ex.Message} "
                + "Reinstall it (Debian/Ubuntu: `sudo apt-get install --reinstall libstdc++6`), or pass another with -p:RlMemoryLibStdCxxPath=/path/to/libstdc++.so.6.");
            return null;
        }

        if (!versions.Any(v => v.StartsWith("GLIBCXX_", StringComparison.Ordinal)))
        {
            Log.LogError(
                null, "RLM1002", null, path, 0, 0, 0, 0,
                $"{path} defines no GLIBCXX_* symbol versions, so it is not a usable libstdc++.so.6. "
                + "Reinstall libstdc++ (Debian/Ubuntu: `sudo apt-get install --reinstall libstdc++6`), or pass another with -p:RlMemoryLibStdCxxPath=/path/to/libstdc++.so.6.");
            return null;
        }

        Log.LogMessage(MessageImportance.Low, $"System libstdc++: {path} (newest {LibStdCxxMarkerPatch.NewestGlibcxx(versions)}).");
        return new SystemLibStdCxxVersions(path, versions);
    }

    private void LogIoError(string path, Exception ex) =>
        Log.LogError(
            null, "RLM1004", null, path, 0, 0, 0, 0,
            $"Could not patch {path}: {ex.Message} Make sure the output folder is writable and no running process holds the file, then build again.");

    private void LogCorruptLibrary(string path, InvalidDataException ex) =>
        Log.LogError(
            null, "RLM1005", null, path, 0, 0, 0, 0,
            $"{path} is not a readable ELF64 shared library: {ex.Message} Delete the project's bin and obj folders and build again; "
            + "if it persists, the NuGet package is damaged: run `dotnet nuget locals global-packages --clear` and restore.");

    private sealed class SystemLibStdCxxVersions
    {
        public SystemLibStdCxxVersions(string path, IReadOnlyList<string> versions)
        {
            Path = path;
            Versions = versions;
        }

        public string Path { get; }

        public IReadOnlyList<string> Versions { get; }
    }
}
#endif

/// <summary>How a <c>libLibTorchSharp.so</c> relates to the system libstdc++ (see <see cref="LibStdCxxMarkerPatch.Assess"/>).</summary>
public enum LibStdCxxVerdict
{
    /// <summary>The system libstdc++ defines every version the library needs: nothing to do.</summary>
    Compatible,

    /// <summary>Only the marker version is missing and its need is already weak: nothing to do.</summary>
    MarkerAlreadyWeak,

    /// <summary>Only the marker version is missing, only the marker symbol uses it, and its need is not yet weak.</summary>
    MarkerNeedsWeakening,

    /// <summary>Other versions are missing, or symbols other than the marker use the marker version: the library cannot be made to load.</summary>
    Incompatible,
}

/// <summary>The result of comparing a library's libstdc++ version needs with the versions the system libstdc++ defines.</summary>
public sealed class LibStdCxxAssessment
{
    internal LibStdCxxAssessment(
        LibStdCxxVerdict verdict, IReadOnlyList<string> missingVersions, IReadOnlyList<string> markerVersionSymbols, string explanation)
    {
        Verdict = verdict;
        MissingVersions = missingVersions;
        MarkerVersionSymbols = markerVersionSymbols;
        Explanation = explanation;
    }

    /// <summary>What to do with the library.</summary>
    public LibStdCxxVerdict Verdict { get; }

    /// <summary>The versions the library needs from <c>libstdc++.so.6</c> that the system does not define, in file order (weak ones included).</summary>
    public IReadOnlyList<string> MissingVersions { get; }

    /// <summary>The dynamic symbols bound to <see cref="LibStdCxxMarkerPatch.MarkerVersion"/>; empty when the library does not need it.</summary>
    public IReadOnlyList<string> MarkerVersionSymbols { get; }

    /// <summary>One or two sentences that explain <see cref="Verdict"/>.</summary>
    public string Explanation { get; }
}

/// <summary>
/// Decides whether the <c>GLIBCXX_3.4.32</c> need of a library may be weakened, and weakens it in a file.
/// </summary>
public static class LibStdCxxMarkerPatch
{
    /// <summary>The soname whose version needs are compared.</summary>
    public const string LibraryName = "libstdc++.so.6";

    /// <summary>The version that GCC 13.2+ attaches to the marker symbol.</summary>
    public const string MarkerVersion = "GLIBCXX_3.4.32";

    /// <summary>The marker symbol (<c>std::ios_base_library_init()</c>): referenced, never called.</summary>
    public const string MarkerSymbol = "_ZSt21ios_base_library_initv";

    /// <summary>
    /// Compares the version needs of <paramref name="image"/> (a whole ELF file) on <see cref="LibraryName"/> with
    /// <paramref name="systemVersions"/>, the version names the system libstdc++ defines.
    /// </summary>
    /// <exception cref="InvalidDataException">The image is not a well-formed little-endian ELF64 file.</exception>
    public static LibStdCxxAssessment Assess(byte[] image, IEnumerable<string> systemVersions)
    {
        if (image is null)
        {
            throw new ArgumentNullException(nameof(image));
        }

        if (systemVersions is null)
        {
            throw new ArgumentNullException(nameof(systemVersions));
        }

        var defined = new HashSet<string>(systemVersions, StringComparer.Ordinal);
        List<ElfVersionNeed> needs = ElfVersionNeeds.ReadNeeds(image).Where(n => n.Library == LibraryName).ToList();
        List<string> missing = needs.Where(n => !defined.Contains(n.Version)).Select(n => n.Version).Distinct(StringComparer.Ordinal).ToList();
        ElfVersionNeed? marker = needs.FirstOrDefault(n => n.Version == MarkerVersion);
        IReadOnlyList<string> markerSymbols = marker is null
            ? Array.Empty<string>()
            : ElfVersionNeeds.ReadSymbolsBoundTo(image, marker.Index);

        if (missing.Count == 0)
        {
            return new LibStdCxxAssessment(
                LibStdCxxVerdict.Compatible, missing, markerSymbols, $"The system defines every version the library needs from {LibraryName}.");
        }

        var problems = new List<string>();
        List<string> otherMissing = missing.Where(v => v != MarkerVersion).ToList();
        if (otherMissing.Count > 0)
        {
            problems.Add($"Besides the marker version {MarkerVersion}, the library needs {string.Join(", ", otherMissing)}, which real code uses.");
        }

        List<string> otherUsers = markerSymbols.Where(s => s != MarkerSymbol).ToList();
        if (otherUsers.Count > 0)
        {
            problems.Add(
                $"{otherUsers.Count} symbol(s) other than the marker {MarkerSymbol} use {MarkerVersion} "
                + $"({string.Join(", ", otherUsers.Take(5))}{(otherUsers.Count > 5 ? ", ..." : "")}), so weakening it would leave them unresolved.");
        }

        if (problems.Count > 0)
        {
            return new LibStdCxxAssessment(LibStdCxxVerdict.Incompatible, missing, markerSymbols, string.Join(" ", problems));
        }

        // Only the marker version is missing, and nothing but the marker uses it.
        return marker!.IsWeak
            ? new LibStdCxxAssessment(
                LibStdCxxVerdict.MarkerAlreadyWeak, missing, markerSymbols, $"The need for {MarkerVersion} is already weak.")
            : new LibStdCxxAssessment(
                LibStdCxxVerdict.MarkerNeedsWeakening, missing, markerSymbols, $"Only the marker {MarkerSymbol} uses {MarkerVersion}, which the system lacks.");
    }

    /// <summary>
    /// Assesses the ELF file at <paramref name="path"/> and, when the verdict is
    /// <see cref="LibStdCxxVerdict.MarkerNeedsWeakening"/>, weakens the marker version need in it. The patched bytes go
    /// to a temporary file in the same folder (a copy of the original, so it keeps its permissions) that is flushed,
    /// given the original's last-write time and renamed over the original. A file that <paramref name="path"/> is a hard or
    /// symbolic link to (such as a NuGet cache entry) is thus left untouched; <paramref name="path"/> becomes a regular
    /// file with the target's last-write time. With any other verdict the file is not touched.
    /// </summary>
    /// <returns>The assessment of the file as it was before this call.</returns>
    /// <exception cref="InvalidDataException">The file is not a well-formed little-endian ELF64 file; it is left unchanged.</exception>
    /// <exception cref="IOException">The file could not be read or replaced; it is left unchanged.</exception>
    public static LibStdCxxAssessment PatchFile(string path, IEnumerable<string> systemVersions)
    {
        if (path is null)
        {
            throw new ArgumentNullException(nameof(path));
        }

        byte[] original = File.ReadAllBytes(path);
        LibStdCxxAssessment assessment = Assess(original, systemVersions);
        if (assessment.Verdict != LibStdCxxVerdict.MarkerNeedsWeakening)
        {
            return assessment;
        }

        byte[] patched = (byte[])original.Clone();
        if (!ElfVersionNeeds.MarkWeak(patched, LibraryName, MarkerVersion))
        {
            throw new InvalidOperationException($"{path}: the {MarkerVersion} need was assessed as not weak but is weak; this is a bug in {nameof(LibStdCxxMarkerPatch)}.");
        }

        ReplaceContents(path, patched);
        return assessment;
    }

    /// <summary>The highest <c>GLIBCXX_3.4.N</c> among <paramref name="versions"/>, or "none".</summary>
    public static string NewestGlibcxx(IEnumerable<string> versions)
    {
        const string prefix = "GLIBCXX_3.4.";
        string newest = "none";
        int newestMinor = -1;
        foreach (string v in versions)
        {
            if (v.StartsWith(prefix, StringComparison.Ordinal) && int.TryParse(v.Substring(prefix.Length), out int minor) && minor > newestMinor)
            {
                newest = v;
                newestMinor = minor;
            }
        }

        return newest;
    }

    private static void ReplaceContents(string path, byte[] contents)
    {
        string fullPath = Path.GetFullPath(path);
        DateTime lastWrite = File.GetLastWriteTimeUtc(fullPath);
        string temp = Path.Combine(
            Path.GetDirectoryName(fullPath) ?? throw new ArgumentException($"{fullPath} has no parent folder.", nameof(path)),
            "." + Path.GetFileName(fullPath) + "." + Guid.NewGuid().ToString("N") + ".tmp");
        bool isSymbolicLink = (File.GetAttributes(fullPath) & FileAttributes.ReparsePoint) != 0;
        try
        {
            // File.Copy creates a new inode with the original's permission bits; the contents are then overwritten.
            File.Copy(fullPath, temp);
            if (isSymbolicLink)
            {
                // A symbolic link's own time is not its target's. File.Copy follows the link and keeps the target's
                // last-write time, which is what MSBuild's incremental copy compares with the package file.
                lastWrite = File.GetLastWriteTimeUtc(temp);
            }

            using (var stream = new FileStream(temp, FileMode.Open, FileAccess.Write, FileShare.None))
            {
                stream.Write(contents, 0, contents.Length);
                stream.SetLength(contents.Length);
                stream.Flush(flushToDisk: true);
            }

            // Keeping the timestamp lets MSBuild's incremental copy (same size and time) skip the file next build.
            File.SetLastWriteTimeUtc(temp, lastWrite);
            File.Replace(temp, fullPath, destinationBackupFileName: null);
        }
        finally
        {
            if (File.Exists(temp))
            {
                File.Delete(temp);
            }
        }
    }
}

/// <summary>One entry of an ELF <c>.gnu.version_r</c> section: a symbol version needed from one shared library (an <c>Elf64_Vernaux</c>).</summary>
public sealed class ElfVersionNeed
{
    internal ElfVersionNeed(string library, string version, ushort index, ushort flags, int flagsOffset)
    {
        Library = library;
        Version = version;
        Index = index;
        Flags = flags;
        FlagsOffset = flagsOffset;
    }

    /// <summary>The needed library's soname (<c>vn_file</c>), for example <c>libstdc++.so.6</c>.</summary>
    public string Library { get; }

    /// <summary>The version name (<c>vna_name</c>), for example <c>GLIBCXX_3.4.32</c>.</summary>
    public string Version { get; }

    /// <summary>The version index (<c>vna_other</c>) that <c>.gnu.version</c> holds for the symbols bound to this version.</summary>
    public ushort Index { get; }

    /// <summary>The entry's flags (<c>vna_flags</c>).</summary>
    public ushort Flags { get; }

    /// <summary>Whether <see cref="ElfVersionNeeds.WeakFlag"/> is set: the loader then tolerates a library that lacks this version.</summary>
    public bool IsWeak => (Flags & ElfVersionNeeds.WeakFlag) != 0;

    /// <summary>The file offset of the entry's <c>vna_flags</c> field.</summary>
    public int FlagsOffset { get; }

    public override string ToString() => $"{Library} {Version} (index {Index}, flags 0x{Flags:x})";
}

/// <summary>
/// Reads and edits the symbol-versioning sections of a little-endian ELF64 file held in memory: version needs
/// (<c>.gnu.version_r</c>), version definitions (<c>.gnu.version_d</c>) and the version of each dynamic symbol
/// (<c>.dynsym</c> with <c>.gnu.version</c>). Sections are found by type, names through each section's <c>sh_link</c>
/// string table. Every offset is bounds-checked: malformed input throws <see cref="InvalidDataException"/>.
/// </summary>
public static class ElfVersionNeeds
{
    /// <summary><c>VER_FLG_WEAK</c>: in <c>vna_flags</c>, a missing version is not fatal to the loader.</summary>
    public const ushort WeakFlag = 0x2;

    /// <summary>Returns the <c>e_machine</c> of an ELF64 little-endian file from its first bytes (at least 64).</summary>
    /// <exception cref="InvalidDataException">The bytes do not start a little-endian ELF64 header.</exception>
    public static ushort ReadMachine(byte[] header) => ElfImage.CheckIdentification(header);

    /// <summary>Returns every version need in file order.</summary>
    /// <exception cref="InvalidDataException">The image is not a well-formed little-endian ELF64 file.</exception>
    public static IReadOnlyList<ElfVersionNeed> ReadNeeds(byte[] image) => new ElfImage(image).ReadNeeds();

    /// <summary>Returns the names of the versions the file defines, in file order, without the base entry (the file's own soname).</summary>
    /// <exception cref="InvalidDataException">The image is not a well-formed little-endian ELF64 file.</exception>
    public static IReadOnlyList<string> ReadDefinitions(byte[] image) => new ElfImage(image).ReadDefinitions();

    /// <summary>Returns the names of the dynamic symbols whose <c>.gnu.version</c> entry (hidden bit masked) is <paramref name="versionIndex"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="versionIndex"/> is 0 or 1 (local, global), which name no version.</exception>
    /// <exception cref="InvalidDataException">The image is not a well-formed little-endian ELF64 file.</exception>
    public static IReadOnlyList<string> ReadSymbolsBoundTo(byte[] image, ushort versionIndex)
    {
        if (versionIndex < 2)
        {
            throw new ArgumentOutOfRangeException(nameof(versionIndex), versionIndex, "Version indices 0 and 1 mean local and global; real versions start at 2.");
        }

        return new ElfImage(image).ReadSymbolsBoundTo(versionIndex);
    }

    /// <summary>
    /// Sets <see cref="WeakFlag"/> on the need for <paramref name="version"/> of <paramref name="library"/> in
    /// <paramref name="image"/>. Only that one flags field changes; the whole image is validated before the write.
    /// </summary>
    /// <returns><see langword="true"/> if the flag was set now, <see langword="false"/> if it was already set (the image is unchanged).</returns>
    /// <exception cref="ArgumentException">The image has no such need.</exception>
    /// <exception cref="InvalidDataException">The image is not a well-formed little-endian ELF64 file.</exception>
    public static bool MarkWeak(byte[] image, string library, string version)
    {
        ElfVersionNeed need = ReadNeeds(image).FirstOrDefault(n => n.Library == library && n.Version == version)
            ?? throw new ArgumentException($"The ELF image does not need version {version} of {library}.", nameof(version));
        if (need.IsWeak)
        {
            return false;
        }

        ushort flags = (ushort)(need.Flags | WeakFlag);
        image[need.FlagsOffset] = (byte)flags;
        image[need.FlagsOffset + 1] = (byte)(flags >> 8);
        return true;
    }
}

/// <summary>Finds the <c>libstdc++.so.6</c> that the dynamic loader resolves for a given machine type.</summary>
public static class LibStdCxxLocator
{
    /// <summary>The soname looked for.</summary>
    public const string SoName = "libstdc++.so.6";

    /// <summary>Directories searched, in order, when the ldconfig cache names no usable candidate.</summary>
    public static readonly IReadOnlyList<string> StandardDirectories = new[]
    {
        "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib/aarch64-linux-gnu", "/usr/lib/aarch64-linux-gnu",
        "/lib64", "/usr/lib64", "/lib", "/usr/lib",
    };

    private static readonly string[] LdconfigPaths = { "/sbin/ldconfig", "/usr/sbin/ldconfig", "/bin/ldconfig", "/usr/bin/ldconfig" };

    /// <summary>
    /// Returns the path of the first <c>libstdc++.so.6</c> for <paramref name="machine"/> (an ELF <c>e_machine</c>)
    /// listed by <c>ldconfig -p</c> (the loader's cache), else found in <see cref="StandardDirectories"/>; null if none.
    /// <paramref name="trace"/> receives a line for each candidate rejected and for an ldconfig that could not run.
    /// </summary>
    public static string? Locate(ushort machine, Action<string> trace)
    {
        if (trace is null)
        {
            throw new ArgumentNullException(nameof(trace));
        }

        IEnumerable<string> candidates = ReadLdconfigCache(trace)
            .Concat(StandardDirectories.Select(d => d + "/" + SoName));
        foreach (string candidate in candidates.Distinct(StringComparer.Ordinal))
        {
            if (!File.Exists(candidate))
            {
                continue;
            }

            ushort candidateMachine;
            try
            {
                candidateMachine = ElfVersionNeeds.ReadMachine(ElfFileHeader.Read(candidate));
            }
            catch (InvalidDataException ex)
            {
                trace($"Skipping {candidate}: {ex.Message}");
                continue;
            }

            if (candidateMachine == machine)
            {
                return candidate;
            }

            trace($"Skipping {candidate}: it is for {ElfMachines.Describe(candidateMachine)}, not {ElfMachines.Describe(machine)}.");
        }

        return null;
    }

    /// <summary>Returns the paths that <c>ldconfig -p</c> output lists for <see cref="SoName"/>, in order.</summary>
    public static IReadOnlyList<string> ParseLdconfigCache(string ldconfigOutput)
    {
        if (ldconfigOutput is null)
        {
            throw new ArgumentNullException(nameof(ldconfigOutput));
        }

        var paths = new List<string>();
        foreach (string rawLine in ldconfigOutput.Split('\n'))
        {
            // Format: "\tlibstdc++.so.6 (libc6,x86-64) => /lib/x86_64-linux-gnu/libstdc++.so.6"
            string line = rawLine.Trim();
            int arrow = line.IndexOf(" => ", StringComparison.Ordinal);
            if (arrow > 0 && line.StartsWith(SoName + " ", StringComparison.Ordinal))
            {
                paths.Add(line.Substring(arrow + 4).Trim());
            }
        }

        return paths;
    }

    private static IReadOnlyList<string> ReadLdconfigCache(Action<string> trace)
    {
        string? ldconfig = LdconfigPaths.FirstOrDefault(File.Exists);
        if (ldconfig is null)
        {
            trace($"ldconfig not found in {string.Join(", ", LdconfigPaths)}; searching the standard directories.");
            return Array.Empty<string>();
        }

        var start = new ProcessStartInfo(ldconfig, "-p")
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            CreateNoWindow = true,
        };
        Process? process;
        try
        {
            process = Process.Start(start);
        }
        catch (Win32Exception ex)
        {
            trace($"Could not run {ldconfig} -p ({ex.Message}); searching the standard directories.");
            return Array.Empty<string>();
        }

        if (process is null)
        {
            trace($"{ldconfig} -p did not start; searching the standard directories.");
            return Array.Empty<string>();
        }

        using (process)
        {
            var errors = process.StandardError.ReadToEndAsync();
            string output = process.StandardOutput.ReadToEnd();
            if (!process.WaitForExit(30_000))
            {
                process.Kill();
                trace($"{ldconfig} -p did not finish within 30 s; searching the standard directories.");
                return Array.Empty<string>();
            }

            if (process.ExitCode != 0)
            {
                trace($"{ldconfig} -p failed with exit code {process.ExitCode} ({errors.Result.Trim()}); searching the standard directories.");
                return Array.Empty<string>();
            }

            return ParseLdconfigCache(output);
        }
    }
}

/// <summary>ELF <c>e_machine</c> values this build cares about.</summary>
public static class ElfMachines
{
    /// <summary><c>EM_X86_64</c>.</summary>
    public const ushort X86_64 = 62;

    /// <summary><c>EM_AARCH64</c>.</summary>
    public const ushort AArch64 = 183;

    /// <summary>The <c>e_machine</c> of native code for <paramref name="architecture"/>, or null if this build does not know it.</summary>
    public static ushort? OfArchitecture(Architecture architecture) => architecture switch
    {
        Architecture.X64 => X86_64,
        Architecture.Arm64 => AArch64,
        _ => null,
    };

    /// <summary>A readable name for <paramref name="machine"/>.</summary>
    public static string Describe(ushort machine) => machine switch
    {
        X86_64 => "x86-64",
        AArch64 => "AArch64",
        _ => $"ELF machine {machine}",
    };
}

/// <summary>Reads the first bytes of a file, enough for <see cref="ElfVersionNeeds.ReadMachine"/>.</summary>
internal static class ElfFileHeader
{
    public static byte[] Read(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        var header = new byte[ElfImage.HeaderSize];
        int total = 0;
        int read;
        while (total < header.Length && (read = stream.Read(header, total, header.Length - total)) > 0)
        {
            total += read;
        }

        if (total < header.Length)
        {
            Array.Resize(ref header, total);
        }

        return header;
    }
}

/// <summary>A bounds-checked view of a little-endian ELF64 image and its section headers.</summary>
internal sealed class ElfImage
{
    public const int HeaderSize = 64;

    private const int SectionHeaderSize = 64;
    private const int SymbolSize = 24;
    private const int VerneedSize = 16;
    private const int VernauxSize = 16;
    private const int VerdefSize = 20;
    private const int VerdauxSize = 8;
    private const uint ShtStrtab = 3;
    private const uint ShtDynsym = 11;
    private const uint ShtGnuVerdef = 0x6ffffffd;
    private const uint ShtGnuVerneed = 0x6ffffffe;
    private const uint ShtGnuVersym = 0x6fffffff;
    private const ushort VerFlgBase = 0x1;

    private readonly byte[] bytes;
    private readonly List<Section> sections;

    public ElfImage(byte[] image)
    {
        bytes = image ?? throw new ArgumentNullException(nameof(image));
        CheckIdentification(bytes);
        sections = ReadSectionHeaders();
    }

    /// <summary>Checks the identification bytes and returns <c>e_machine</c>.</summary>
    public static ushort CheckIdentification(byte[] header)
    {
        if (header is null)
        {
            throw new ArgumentNullException(nameof(header));
        }

        if (header.Length < 4 || header[0] != 0x7F || header[1] != (byte)'E' || header[2] != (byte)'L' || header[3] != (byte)'F')
        {
            throw new InvalidDataException("Not an ELF file: it does not start with the bytes 7F 'E' 'L' 'F'.");
        }

        if (header.Length < HeaderSize)
        {
            throw new InvalidDataException($"The ELF file is truncated: it has {header.Length} bytes, fewer than the {HeaderSize}-byte ELF64 header.");
        }

        if (header[4] != 2)
        {
            throw new InvalidDataException($"Only 64-bit ELF files are supported; this one has class {header[4]} ({(header[4] == 1 ? "ELFCLASS32, 32-bit" : "invalid")}).");
        }

        if (header[5] != 1)
        {
            throw new InvalidDataException($"Only little-endian ELF files are supported; this one has data encoding {header[5]} ({(header[5] == 2 ? "ELFDATA2MSB, big-endian" : "invalid")}).");
        }

        return (ushort)(header[0x12] | header[0x13] << 8);
    }

    public IReadOnlyList<ElfVersionNeed> ReadNeeds()
    {
        var needs = new List<ElfVersionNeed>();
        Section? section = FindSingle(ShtGnuVerneed, ".gnu.version_r");
        if (section is null)
        {
            return needs;
        }

        Section strings = LinkedStrings(section, ".gnu.version_r");
        long entry = section.Offset;
        for (uint i = 0; i < section.Info; i++)
        {
            RequireWithin(section, entry, VerneedSize, "an Elf64_Verneed entry of .gnu.version_r");
            ushort version = U16(entry);
            if (version != 1)
            {
                throw new InvalidDataException($"Unsupported Elf64_Verneed version {version} at offset {entry} (expected 1).");
            }

            ushort count = U16(entry + 2);
            string library = ReadString(strings, U32(entry + 4), "a vn_file name");
            long aux = entry + U32(entry + 8);
            for (int j = 0; j < count; j++)
            {
                RequireWithin(section, aux, VernauxSize, "an Elf64_Vernaux entry of .gnu.version_r");
                ushort flags = U16(aux + 4);
                ushort other = U16(aux + 6);
                string name = ReadString(strings, U32(aux + 8), "a vna_name");
                needs.Add(new ElfVersionNeed(library, name, other, flags, checked((int)(aux + 4))));
                uint nextAux = U32(aux + 12);
                if (nextAux == 0)
                {
                    if (j != count - 1)
                    {
                        throw new InvalidDataException($"The Elf64_Verneed entry for {library} at offset {entry} announces {count} versions but chains only {j + 1}.");
                    }

                    break;
                }

                aux += nextAux;
            }

            uint next = U32(entry + 12);
            if (next == 0)
            {
                break;
            }

            entry += next;
        }

        return needs;
    }

    public IReadOnlyList<string> ReadDefinitions()
    {
        var names = new List<string>();
        Section? section = FindSingle(ShtGnuVerdef, ".gnu.version_d");
        if (section is null)
        {
            return names;
        }

        Section strings = LinkedStrings(section, ".gnu.version_d");
        long entry = section.Offset;
        for (uint i = 0; i < section.Info; i++)
        {
            RequireWithin(section, entry, VerdefSize, "an Elf64_Verdef entry of .gnu.version_d");
            ushort version = U16(entry);
            if (version != 1)
            {
                throw new InvalidDataException($"Unsupported Elf64_Verdef version {version} at offset {entry} (expected 1).");
            }

            ushort flags = U16(entry + 2);
            ushort auxCount = U16(entry + 6);
            if ((flags & VerFlgBase) == 0 && auxCount > 0)
            {
                long aux = entry + U32(entry + 12);
                RequireWithin(section, aux, VerdauxSize, "an Elf64_Verdaux entry of .gnu.version_d");
                string name = ReadString(strings, U32(aux), "a vda_name");
                if (!names.Contains(name))
                {
                    names.Add(name);
                }
            }

            uint next = U32(entry + 16);
            if (next == 0)
            {
                break;
            }

            entry += next;
        }

        return names;
    }

    public IReadOnlyList<string> ReadSymbolsBoundTo(ushort versionIndex)
    {
        var names = new List<string>();
        Section? versym = FindSingle(ShtGnuVersym, ".gnu.version");
        Section? dynsym = FindSingle(ShtDynsym, ".dynsym");
        if (versym is null)
        {
            return names;
        }

        if (dynsym is null)
        {
            throw new InvalidDataException("The ELF file has a .gnu.version section but no .dynsym section for it to describe.");
        }

        if (dynsym.EntrySize != SymbolSize)
        {
            throw new InvalidDataException($"The .dynsym entry size is {dynsym.EntrySize}; ELF64 symbols are {SymbolSize} bytes.");
        }

        long count = dynsym.Size / SymbolSize;
        if (versym.Size < count * 2)
        {
            throw new InvalidDataException($"The .gnu.version section has {versym.Size / 2} entries for {count} dynamic symbols.");
        }

        Section strings = LinkedStrings(dynsym, ".dynsym");
        for (long i = 0; i < count; i++)
        {
            if ((U16(versym.Offset + (2 * i)) & 0x7fff) == versionIndex)
            {
                names.Add(ReadString(strings, U32(dynsym.Offset + (SymbolSize * i)), "a symbol name"));
            }
        }

        return names;
    }

    private List<Section> ReadSectionHeaders()
    {
        ulong tableOffset = U64(0x28);
        ushort entrySize = U16(0x3A);
        uint count = U16(0x3C);
        if (tableOffset == 0)
        {
            throw new InvalidDataException("The ELF file has no section header table, so its symbol versions cannot be read.");
        }

        if (entrySize != SectionHeaderSize)
        {
            throw new InvalidDataException($"The ELF section header size is {entrySize}; ELF64 section headers are {SectionHeaderSize} bytes.");
        }

        long table = ToOffset(tableOffset, "the section header table offset");
        Require(table, SectionHeaderSize, "the section header table");
        if (count == 0)
        {
            // Extended numbering: the real count is in sh_size of section 0.
            ulong extendedCount = U64(table + 32);
            if (extendedCount > uint.MaxValue)
            {
                throw new InvalidDataException($"The ELF file is corrupt: it claims {extendedCount} sections.");
            }

            count = (uint)extendedCount;
        }

        Require(table, (long)count * SectionHeaderSize, $"the section header table ({count} entries)");
        var result = new List<Section>((int)count);
        for (uint i = 0; i < count; i++)
        {
            long h = table + ((long)i * SectionHeaderSize);
            var section = new Section(
                index: i,
                type: U32(h + 4),
                offset: ToOffset(U64(h + 24), $"the offset of section {i}"),
                size: ToOffset(U64(h + 32), $"the size of section {i}"),
                link: U32(h + 40),
                info: U32(h + 44),
                entrySize: U64(h + 56));
            result.Add(section);
        }

        return result;
    }

    private Section? FindSingle(uint type, string name)
    {
        List<Section> found = sections.Where(s => s.Type == type).ToList();
        if (found.Count > 1)
        {
            throw new InvalidDataException($"The ELF file has {found.Count} {name} sections; a shared library has at most one.");
        }

        if (found.Count == 0)
        {
            return null;
        }

        Section section = found[0];
        Require(section.Offset, section.Size, $"the {name} section (section {section.Index})");

        return section;
    }

    private Section LinkedStrings(Section section, string name)
    {
        if (section.Link == 0 || section.Link >= sections.Count)
        {
            throw new InvalidDataException($"The {name} section links to section {section.Link}, which does not exist (the file has {sections.Count}).");
        }

        Section strings = sections[(int)section.Link];
        if (strings.Type != ShtStrtab)
        {
            throw new InvalidDataException($"The {name} section links to section {strings.Index}, which is of type 0x{strings.Type:x}, not a string table.");
        }

        Require(strings.Offset, strings.Size, $"the string table (section {strings.Index}) of {name}");
        return strings;
    }

    private string ReadString(Section strings, uint offset, string what)
    {
        if (offset >= strings.Size)
        {
            throw new InvalidDataException($"{what} points at offset {offset} of a string table of {strings.Size} bytes.");
        }

        long start = strings.Offset + offset;
        long end = strings.Offset + strings.Size;
        long zero = start;
        while (zero < end && bytes[zero] != 0)
        {
            zero++;
        }

        if (zero == end)
        {
            throw new InvalidDataException($"{what} at offset {start} is not terminated within its string table.");
        }

        return Encoding.UTF8.GetString(bytes, (int)start, (int)(zero - start));
    }

    private void RequireWithin(Section section, long offset, long length, string what)
    {
        if (offset < section.Offset || offset + length > section.Offset + section.Size)
        {
            throw new InvalidDataException(
                $"The ELF file is corrupt: {what} at offset {offset} lies outside its section (offsets {section.Offset} to {section.Offset + section.Size}).");
        }
    }

    private void Require(long offset, long length, string what)
    {
        if (offset < 0 || length < 0 || offset > bytes.Length || length > bytes.Length - offset)
        {
            throw new InvalidDataException(
                $"The ELF file is truncated or corrupt: {what} spans bytes {offset} to {offset + length}, but the file has {bytes.Length} bytes.");
        }
    }

    private long ToOffset(ulong value, string what)
    {
        if (value > int.MaxValue)
        {
            throw new InvalidDataException($"The ELF file is corrupt: {what} is {value}, beyond any file this tool reads.");
        }

        return (long)value;
    }

    private ushort U16(long offset)
    {
        Require(offset, 2, "a 16-bit field");
        return (ushort)(bytes[offset] | bytes[offset + 1] << 8);
    }

    private uint U32(long offset)
    {
        Require(offset, 4, "a 32-bit field");
        return bytes[offset] | (uint)bytes[offset + 1] << 8 | (uint)bytes[offset + 2] << 16 | (uint)bytes[offset + 3] << 24;
    }

    private ulong U64(long offset) => U32(offset) | (ulong)U32(offset + 4) << 32;

    private sealed class Section
    {
        public Section(uint index, uint type, long offset, long size, uint link, uint info, ulong entrySize)
        {
            Index = index;
            Type = type;
            Offset = offset;
            Size = size;
            Link = link;
            Info = info;
            EntrySize = entrySize;
        }

        public uint Index { get; }

        public uint Type { get; }

        public long Offset { get; }

        public long Size { get; }

        public uint Link { get; }

        public uint Info { get; }

        public ulong EntrySize { get; }
    }
}
