namespace RlMemory.Tests.Build;

/// <summary>A fact that is skipped on hosts other than Linux (it needs the system libstdc++ or a Linux build output).</summary>
public sealed class LinuxFactAttribute : FactAttribute
{
    /// <summary>Sets <see cref="FactAttribute.Skip"/> unless the host is Linux.</summary>
    public LinuxFactAttribute()
    {
        if (!OperatingSystem.IsLinux())
        {
            Skip = "Needs a Linux host.";
        }
    }
}
