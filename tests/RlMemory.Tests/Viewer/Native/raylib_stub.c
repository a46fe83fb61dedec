/*
 * A stand-in for raylib's shared library, for RlMemory's tests: it exports the functions the desktop viewer binds,
 * with raylib.h's signatures and struct layouts, draws nothing, and logs every call (with the struct fields it
 * received) so that the tests can check the binding's calling convention. It is not raylib.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

typedef struct Color { unsigned char r, g, b, a; } Color;
typedef struct Image { void *data; int width; int height; int mipmaps; int format; } Image;
typedef struct Texture { unsigned int id; int width; int height; int mipmaps; int format; } Texture;
typedef Texture Texture2D;

static char log_text[1 << 16];
static size_t log_length;
static int frames, close_after = 3, window_ready = 1;
static unsigned int next_texture = 1;
static int key_frames[32], key_codes[32], key_count;

static void note(const char *format, ...)
{
    va_list args;
    va_start(args, format);
    if (log_length < sizeof log_text - 512)
    {
        int n = vsnprintf(log_text + log_length, sizeof log_text - log_length, format, args);
        if (n > 0) log_length += (size_t)n;
    }
    va_end(args);
}

/* Test controls. */
void stub_configure(int close_after_frames, int ready)
{
    close_after = close_after_frames;
    window_ready = ready;
    frames = 0;
    key_count = 0;
    next_texture = 1;
    log_length = 0;
    log_text[0] = 0;
}

void stub_press(int frame, int key)
{
    if (key_count < 32) { key_frames[key_count] = frame; key_codes[key_count] = key; key_count++; }
}

const char *stub_log(void) { return log_text; }

/* The raylib functions. */
void InitWindow(int width, int height, const char *title) { note("InitWindow %d %d %s\n", width, height, title); }
bool WindowShouldClose(void) { return frames >= close_after; }
void CloseWindow(void) { note("CloseWindow\n"); }
bool IsWindowReady(void) { return window_ready != 0; }
void SetTargetFPS(int fps) { note("SetTargetFPS %d\n", fps); }
void SetTraceLogLevel(int level) { note("SetTraceLogLevel %d\n", level); }
void BeginDrawing(void) { note("BeginDrawing\n"); }
void EndDrawing(void) { frames++; note("EndDrawing %d\n", frames); }
void ClearBackground(Color c) { note("ClearBackground %d,%d,%d,%d\n", c.r, c.g, c.b, c.a); }

Texture2D LoadTextureFromImage(Image image)
{
    const unsigned char *p = (const unsigned char *)image.data;
    note("LoadTextureFromImage %dx%d mipmaps %d format %d first pixel %d,%d,%d\n",
         image.width, image.height, image.mipmaps, image.format, p[0], p[1], p[2]);
    Texture2D texture = { next_texture++, image.width, image.height, image.mipmaps, image.format };
    return texture;
}

void UpdateTexture(Texture2D texture, const void *pixels)
{
    const unsigned char *p = (const unsigned char *)pixels;
    note("UpdateTexture %u %dx%d mipmaps %d format %d first pixel %d,%d,%d\n",
         texture.id, texture.width, texture.height, texture.mipmaps, texture.format, p[0], p[1], p[2]);
}

void UnloadTexture(Texture2D texture) { note("UnloadTexture %u\n", texture.id); }

void DrawTexture(Texture2D texture, int x, int y, Color tint)
{
    note("DrawTexture %u %dx%d at %d,%d tint %d,%d,%d,%d\n", texture.id, texture.width, texture.height, x, y, tint.r, tint.g, tint.b, tint.a);
}

void DrawText(const char *text, int x, int y, int size, Color c)
{
    note("DrawText at %d,%d size %d color %d,%d,%d,%d: %s\n", x, y, size, c.r, c.g, c.b, c.a, text);
}

void DrawRectangle(int x, int y, int width, int height, Color c)
{
    note("DrawRectangle %d,%d %dx%d color %d,%d,%d,%d\n", x, y, width, height, c.r, c.g, c.b, c.a);
}

int MeasureText(const char *text, int size) { return (int)strlen(text) * size / 2; }

#ifndef STUB_BEFORE_4_5
bool IsImageValid(Image image) { return image.data != 0; }   /* raylib 5.5's name; 4.5 and 5.0 call it IsImageReady */
#endif

bool IsKeyPressed(int key)
{
    for (int i = 0; i < key_count; i++)
        if (key_frames[i] == frames && key_codes[i] == key) return true;
    return false;
}
