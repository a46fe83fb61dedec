namespace RlMemory.Environments.Recording;

/// <summary>Finds the <c>ffmpeg</c> executable that writes MP4 videos.</summary>
public static class Ffmpeg
{
    /// <summary>What to do when ffmpeg is missing, for messages.</summary>
    public const string InstallHint =
        "Install ffmpeg (Debian/Ubuntu: apt-get install ffmpeg; macOS: brew install ffmpeg; Windows: winget install ffmpeg) "
        + "so that it is on PATH, or record a .gif instead.";

    /// <summary>
    /// The full path of ffmpeg: <paramref name="configuredPath"/> when given (it must exist), otherwise the first
    /// <c>ffmpeg</c> (<c>ffmpeg.exe</c> on Windows) on PATH; null when there is none.
    /// </summary>
    /// <exception cref="FileNotFoundException"><paramref name="configuredPath"/> is given but does not exist.</exception>
    public static string? Find(string? configuredPath = null) =>
        Find(configuredPath, Environment.GetEnvironmentVariable("PATH"));

    /// <summary><see cref="Find(string?)"/> with an explicit PATH value (for tests).</summary>
    internal static string? Find(string? configuredPath, string? pathVariable)
    {
        if (configuredPath is not null)
        {
            string full = Path.GetFullPath(configuredPath);
            return File.Exists(full)
                ? full
                : throw new FileNotFoundException($"The ffmpeg executable '{full}' given in RecordingOptions.FfmpegPath does not exist.", full);
        }

        string name = OperatingSystem.IsWindows() ? "ffmpeg.exe" : "ffmpeg";
        if (string.IsNullOrEmpty(pathVariable))
        {
            return null;
        }

        foreach (string folder in pathVariable.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            string candidate = Path.Combine(folder, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    /// <summary>Whether ffmpeg is available (on PATH, or at <paramref name="configuredPath"/>).</summary>
    public static bool IsAvailable(string? configuredPath = null) =>
        configuredPath is null ? Find() is not null : File.Exists(Path.GetFullPath(configuredPath));

    /// <summary>The path of ffmpeg, or a clear error saying how to install it.</summary>
    /// <exception cref="InvalidOperationException">ffmpeg is not on PATH.</exception>
    /// <exception cref="FileNotFoundException"><paramref name="configuredPath"/> is given but does not exist.</exception>
    public static string Require(string? configuredPath = null) =>
        Require(configuredPath, Environment.GetEnvironmentVariable("PATH"));

    /// <summary><see cref="Require(string?)"/> with an explicit PATH value (for tests).</summary>
    internal static string Require(string? configuredPath, string? pathVariable) =>
        Find(configuredPath, pathVariable) ?? throw new InvalidOperationException($"Writing MP4 video needs ffmpeg, which was not found on PATH. {InstallHint}");
}
