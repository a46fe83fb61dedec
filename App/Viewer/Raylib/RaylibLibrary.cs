using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using RlMemory.Training;

namespace RlMemory.App.Viewer.Raylib;

/// <summary>Finds and loads the system's raylib shared library at run time.</summary>
internal static partial class RaylibLibrary
{
    /// <summary>An environment variable naming the raylib library file to use (tried first).</summary>
    public const string PathVariable = "RLMEMORY_RAYLIB";

    /// <summary>
    /// The library names and paths tried, in order, on <paramref name="platform"/>: <see cref="PathVariable"/> when set,
    /// then the development name (<c>libraylib.so</c>), then the versioned names raylib's builds install for 5.5, 5.0
    /// and 4.5, each first through the loader's search path and then in <c>/usr/local/lib</c> (where <c>make install</c>
    /// puts it), and last the build of <c>build/raylib.sh</c> in <paramref name="cacheFolder"/>.
    /// </summary>
    public static IReadOnlyList<string> Candidates(OSPlatform platform, string? explicitPath, string? cacheFolder = null)
    {
        var names = new List<string>();
        if (!string.IsNullOrWhiteSpace(explicitPath))
        {
            names.Add(explicitPath);
        }

        if (platform == OSPlatform.Windows)
        {
            names.AddRange(["raylib.dll", "libraylib.dll"]);
        }
        else if (platform == OSPlatform.OSX)
        {
            string[] files = ["libraylib.dylib", "libraylib.550.dylib", "libraylib.500.dylib", "libraylib.5.dylib", "libraylib.450.dylib"];
            names.AddRange(files);
            names.AddRange(files.Select(f => "/opt/homebrew/lib/" + f));
            names.AddRange(files.Select(f => "/usr/local/lib/" + f));
        }
        else
        {
            string[] files = ["libraylib.so", "libraylib.so.550", "libraylib.so.5.5.0", "libraylib.so.500", "libraylib.so.5.0.0", "libraylib.so.5", "libraylib.so.450", "libraylib.so.4.5.0", "libraylib.so.4.5"];
            names.AddRange(files);
            names.AddRange(files.Select(f => "/usr/local/lib/" + f));
            if (!string.IsNullOrWhiteSpace(cacheFolder))
            {
                names.Add(Path.Combine(cacheFolder, "raylib-5.5", "libraylib.so"));
            }
        }

        return names;
    }

    /// <summary>
    /// Where <c>build/raylib.sh</c> builds raylib: <c>$RLMEMORY_CACHE</c>, else <c>$XDG_CACHE_HOME/rlmemory</c>, else
    /// <c>~/.cache/rlmemory</c> (the script's own rule); null when none can be named.
    /// </summary>
    public static string? CacheFolder()
    {
        string? explicitCache = Environment.GetEnvironmentVariable("RLMEMORY_CACHE");
        if (!string.IsNullOrWhiteSpace(explicitCache))
        {
            return explicitCache;
        }

        string? xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        if (!string.IsNullOrWhiteSpace(xdg))
        {
            return Path.Combine(xdg, "rlmemory");
        }

        string home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        return string.IsNullOrEmpty(home) ? null : Path.Combine(home, ".cache", "rlmemory");
    }

    /// <summary>
    /// raylib's version from a library file's name, following links to the real file: <c>libraylib.so.5.5.0</c> and
    /// <c>libraylib.so.550</c> are 5.5.0, <c>libraylib.5.5.0.dylib</c> and <c>libraylib.550.dylib</c> too; null when
    /// the name carries none (e.g. <c>raylib.dll</c> or an unversioned copy).
    /// </summary>
    public static Version? VersionFromFileName(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        string real = path;
        try
        {
            if (Path.IsPathRooted(path) && new FileInfo(path).ResolveLinkTarget(returnFinalTarget: true) is { } target)
            {
                real = target.FullName;
            }
        }
        catch (IOException)
        {
            // A broken or unreadable link: the name given is all there is.
        }

        Match m = VersionedName().Match(Path.GetFileName(real));
        if (!m.Success)
        {
            return null;
        }

        if (m.Groups["major"].Success)
        {
            return new Version(int.Parse(m.Groups["major"].Value, CultureInfo.InvariantCulture), int.Parse(m.Groups["minor"].Value, CultureInfo.InvariantCulture), int.Parse(m.Groups["patch"].Value, CultureInfo.InvariantCulture));
        }

        string packed = m.Groups["packed"].Value;   // raylib's soname form: 550 is 5.5.0
        return new Version(packed[0] - '0', packed[1] - '0', packed[2] - '0');
    }

