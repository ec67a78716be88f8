/*
 * A stand-in for a Windows program (netsh, pnputil, certutil, reg, route, shutdown...) in the
 * agent's Wine tests: it appends its name and command line to calls.log beside it, then exits
 * with the number in <name>.exit beside it (0 when there is none), after sleeping the
 * milliseconds in <name>.sleep (a step that hangs, for the timeout and kill tests).
 * Test code only: never shipped.
 */
#include <windows.h>
#include <stdio.h>
#include <wchar.h>

static int read_number(const WCHAR *path)
{
    FILE *f = _wfopen(path, L"rb");
    int n = 0;
    if (f == NULL)
        return 0;
    if (fscanf(f, "%d", &n) != 1)
        n = 0;
    fclose(f);
    return n;
}

int wmain(void)
{
    WCHAR self[MAX_PATH], dir[MAX_PATH], name[MAX_PATH], path[MAX_PATH * 2];
    WCHAR *slash, *dot, *args = GetCommandLineW();
    char utf8[16384];
    HANDLE h;
    DWORD written;
    int n, code, pause;
    GetModuleFileNameW(NULL, self, MAX_PATH);
    lstrcpyW(dir, self);
    slash = wcsrchr(dir, L'\\');
    *slash = 0;
    lstrcpyW(name, slash + 1);
    dot = wcsrchr(name, L'.');
    if (dot)
        *dot = 0;
    CharLowerW(name);
    /* the arguments: the command line after the program (quoted or not) */
    if (*args == L'"') {
        args = wcschr(args + 1, L'"');
        args = args ? args + 1 : L"";
    } else {
        while (*args && *args != L' ' && *args != L'\t')
            args++;
    }
    while (*args == L' ' || *args == L'\t')
        args++;
    _snwprintf(path, MAX_PATH * 2, L"%ls\\%ls.sleep", dir, name);
    pause = read_number(path);
    _snwprintf(path, MAX_PATH * 2, L"%ls\\calls.log", dir);
    n = WideCharToMultiByte(CP_UTF8, 0, name, -1, utf8, sizeof utf8, NULL, NULL);
    utf8[n - 1] = ' ';
    n += WideCharToMultiByte(CP_UTF8, 0, args, -1, utf8 + n, (int)sizeof utf8 - n - 2, NULL, NULL) - 1;
    utf8[n++] = '\r';
    utf8[n++] = '\n';
    h = CreateFileW(path, FILE_APPEND_DATA, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL, OPEN_ALWAYS,
                    FILE_ATTRIBUTE_NORMAL, NULL);
    if (h != INVALID_HANDLE_VALUE) {
        WriteFile(h, utf8, (DWORD)n, &written, NULL);
        CloseHandle(h);
    }
    if (pause > 0)
        Sleep((DWORD)pause);
    _snwprintf(path, MAX_PATH * 2, L"%ls\\%ls.exit", dir, name);
    code = read_number(path);
    printf("stub %ls: exit %d\n", name, code);
    return code;
}
