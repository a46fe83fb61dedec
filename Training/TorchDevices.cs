using RlMemory.Training.Configuration;
using TorchSharp;
using static TorchSharp.torch;

namespace RlMemory.Training;

/// <summary>Turns a device name from a configuration or the command line into a TorchSharp device.</summary>
public static class TorchDevices
{
    /// <summary>Parses <c>cpu</c>, <c>cuda</c> or <c>cuda:N</c>.</summary>
    /// <exception cref="ConfigException">The name is invalid, or CUDA was asked for but is not available (the message says why and what to do).</exception>
    public static Device Parse(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        if (name == "cpu")
        {
            return CPU;
        }

        int index = 0;
        if (name != "cuda" && !(name.StartsWith("cuda:", StringComparison.Ordinal) && int.TryParse(name.AsSpan(5), out index) && index >= 0))
        {
            throw new ConfigException($"device = '{name}' is invalid: use cpu, cuda or cuda:N.");
        }

        if (!cuda.is_available())
        {
            throw new ConfigException(
                $"device = '{name}' but CUDA is not available: this build uses the CPU TorchSharp package, or no NVIDIA GPU/driver was found. "
                + "Build with -p:TorchBackend=cuda on a machine with an NVIDIA GPU, or use --device cpu.");
        }

        int count = cuda.device_count();
        if (index >= count)
        {
            throw new ConfigException($"device = '{name}' but this machine has {count} CUDA device(s): use cuda:0 to cuda:{count - 1}.");
        }

        return new Device(DeviceType.CUDA, index);
    }
}
