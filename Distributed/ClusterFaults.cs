namespace RlMemory.Distributed;

/// <summary>How the roles tell a grain they cannot reach from a refusal, and how they name the cause in a warning.</summary>
internal static class ClusterFaults
{
    /// <summary>
    /// Whether a call failed because the grain's silo cannot be reached (or its new activation is not configured yet),
    /// rather than because of what was asked.
    /// </summary>
    public static bool IsUnreachable(Exception e) =>
        e is Orleans.Runtime.OrleansMessageRejectionException or Orleans.Runtime.Messaging.ConnectionFailedException or TimeoutException or ShardNotConfiguredException
        || (e.InnerException is { } inner && IsUnreachable(inner));

    /// <summary>The first line of the innermost exception's message, for a one-line warning.</summary>
    public static string Reason(Exception e) => e.GetBaseException().Message.Split('\n')[0];
}
