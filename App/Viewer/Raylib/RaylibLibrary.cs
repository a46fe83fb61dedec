using System.Runtime.InteropServices;
using RlMemory.Training;

namespace RlMemory.App.Viewer.Raylib;

/// <summary>Finds and loads the system's raylib shared library at run time.</summary>
internal static class RaylibLibrary
{
    /// <summary>An environment variable naming the raylib library file to use (tried first).</summary>
    public const string PathVariable = "RLMEMORY_RAYLIB";

    /// <summary>
    /// The library names and paths tried, in order, on <paramref name="platform"/>: <see cref="PathVariable"/> when set,
    /// then the development name (<c>libraylib.so</c>), then the versioned names raylib's builds install for 5.5, 5.0
    /// and 4.5, each first through the loader's search path and then in <c>/usr/local/lib</c> (where <c>make install</c>
    /// puts it).
    /// </summary>
    public static IReadOnlyList<string> Candidates(OSPlatform platform, string? explicitPath)
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
        }

        return names;
    }

    /// <summary>The platform this process runs on, as <see cref="Candidates"/> takes it.</summary>
    public static OSPlatform CurrentPlatform =>
        OperatingSystem.IsWindows() ? OSPlatform.Windows : OperatingSystem.IsMacOS() ? OSPlatform.OSX : OSPlatform.Linux;

    /// <summary>Loads the first candidate that has every function the viewer needs.</summary>
    /// <param name="api">The bound functions.</param>
    /// <param name="failure">Why nothing could be loaded: one line saying what to install (or what the found library lacks), and that the browser viewer needs none of it.</param>
    public static bool TryLoad(out RaylibApi? api, out string failure)
    {
        string? explicitPath = Environment.GetEnvironmentVariable(PathVariable);
        IReadOnlyList<string> candidates = Candidates(CurrentPlatform, explicitPath);
        string? incomplete = null;
        foreach (string candidate in candidates)
        {
            if (!NativeLibrary.TryLoad(candidate, out nint handle))
            {
                continue;
            }

            api = RaylibApi.Bind(handle, candidate, out IReadOnlyList<string> missing);
            if (api is not null)
            {
                failure = string.Empty;
                return true;
            }

            incomplete ??= $"{candidate} lacks {string.Join(", ", missing)}";
            NativeLibrary.Free(handle);
        }

        api = null;
        failure = incomplete is not null
            ? $"The desktop viewer needs raylib 4.5 or newer, but {incomplete}. Install raylib 5 (see docs/viewer.md), or watch in the browser instead: rlmemory watch <agent> without --window."
            : $"The desktop viewer needs the raylib library (raylib 5), which was not found (tried {string.Join(", ", candidates.Take(3))}, …). "
              + $"Install it: Debian/Ubuntu build it from source (git clone https://github.com/raysan5/raylib; cmake -B build -DBUILD_SHARED_LIBS=ON; cmake --build build; sudo cmake --install build; sudo ldconfig), "
              + $"macOS: brew install raylib, Windows: vcpkg install raylib; or set {PathVariable} to the library file. Or watch in the browser: rlmemory watch <agent> without --window.";
        return false;
    }
}
