using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.Loader;

namespace RlMemory.Environments;

/// <summary>
/// Registers the environments of an assembly of yours (a class library that references RlMemory.Environments). It
/// implements this interface in a public class with a parameterless constructor; <see cref="EnvAssemblies.Load"/>
/// creates it and calls <see cref="Register"/>, which calls <see cref="EnvRegistry.Register{TAction}"/> once per
/// environment.
/// </summary>
/// <example>
/// <code>
/// public sealed class MyEnvironments : IEnvRegistration
/// {
///     public void Register() =>
///         EnvRegistry.Register("Corridor-v0", o => new Corridor(o.GetInt("length")), new EnvOptions { { "length", 5 } }, maxEpisodeSteps: 30);
/// }
/// </code>
/// </example>
public interface IEnvRegistration
{
    /// <summary>Registers the assembly's environments.</summary>
    void Register();
}

/// <summary>
/// Loads assemblies of environments at run time, so that programs that were not built with them (the <c>rlmemory</c>
/// command) can make them: <c>--env-assembly path/MyEnvs.dll</c>, or an environment id qualified by its assembly,
/// <c>path/MyEnvs.dll:Corridor-v0</c> (Gymnasium's <c>module:Env-v0</c> form), which <see cref="EnvRegistry"/>
/// understands wherever it takes an id.
/// </summary>
/// <remarks>
/// <para>Loading runs the assembly's code: its module initializers, then <see cref="IEnvRegistration.Register"/> of each
/// public class that implements <see cref="IEnvRegistration"/>. Load only assemblies you trust, as you would run them.
/// An assembly is loaded once per full path; loading it again returns the ids it registered the first time.</para>
/// <para>The assembly gets a load context of its own, which resolves its dependencies from its folder (build it with
/// <c>&lt;EnableDynamicLoading&gt;true&lt;/EnableDynamicLoading&gt;</c> so they are copied there) and shares every
/// assembly the host already has (RlMemory.Environments among them, so there is one registry).</para>
/// </remarks>
public static class EnvAssemblies
{
    private static readonly Lock Gate = new();
    private static readonly Dictionary<string, IReadOnlyList<string>> Loaded = new(StringComparer.Ordinal);

    /// <summary>The file extension that marks the assembly part of a qualified id.</summary>
    private const string Extension = ".dll";

    /// <summary>
    /// Loads the assembly at <paramref name="path"/> and registers its environments; returns the ids it registered
    /// (sorted).
    /// </summary>
    /// <exception cref="FileNotFoundException">No file at <paramref name="path"/>.</exception>
    /// <exception cref="InvalidOperationException">
    /// The file is not a .NET assembly, a registration failed, or the assembly registered no environment (the message
    /// says what to add).
    /// </exception>
    public static IReadOnlyList<string> Load(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        string fullPath = Path.GetFullPath(path);
        lock (Gate)
        {
            if (Loaded.TryGetValue(fullPath, out IReadOnlyList<string>? ids))
            {
                return ids;
            }

            if (!File.Exists(fullPath))
            {
                throw new FileNotFoundException($"Environment assembly '{fullPath}' does not exist: build your environments project and pass the path of its .dll.", fullPath);
            }

            HashSet<string> before = [.. EnvRegistry.Ids];
            Assembly assembly = LoadAssembly(fullPath);
            RegisterAll(assembly, fullPath);
            ids = EnvRegistry.Ids.Where(id => !before.Contains(id)).ToList();
            if (ids.Count == 0)
            {
                throw new InvalidOperationException(
                    $"{fullPath} registered no environment: add a public class that implements {nameof(IEnvRegistration)} and calls "
                    + $"{nameof(EnvRegistry)}.{nameof(EnvRegistry.Register)} for each environment (or a [ModuleInitializer] that does).");
            }

            Loaded[fullPath] = ids;
            return ids;
        }
    }

