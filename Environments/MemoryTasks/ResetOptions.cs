namespace RlMemory.Environments.MemoryTasks;

/// <summary>The memory tasks take no per-reset options: refuse any, so a typo never passes silently.</summary>
internal static class ResetOptions
{
    public static void RequireNone(EnvOptions? options, string owner)
    {
        if (options is not null)
        {
            new EnvOptions(options) { Owner = owner + " reset" }.RequireKnownKeys([]);
        }
    }
}
