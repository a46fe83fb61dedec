using System.Runtime.InteropServices;
using System.Text;
using RlMemory.Training;

namespace RlMemory.App.Viewer.Raylib;

// The small part of raylib's C API (raylib.h, 4.5 to 5.5) the desktop viewer uses, bound at run time from the system's
// raylib shared library: no package, no build step. The struct layouts below are raylib.h's, field for field; tests
// check their sizes and offsets.

/// <summary>raylib's <c>Color</c>: 8-bit R, G, B, A (4 bytes).</summary>
[StructLayout(LayoutKind.Sequential)]
internal readonly record struct RaylibColor(byte R, byte G, byte B, byte A)
{
    public static RaylibColor White => new(255, 255, 255, 255);

    public static RaylibColor RayWhite => new(245, 245, 245, 255);

    public static RaylibColor DarkGray => new(80, 80, 80, 255);

    public static RaylibColor LightGray => new(230, 230, 230, 255);
}

/// <summary>raylib's <c>Image</c>: pixel data in CPU memory (<c>void *data; int width, height, mipmaps, format</c>).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct RaylibImage
{
    public nint Data;
    public int Width;
    public int Height;
    public int Mipmaps;
    public int Format;
}

/// <summary>raylib's <c>Texture</c> (alias <c>Texture2D</c>): a texture in GPU memory (<c>unsigned int id; int width, height, mipmaps, format</c>).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct RaylibTexture
{
    public uint Id;
    public int Width;
    public int Height;
    public int Mipmaps;
    public int Format;
}

/// <summary>Constants of raylib.h the viewer uses.</summary>
internal static class RaylibConstants
{
    /// <summary><c>PIXELFORMAT_UNCOMPRESSED_R8G8B8</c>: 24 bits per pixel, the layout of <see cref="Environments.Rendering.RgbFrame"/>.</summary>
    public const int PixelFormatR8G8B8 = 4;

    /// <summary><c>LOG_WARNING</c>: raylib prints warnings and errors only.</summary>
    public const int LogWarning = 4;

    /// <summary><c>LOG_ALL</c>: raylib prints everything (<c>RLMEMORY_RAYLIB_LOG=1</c>).</summary>
    public const int LogAll = 0;

    /// <summary><c>LOG_NONE</c>: raylib prints nothing (while the window opens: a failure is explained in one line instead).</summary>
    public const int LogNone = 7;

    public const int KeySpace = 32;
    public const int KeyP = 80;
    public const int KeyN = 78;
    public const int KeyQ = 81;
    public const int KeyPeriod = 46;
    public const int KeyMinus = 45;
    public const int KeyEqual = 61;
    public const int KeyRight = 262;
    public const int KeyDown = 264;
    public const int KeyUp = 265;
    public const int KeyKeypadSubtract = 333;
    public const int KeyKeypadAdd = 334;
}

/// <summary>The raylib functions the viewer calls, as function pointers into a loaded library.</summary>
internal sealed unsafe class RaylibApi
{
    /// <summary>The functions, in the order <see cref="Bind"/> looks them up.</summary>
    public static readonly string[] FunctionNames =
    [
        "InitWindow", "WindowShouldClose", "CloseWindow", "IsWindowReady", "SetTargetFPS", "SetTraceLogLevel",
        "BeginDrawing", "EndDrawing", "ClearBackground", "LoadTextureFromImage", "UpdateTexture", "UnloadTexture",
        "DrawTexture", "DrawText", "DrawRectangle", "IsKeyPressed", "MeasureText",
    ];

    /// <summary>Functions that tell raylib's API generation apart: 5.5 renamed 4.5's <c>IsImageReady</c> to <c>IsImageValid</c>; older versions have neither.</summary>
    public static readonly string[] VersionMarkers = ["IsImageValid", "IsImageReady"];

    private readonly delegate* unmanaged[Cdecl]<int, int, byte*, void> _initWindow;
    private readonly delegate* unmanaged[Cdecl]<byte> _windowShouldClose;
    private readonly delegate* unmanaged[Cdecl]<void> _closeWindow;
    private readonly delegate* unmanaged[Cdecl]<byte> _isWindowReady;
    private readonly delegate* unmanaged[Cdecl]<int, void> _setTargetFps;
    private readonly delegate* unmanaged[Cdecl]<int, void> _setTraceLogLevel;
    private readonly delegate* unmanaged[Cdecl]<void> _beginDrawing;
    private readonly delegate* unmanaged[Cdecl]<void> _endDrawing;
    private readonly delegate* unmanaged[Cdecl]<RaylibColor, void> _clearBackground;
    private readonly delegate* unmanaged[Cdecl]<RaylibImage, RaylibTexture> _loadTextureFromImage;
    private readonly delegate* unmanaged[Cdecl]<RaylibTexture, void*, void> _updateTexture;
    private readonly delegate* unmanaged[Cdecl]<RaylibTexture, void> _unloadTexture;
    private readonly delegate* unmanaged[Cdecl]<RaylibTexture, int, int, RaylibColor, void> _drawTexture;
    private readonly delegate* unmanaged[Cdecl]<byte*, int, int, int, RaylibColor, void> _drawText;
    private readonly delegate* unmanaged[Cdecl]<int, int, int, int, RaylibColor, void> _drawRectangle;
    private readonly delegate* unmanaged[Cdecl]<int, byte> _isKeyPressed;
    private readonly delegate* unmanaged[Cdecl]<byte*, int, int> _measureText;