    /// <summary>
    /// The id <c>fullpath.dll:id</c> that names <paramref name="envId"/> together with the assembly that registers it.
    /// </summary>
    public static string Qualify(string assemblyPath, string envId)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(assemblyPath);
        ArgumentException.ThrowIfNullOrWhiteSpace(envId);
        return $"{Path.GetFullPath(assemblyPath)}:{envId}";
    }

    /// <summary>
    /// Splits an id of the form <c>path/to/Assembly.dll:Env-v0</c> into the assembly's path and the environment id;
    /// false for any other id.
    /// </summary>
    public static bool TrySplit(string id, out string assemblyPath, out string envId)
    {
        ArgumentNullException.ThrowIfNull(id);
        int colon = id.LastIndexOf(':');
        if (colon > Extension.Length && colon < id.Length - 1
            && id.AsSpan(0, colon).EndsWith(Extension, StringComparison.OrdinalIgnoreCase))
        {
            assemblyPath = id[..colon];
            envId = id[(colon + 1)..];
            return true;
        }

        assemblyPath = string.Empty;
        envId = string.Empty;
        return false;
    }

    /// <summary>The assembly that registered <paramref name="envId"/> through <see cref="Load"/>, or null.</summary>
    public static string? AssemblyOf(string envId)
    {
        lock (Gate)
        {
            return Loaded.FirstOrDefault(kv => kv.Value.Contains(envId, StringComparer.Ordinal)).Key;
        }
    }

    private static Assembly LoadAssembly(string fullPath)
    {
        try
        {
            return new EnvAssemblyLoadContext(fullPath).LoadFromAssemblyPath(fullPath);
        }
        catch (BadImageFormatException e)
        {
            throw new InvalidOperationException($"{fullPath} is not a .NET assembly: {e.Message}", e);
        }
    }

    private static void RegisterAll(Assembly assembly, string fullPath)
    {
        try
        {
            RuntimeHelpers.RunModuleConstructor(assembly.ManifestModule.ModuleHandle);
            IEnumerable<Type> registrations = assembly.GetExportedTypes()
                .Where(t => t is { IsClass: true, IsAbstract: false } && typeof(IEnvRegistration).IsAssignableFrom(t))
                .OrderBy(t => t.FullName, StringComparer.Ordinal);
            foreach (Type type in registrations)
            {
                if (type.GetConstructor(Type.EmptyTypes) is null)
                {
                    throw new InvalidOperationException($"{type.FullName} implements {nameof(IEnvRegistration)} but has no public parameterless constructor.");
                }

                ((IEnvRegistration)Activator.CreateInstance(type)!).Register();
            }
        }
        catch (Exception e) when (e is TypeInitializationException or TargetInvocationException or ReflectionTypeLoadException or FileNotFoundException or FileLoadException)
        {
            Exception cause = e is TargetInvocationException { InnerException: { } inner } ? inner : e;
            throw new InvalidOperationException($"Registering the environments of {fullPath} failed: {cause.GetType().Name}: {cause.Message}", cause);
        }
    }

    /// <summary>Resolves the assembly's own dependencies from its folder and shares what the host has loaded.</summary>
    private sealed class EnvAssemblyLoadContext(string path) : AssemblyLoadContext($"RlMemory environments: {Path.GetFileName(path)}")
    {
        private readonly AssemblyDependencyResolver _resolver = new(path);

        protected override Assembly? Load(AssemblyName assemblyName)
        {
            // The host's copy first (the framework, RlMemory, TorchSharp): one registry, one set of types.
            try
            {
                return Default.LoadFromAssemblyName(assemblyName);
            }
            catch (FileNotFoundException)
            {
                string? resolved = _resolver.ResolveAssemblyToPath(assemblyName);
                return resolved is null ? null : LoadFromAssemblyPath(resolved);
            }
        }

        protected override IntPtr LoadUnmanagedDll(string unmanagedDllName)
        {
            string? resolved = _resolver.ResolveUnmanagedDllToPath(unmanagedDllName);
            return resolved is null ? IntPtr.Zero : LoadUnmanagedDllFromPath(resolved);
        }
    }
}