    /// <summary>
    /// Why the library at <paramref name="path"/> cannot serve the viewer, or null if it can: a file name that says a
    /// version other than 4.5 to 5.x, or (when the name says none) a library without the functions raylib 4.5 added.
    /// </summary>
    public static string? VersionProblem(string path, Version? version, bool hasVersionMarker)
    {
        if (version is not null)
        {
            bool supported = version.Major == 5 || (version.Major == 4 && version.Minor >= 5);
            return supported
                ? null
                : $"{path} is raylib {version.ToString(3)}, and the desktop viewer binds raylib 4.5 to 5.5's C API (another major version lays out its functions and structs differently)";
        }

        return hasVersionMarker
            ? null
            : $"{path} is a raylib older than 4.5 (it lacks {string.Join(" and ", RaylibApi.VersionMarkers)}, one of which every raylib from 4.5 on has)";
    }

    /// <summary>The platform this process runs on, as <see cref="Candidates"/> takes it.</summary>
    public static OSPlatform CurrentPlatform =>
        OperatingSystem.IsWindows() ? OSPlatform.Windows : OperatingSystem.IsMacOS() ? OSPlatform.OSX : OSPlatform.Linux;

    /// <summary>Loads the first candidate that has every function the viewer needs.</summary>
    /// <param name="api">The bound functions.</param>
    /// <param name="failure">Why nothing could be loaded: one line saying what to install (or what the found library lacks), and that the browser viewer needs none of it.</param>
    public static bool TryLoad(out RaylibApi? api, out string failure) =>
        TryLoad(Candidates(CurrentPlatform, Environment.GetEnvironmentVariable(PathVariable), CacheFolder()), out api, out failure);

    /// <summary>Loads the first of <paramref name="candidates"/> that is a raylib 4.5 to 5.x with every function the viewer needs.</summary>
    public static bool TryLoad(IReadOnlyList<string> candidates, out RaylibApi? api, out string failure)
    {
        ArgumentNullException.ThrowIfNull(candidates);
        string? problem = null;
        foreach (string candidate in candidates)
        {
            if (!NativeLibrary.TryLoad(candidate, out nint handle))
            {
                continue;
            }

            api = RaylibApi.Bind(handle, candidate, out IReadOnlyList<string> missing);
            if (api is null)
            {
                problem ??= $"{candidate} lacks {string.Join(", ", missing)}";
                NativeLibrary.Free(handle);
                continue;
            }

            string file = LoadedFile(api.InitWindowAddress) ?? candidate;
            bool marker = RaylibApi.VersionMarkers.Any(name => NativeLibrary.TryGetExport(handle, name, out _));
            if (VersionProblem(file, VersionFromFileName(file), marker) is { } wrong)
            {
                problem ??= wrong;
                NativeLibrary.Free(handle);
                continue;
            }

            failure = string.Empty;
            return true;
        }

        api = null;
        failure = problem is not null
            ? $"The desktop viewer needs raylib 4.5 to 5.5, but {problem}. Install raylib 5.5 (bash build/raylib.sh builds it; see docs/viewer.md) or set {PathVariable} to one, or watch in the browser instead: rlmemory watch <agent> without --window."
            : $"The desktop viewer needs the raylib library (raylib 5), which was not found (tried {string.Join(", ", candidates.Take(3))}, …). "
              + $"Install it: on Linux, bash build/raylib.sh in RlMemory's repository builds raylib 5.5 where the viewer finds it (or build it from https://github.com/raysan5/raylib with cmake -DBUILD_SHARED_LIBS=ON and install it), "
              + $"macOS: brew install raylib, Windows: vcpkg install raylib; or set {PathVariable} to the library file. Or watch in the browser: rlmemory watch <agent> without --window.";
        return false;
    }

    /// <summary>The file the loader mapped <paramref name="address"/> from (dladdr), or null where it cannot say.</summary>
    private static unsafe string? LoadedFile(nint address)
    {
        if (OperatingSystem.IsWindows() || address == 0)
        {
            return null;
        }

        foreach (string libc in new[] { "libc.so.6", "libdl.so.2", "libSystem.dylib" })
        {
            if (NativeLibrary.TryLoad(libc, out nint library) && NativeLibrary.TryGetExport(library, "dladdr", out nint dladdr))
            {
                var info = default(DlInfo);
                int found = ((delegate* unmanaged[Cdecl]<nint, DlInfo*, int>)dladdr)(address, &info);
                return found != 0 && info.FileName != 0 ? Marshal.PtrToStringUTF8(info.FileName) : null;
            }
        }

        return null;
    }

    [GeneratedRegex(@"^libraylib\.(?:so\.(?:(?<major>\d+)\.(?<minor>\d+)\.(?<patch>\d+)|(?<packed>\d{3}))|(?:(?<major>\d+)\.(?<minor>\d+)\.(?<patch>\d+)|(?<packed>\d{3}))\.dylib)$")]
    private static partial Regex VersionedName();

    /// <summary>dladdr's <c>Dl_info</c>: the file name and base of the object, the nearest symbol's name and address.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct DlInfo
    {
        public nint FileName;
        public nint FileBase;
        public nint SymbolName;
        public nint SymbolAddress;
    }
}
