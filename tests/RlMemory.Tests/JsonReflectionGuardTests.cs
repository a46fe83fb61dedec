using System.Text.Json;

namespace RlMemory.Tests;

/// <summary>The test host runs with reflection-based System.Text.Json disabled, as trimmed apps and file-based programs do.</summary>
public sealed class JsonReflectionGuardTests
{
    private sealed record Probe(int Value);

    [Fact]
    public void ReflectionBasedSerialization_IsDisabledInTheseTests() =>
        Assert.Throws<InvalidOperationException>(() => JsonSerializer.Serialize(new Probe(1)));
}