    private RaylibApi(string path, nint[] f)
    {
        Path = path;
        _initWindow = (delegate* unmanaged[Cdecl]<int, int, byte*, void>)f[0];
        _windowShouldClose = (delegate* unmanaged[Cdecl]<byte>)f[1];
        _closeWindow = (delegate* unmanaged[Cdecl]<void>)f[2];
        _isWindowReady = (delegate* unmanaged[Cdecl]<byte>)f[3];
        _setTargetFps = (delegate* unmanaged[Cdecl]<int, void>)f[4];
        _setTraceLogLevel = (delegate* unmanaged[Cdecl]<int, void>)f[5];
        _beginDrawing = (delegate* unmanaged[Cdecl]<void>)f[6];
        _endDrawing = (delegate* unmanaged[Cdecl]<void>)f[7];
        _clearBackground = (delegate* unmanaged[Cdecl]<RaylibColor, void>)f[8];
        _loadTextureFromImage = (delegate* unmanaged[Cdecl]<RaylibImage, RaylibTexture>)f[9];
        _updateTexture = (delegate* unmanaged[Cdecl]<RaylibTexture, void*, void>)f[10];
        _unloadTexture = (delegate* unmanaged[Cdecl]<RaylibTexture, void>)f[11];
        _drawTexture = (delegate* unmanaged[Cdecl]<RaylibTexture, int, int, RaylibColor, void>)f[12];
        _drawText = (delegate* unmanaged[Cdecl]<byte*, int, int, int, RaylibColor, void>)f[13];
        _drawRectangle = (delegate* unmanaged[Cdecl]<int, int, int, int, RaylibColor, void>)f[14];
        _isKeyPressed = (delegate* unmanaged[Cdecl]<int, byte>)f[15];
        _measureText = (delegate* unmanaged[Cdecl]<byte*, int, int>)f[16];
        InitWindowAddress = f[0];
    }

    /// <summary>The address of <c>InitWindow</c> in the loaded library (to ask the loader which file it came from).</summary>
    public nint InitWindowAddress { get; }

    /// <summary>The library file (or name) the functions come from.</summary>
    public string Path { get; }

    /// <summary>Looks up every function in <paramref name="library"/>; returns null and the missing names if any is absent.</summary>
    public static RaylibApi? Bind(nint library, string path, out IReadOnlyList<string> missing)
    {
        var functions = new nint[FunctionNames.Length];
        var absent = new List<string>();
        for (int i = 0; i < FunctionNames.Length; i++)
        {
            if (!NativeLibrary.TryGetExport(library, FunctionNames[i], out functions[i]))
            {
                absent.Add(FunctionNames[i]);
            }
        }

        missing = absent;
        return absent.Count == 0 ? new RaylibApi(path, functions) : null;
    }

    public void InitWindow(int width, int height, string title)
    {
        fixed (byte* text = Utf8(title))
        {
            _initWindow(width, height, text);
        }
    }

    public bool WindowShouldClose() => _windowShouldClose() != 0;

    public void CloseWindow() => _closeWindow();

    public bool IsWindowReady() => _isWindowReady() != 0;

    public void SetTargetFps(int fps) => _setTargetFps(fps);

    public void SetTraceLogLevel(int level) => _setTraceLogLevel(level);

    public void BeginDrawing() => _beginDrawing();

    public void EndDrawing() => _endDrawing();

    public void ClearBackground(RaylibColor color) => _clearBackground(color);

    /// <summary>Uploads <paramref name="rgb"/> (<c>width × height × 3</c> bytes) as a new R8G8B8 texture.</summary>
    public RaylibTexture LoadTextureFromRgb(byte[] rgb, int width, int height)
    {
        fixed (byte* pixels = rgb)
        {
            var image = new RaylibImage { Data = (nint)pixels, Width = width, Height = height, Mipmaps = 1, Format = RaylibConstants.PixelFormatR8G8B8 };
            return _loadTextureFromImage(image);
        }
    }

    /// <summary>Replaces the pixels of <paramref name="texture"/> (same size and format).</summary>
    public void UpdateTexture(RaylibTexture texture, byte[] rgb)
    {
        fixed (byte* pixels = rgb)
        {
            _updateTexture(texture, pixels);
        }
    }

    public void UnloadTexture(RaylibTexture texture) => _unloadTexture(texture);

    public void DrawTexture(RaylibTexture texture, int x, int y, RaylibColor tint) => _drawTexture(texture, x, y, tint);

    public void DrawText(string text, int x, int y, int fontSize, RaylibColor color)
    {
        fixed (byte* bytes = Utf8(text))
        {
            _drawText(bytes, x, y, fontSize, color);
        }
    }

    public void DrawRectangle(int x, int y, int width, int height, RaylibColor color) => _drawRectangle(x, y, width, height, color);

    public bool IsKeyPressed(int key) => _isKeyPressed(key) != 0;

    /// <summary>The width in pixels of <paramref name="text"/> in raylib's default font at <paramref name="fontSize"/>.</summary>
    public int MeasureText(string text, int fontSize)
    {
        fixed (byte* bytes = Utf8(text))
        {
            return _measureText(bytes, fontSize);
        }
    }

    private static byte[] Utf8(string text)
    {
        var bytes = new byte[Encoding.UTF8.GetByteCount(text) + 1];
        Encoding.UTF8.GetBytes(text, bytes);
        return bytes;
    }
}
