using System.Runtime.InteropServices;

namespace RlMemory.App.Viewer.Raylib;

/// <summary>
/// Checks, before raylib is asked for a window, that one can open: raylib 5.5's <c>InitWindow</c> does not stop when
/// its platform layer fails (no display, no OpenGL) but goes on to call OpenGL through null pointers, which kills the
/// process. So on X11 the probe asks libX11 and libGL directly: a display named, reachable, with the GLX extension,
/// and a client OpenGL library that speaks GLX to it. Each failure is one line naming the cause.
/// </summary>
internal static unsafe class DisplayProbe
{
    /// <summary>
    /// Why no window can open here, or null when the checks pass (or the platform is not X11's). When they pass,
    /// <paramref name="hold"/> keeps the probe's connection to the X server open: close it once raylib has its window.
    /// An X server resets when its last client leaves, and a server with no other client (Xvfb, <c>xvfb-run</c>) would
    /// otherwise be resetting just as raylib connects, which fails raylib's window and, in raylib 5.5, the process.
    /// </summary>
    public static string? WhyNoWindow(out IDisposable? hold)
    {
        hold = null;
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsFreeBSD())
        {
            return null;
        }

        string? display = Environment.GetEnvironmentVariable("DISPLAY");
        if (string.IsNullOrEmpty(display))
        {
            return string.IsNullOrEmpty(Environment.GetEnvironmentVariable("WAYLAND_DISPLAY"))
                ? "no display here (DISPLAY is not set; on a server, forward X with ssh -X, or run under xvfb-run)"
                : "DISPLAY is not set (raylib draws through X11; a Wayland session provides it with XWayland)";
        }

        if (!X11.TryOpen(out X11? x11))
        {
            return "libX11 (libX11.so.6) is not installed, and raylib draws through X11";
        }

        nint connection = x11!.OpenDisplay(display);
        if (connection == 0)
        {
            return $"cannot connect to the X display {display} (is its server running, and may this user use it?)";
        }

        string? cause = null;
        if (!x11.HasExtension(connection, "GLX"))
        {
            cause = $"the X display {display} has no OpenGL (its server lacks the GLX extension), and raylib draws with OpenGL";
        }
        else if (!NativeLibrary.TryLoad("libGL.so.1", out nint gl) || !NativeLibrary.TryGetExport(gl, "glXQueryVersion", out nint queryVersion))
        {
            cause = "no OpenGL library (libGL.so.1 with GLX; on Debian: apt-get install libgl1 libgl1-mesa-dri)";
        }
        else
        {
            int major, minor;
            if (((delegate* unmanaged[Cdecl]<nint, int*, int*, int>)queryVersion)(connection, &major, &minor) == 0)
            {
                cause = $"OpenGL's GLX does not answer on the X display {display}";
            }
        }

        if (cause is not null)
        {
            x11.CloseDisplay(connection);
            return cause;
        }

        hold = new Connection(x11, connection);
        return null;
    }

    /// <summary>An open connection to an X server, closed on dispose.</summary>
    private sealed class Connection(X11 x11, nint display) : IDisposable
    {
        private nint _display = display;

        public void Dispose()
        {
            if (_display != 0)
            {
                x11.CloseDisplay(_display);
                _display = 0;
            }
        }
    }

    /// <summary>The three libX11 calls the probe needs, bound at run time (libX11 is there wherever raylib's X11 build is).</summary>
    private sealed class X11
    {
        private readonly delegate* unmanaged[Cdecl]<byte*, nint> _open;
        private readonly delegate* unmanaged[Cdecl]<nint, int> _close;
        private readonly delegate* unmanaged[Cdecl]<nint, byte*, int*, int*, int*, int> _queryExtension;

        private X11(nint open, nint close, nint query)
        {
            _open = (delegate* unmanaged[Cdecl]<byte*, nint>)open;
            _close = (delegate* unmanaged[Cdecl]<nint, int>)close;
            _queryExtension = (delegate* unmanaged[Cdecl]<nint, byte*, int*, int*, int*, int>)query;
        }

        public static bool TryOpen(out X11? x11)
        {
            x11 = null;
            if (NativeLibrary.TryLoad("libX11.so.6", out nint library)
                && NativeLibrary.TryGetExport(library, "XOpenDisplay", out nint open)
                && NativeLibrary.TryGetExport(library, "XCloseDisplay", out nint close)
                && NativeLibrary.TryGetExport(library, "XQueryExtension", out nint query))
            {
                x11 = new X11(open, close, query);
            }

            return x11 is not null;
        }

        public nint OpenDisplay(string name)
        {
            fixed (byte* text = Utf8Z(name))
            {
                return _open(text);
            }
        }

        public void CloseDisplay(nint display) => _close(display);

        public bool HasExtension(nint display, string name)
        {
            int opcode, eventBase, errorBase;
            fixed (byte* text = Utf8Z(name))
            {
                return _queryExtension(display, text, &opcode, &eventBase, &errorBase) != 0;
            }
        }

        private static byte[] Utf8Z(string text) => [.. System.Text.Encoding.UTF8.GetBytes(text), 0];
    }
}
