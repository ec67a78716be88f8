/*
 * kvmconv.exe -- winmigrate's phase-two agent: a Windows service that finishes a Xen -> KVM move
 * at the guest's first boot on KVM (docs/agent.md).
 *
 * It runs the steps that `winmigrate convert` wrote into kvmconv.ini beside it, in order, each
 * one at most until it succeeds: a step done is recorded in state.ini before the next starts,
 * so a power loss or a crash resumes at the first step not done instead of doing anything twice.
 * Every start counts as a boot; after MaxBoots starts without finishing, the agent disables its
 * service and leaves its log -- it never loops forever.
 *
 * Actions of a step ([StepN] Action=...):
 *   cmd           run Script (relative to the agent's folder) with cmd.exe, its output in the log;
 *                 exit code 0 is success; Timeout seconds at most (the process tree is killed)
 *   pnp           ask Plug and Play to re-enumerate the devices and wait until it has installed
 *                 what it found (cfgmgr32: CM_Reenumerate_DevNode, CMP_WaitNoPendingInstallEvents)
 *   find-adapter  find the new network adapter: the one with Mac=, else the one Ethernet adapter
 *                 whose GUID is not in KnownGuids=; none yet: wait up to Timeout; several: stop
 *                 (never guess). Its GUID, index, name and MAC go to the later steps as
 *                 KVMCONV_NIC_GUID, KVMCONV_NIC_INDEX, KVMCONV_NIC_NAME, KVMCONV_NIC_MAC
 *   finish        delete the service, remove the agent's files (those in use at the next
 *                 reboot), keep kvmconv.log, state.ini and manifest.json; then RebootCommand
 *
 * Command line:  kvmconv.exe            run as the service (the service control manager starts it)
 *                kvmconv.exe run        run the steps now, in this console (by hand, or tests)
 *                kvmconv.exe status     print the state
 *                kvmconv.exe cancel     stop for good: disable the service, record it
 *
 * Builds with mingw-w64 for Windows XP and later, x86 and x64 (agent/build.sh). No C runtime
 * beyond msvcrt's basics, no third-party code.
 */

#define WIN32_LEAN_AND_MEAN
#include <windows.h>
#include <winsock2.h>
#include <iphlpapi.h>
#include <stdarg.h>
#include <stdio.h>
#include <wchar.h>

#define AGENT_VERSION L"1"
#define MAX_STEPS 64
#define LINE 4096

/* cfgmgr32, loaded at run time: present on every Windows, not every export everywhere. */
typedef DWORD(WINAPI *CmLocateDevNodeW)(DWORD *, WCHAR *, ULONG);
typedef DWORD(WINAPI *CmReenumerateDevNode)(DWORD, ULONG);
typedef DWORD(WINAPI *CmpWaitNoPendingInstallEvents)(DWORD);
typedef ULONG(WINAPI *GetAdaptersAddressesFn)(ULONG, ULONG, void *, IP_ADAPTER_ADDRESSES *,
                                               ULONG *);

static WCHAR g_dir[MAX_PATH];        /* the agent's folder, no trailing backslash */
static WCHAR g_ini[MAX_PATH + 32];   /* kvmconv.ini */
static WCHAR g_state[MAX_PATH + 32]; /* state.ini */
static WCHAR g_log[MAX_PATH + 32];   /* kvmconv.log */
static WCHAR g_service[256] = L"KvmConv";
static SERVICE_STATUS_HANDLE g_status_handle;
static SERVICE_STATUS g_status;
static HANDLE g_stop_event;
static volatile LONG g_stopping;
static BOOL g_console;

/* ---- the log: UTF-8 with a byte-order mark, one line per event, local time ---------------- */

static void log_utf8(const char *text, DWORD len)
{
    HANDLE h = CreateFileW(g_log, FILE_APPEND_DATA, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL,
                           OPEN_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
    DWORD written;
    if (h == INVALID_HANDLE_VALUE)
        return;
    if (GetFileSize(h, NULL) == 0)
        WriteFile(h, "\xEF\xBB\xBF", 3, &written, NULL);
    WriteFile(h, text, len, &written, NULL);
    FlushFileBuffers(h);
    CloseHandle(h);
}

static void log_wide(const WCHAR *text)
{
    int n = WideCharToMultiByte(CP_UTF8, 0, text, -1, NULL, 0, NULL, NULL);
    char *buf;
    if (n <= 1)
        return;
    buf = (char *)HeapAlloc(GetProcessHeap(), 0, (SIZE_T)n);
    if (buf == NULL)
        return;
    WideCharToMultiByte(CP_UTF8, 0, text, -1, buf, n, NULL, NULL);
    log_utf8(buf, (DWORD)(n - 1));
    if (g_console) {
        DWORD w;
        HANDLE out = GetStdHandle(STD_OUTPUT_HANDLE);
        if (!WriteConsoleW(out, text, (DWORD)wcslen(text), &w, NULL))
            WriteFile(out, buf, (DWORD)(n - 1), &w, NULL);
    }
    HeapFree(GetProcessHeap(), 0, buf);
}

static void log_line(const WCHAR *fmt, ...)
{
    WCHAR line[LINE];
    SYSTEMTIME t;
    int used;
    va_list ap;
    GetLocalTime(&t);
    used = _snwprintf(line, LINE, L"%04u-%02u-%02u %02u:%02u:%02u  ", t.wYear, t.wMonth, t.wDay,
                      t.wHour, t.wMinute, t.wSecond);
    va_start(ap, fmt);
    _vsnwprintf(line + used, (size_t)(LINE - used - 3), fmt, ap);
    va_end(ap);
    line[LINE - 3] = 0;
    wcscat(line, L"\r\n");
    log_wide(line);
}

/* ---- the plan (kvmconv.ini, UTF-16 with a BOM) and the state (state.ini, ASCII) ----------- */

static void ini_get(const WCHAR *section, const WCHAR *key, const WCHAR *dflt, WCHAR *out,
                    DWORD size)
{
    GetPrivateProfileStringW(section, key, dflt, out, size, g_ini);
}

static int ini_int(const WCHAR *section, const WCHAR *key, int dflt)
{
    return (int)GetPrivateProfileIntW(section, key, dflt, g_ini);
}

static int state_int(const WCHAR *key, int dflt)
{
    return (int)GetPrivateProfileIntW(L"State", key, dflt, g_state);
}

static void state_get(const WCHAR *key, WCHAR *out, DWORD size)
{
    GetPrivateProfileStringW(L"State", key, L"", out, size, g_state);
}

/* Write one key of state.ini crash-safely: the whole file is rewritten into state.tmp, flushed,
 * and moved over state.ini (MoveFileEx with MOVEFILE_WRITE_THROUGH): a power loss leaves the old
 * state or the new one. */
static BOOL state_set(const WCHAR *key, const WCHAR *value)
{
    static WCHAR keys[256][64], values[256][512];
    WCHAR all[32768], tmp[MAX_PATH + 32], *p;
    int count = 0, i, found = 0;
    char text[65536];
    int len = 0;
    HANDLE h;
    DWORD written;
    DWORD n = GetPrivateProfileSectionW(L"State", all, 32768, g_state);
    for (p = all; n && *p && count < 256; p += wcslen(p) + 1) {
        WCHAR *eq = wcschr(p, L'=');
        if (eq == NULL)
            continue;
        lstrcpynW(keys[count], p, (int)min((size_t)64, (size_t)(eq - p + 1)));
        lstrcpynW(values[count], eq + 1, 512);
        count++;
    }
    for (i = 0; i < count; i++) {
        if (lstrcmpiW(keys[i], key) == 0) {
            if (value == NULL)
                keys[i][0] = 0;
            else
                lstrcpynW(values[i], value, 512);
            found = 1;
        }
    }
    if (!found && value != NULL && count < 256) {
        lstrcpynW(keys[count], key, 64);
        lstrcpynW(values[count], value, 512);
        count++;
    }
    len = _snprintf(text, sizeof text, "[State]\r\n");
    for (i = 0; i < count; i++) {
        char k[256], v[1024];
        if (!keys[i][0])
            continue;
        WideCharToMultiByte(CP_UTF8, 0, keys[i], -1, k, sizeof k, NULL, NULL);
        WideCharToMultiByte(CP_UTF8, 0, values[i], -1, v, sizeof v, NULL, NULL);
        len += _snprintf(text + len, sizeof text - (size_t)len, "%s=%s\r\n", k, v);
        if (len >= (int)sizeof text - 2)
            return FALSE;
    }
    _snwprintf(tmp, MAX_PATH + 32, L"%ls\\state.tmp", g_dir);
    h = CreateFileW(tmp, GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, FILE_ATTRIBUTE_NORMAL, NULL);
    if (h == INVALID_HANDLE_VALUE)
        return FALSE;
    if (!WriteFile(h, text, (DWORD)len, &written, NULL) || written != (DWORD)len ||
        !FlushFileBuffers(h)) {
        CloseHandle(h);
        DeleteFileW(tmp);
        return FALSE;
    }
    CloseHandle(h);
    if (!MoveFileExW(tmp, g_state, MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH)) {
        DeleteFileW(tmp);
        return FALSE;
    }
    return TRUE;
}

static void state_set_int(const WCHAR *key, int value)
{
    WCHAR text[32];
    _snwprintf(text, 32, L"%d", value);
    state_set(key, text);
}

static void state_now(const WCHAR *key)
{
    WCHAR text[64];
    SYSTEMTIME t;
    GetLocalTime(&t);
    _snwprintf(text, 64, L"%04u-%02u-%02u %02u:%02u:%02u", t.wYear, t.wMonth, t.wDay, t.wHour,
               t.wMinute, t.wSecond);
    state_set(key, text);
}

/* ---- the service registration --------------------------------------------------------------- */

static BOOL service_config(DWORD start_type, BOOL remove)
{
    SC_HANDLE scm = OpenSCManagerW(NULL, NULL, SC_MANAGER_CONNECT);
    SC_HANDLE svc;
    BOOL ok;
    if (scm == NULL)
        return FALSE;
    svc = OpenServiceW(scm, g_service, SERVICE_CHANGE_CONFIG | DELETE);
    if (svc == NULL) {
        CloseServiceHandle(scm);
        return FALSE;
    }
    if (remove)
        ok = DeleteService(svc);
    else
        ok = ChangeServiceConfigW(svc, SERVICE_NO_CHANGE, start_type, SERVICE_NO_CHANGE, NULL,
                                  NULL, NULL, NULL, NULL, NULL, NULL);
    CloseServiceHandle(svc);
    CloseServiceHandle(scm);
    return ok;
}

static void report_status(DWORD state, DWORD exit_code, DWORD wait_hint)
{
    static DWORD checkpoint = 1;
    if (g_console || g_status_handle == NULL)
        return;
    g_status.dwServiceType = SERVICE_WIN32_OWN_PROCESS;
    g_status.dwCurrentState = state;
    g_status.dwWin32ExitCode = exit_code;
    g_status.dwWaitHint = wait_hint;
    g_status.dwControlsAccepted =
        state == SERVICE_RUNNING ? SERVICE_ACCEPT_STOP | SERVICE_ACCEPT_SHUTDOWN : 0;
    g_status.dwCheckPoint =
        (state == SERVICE_RUNNING || state == SERVICE_STOPPED) ? 0 : checkpoint++;
    SetServiceStatus(g_status_handle, &g_status);
}

/* ---- running a program, its output into the log ---------------------------------------------- */

static void log_output(char *buf, DWORD len)
{
    /* cmd writes in the OEM code page: convert each line to text for the log */
    DWORD start = 0, i;
    for (i = 0; i <= len; i++) {
        if (i == len || buf[i] == '\n') {
            DWORD end = i;
            WCHAR wide[LINE];
            int n;
            if (end > start && buf[end - 1] == '\r')
                end--;
            if (end > start) {
                n = MultiByteToWideChar(CP_OEMCP, 0, buf + start, (int)(end - start), wide,
                                        LINE - 8);
                wide[n > 0 ? n : 0] = 0;
                log_line(L"    | %ls", wide);
            }
            start = i + 1;
        }
    }
}

/* Run a command line; its output goes to the log line by line. Returns the exit code, or -1
 * when it could not start, -2 when it ran past its timeout (the whole tree is then killed). */
static int run_command(WCHAR *command, DWORD timeout_s)
{
    SECURITY_ATTRIBUTES sa = {sizeof sa, NULL, TRUE};
    STARTUPINFOW si;
    PROCESS_INFORMATION pi;
    HANDLE rd, wr, job;
    JOBOBJECT_EXTENDED_LIMIT_INFORMATION limits;
    char buf[8192], pending[LINE];
    DWORD got, code = 0, started = GetTickCount(), pending_len = 0;
    int result;
    BOOL timed_out = FALSE;

    if (!CreatePipe(&rd, &wr, &sa, 0))
        return -1;
    SetHandleInformation(rd, HANDLE_FLAG_INHERIT, 0);
    ZeroMemory(&si, sizeof si);
    si.cb = sizeof si;
    si.dwFlags = STARTF_USESTDHANDLES | STARTF_USESHOWWINDOW;
    si.wShowWindow = SW_HIDE;
    si.hStdOutput = wr;
    si.hStdError = wr;
    si.hStdInput = GetStdHandle(STD_INPUT_HANDLE);
    job = CreateJobObjectW(NULL, NULL);
    if (job != NULL) {
        ZeroMemory(&limits, sizeof limits);
        limits.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
        SetInformationJobObject(job, JobObjectExtendedLimitInformation, &limits, sizeof limits);
    }
    if (!CreateProcessW(NULL, command, NULL, NULL, TRUE, CREATE_NO_WINDOW | CREATE_SUSPENDED,
                        NULL, g_dir, &si, &pi)) {
        log_line(L"  cannot start: error %lu", GetLastError());
        CloseHandle(rd);
        CloseHandle(wr);
        if (job != NULL)
            CloseHandle(job);
        return -1;
    }
    if (job != NULL)
        AssignProcessToJobObject(job, pi.hProcess);
    ResumeThread(pi.hThread);
    CloseHandle(pi.hThread);
    CloseHandle(wr);
    for (;;) {
        DWORD avail = 0, waited;
        if (PeekNamedPipe(rd, NULL, 0, NULL, &avail, NULL) && avail > 0) {
            if (!ReadFile(rd, buf, min(avail, (DWORD)sizeof buf), &got, NULL) || got == 0)
                break;
            /* keep whole lines together across reads */
            {
                DWORD i, last = 0;
                for (i = 0; i < got; i++)
                    if (buf[i] == '\n')
                        last = i + 1;
                if (last == 0) {
                    DWORD take = min(got, (DWORD)(LINE - 1 - pending_len));
                    memcpy(pending + pending_len, buf, take);
                    pending_len += take;
                    if (pending_len >= LINE - 1) {
                        log_output(pending, pending_len);
                        pending_len = 0;
                    }
                } else {
                    if (pending_len) {
                        DWORD take = min(last, (DWORD)(LINE - 1 - pending_len));
                        memcpy(pending + pending_len, buf, take);
                        log_output(pending, pending_len + take);
                        pending_len = 0;
                    } else {
                        log_output(buf, last);
                    }
                    pending_len = min(got - last, (DWORD)(LINE - 1));
                    memcpy(pending, buf + last, pending_len);
                }
            }
            continue;
        }
        waited = WaitForSingleObject(pi.hProcess, 100);
        if (waited == WAIT_OBJECT_0) {
            /* drain what is left */
            while (PeekNamedPipe(rd, NULL, 0, NULL, &avail, NULL) && avail > 0 &&
                   ReadFile(rd, buf, min(avail, (DWORD)sizeof buf), &got, NULL) && got > 0) {
                if (pending_len) {
                    log_output(pending, pending_len);
                    pending_len = 0;
                }
                log_output(buf, got);
            }
            break;
        }
        if (timeout_s && GetTickCount() - started > timeout_s * 1000UL) {
            timed_out = TRUE;
            break;
        }
        if (g_stopping) {
            timed_out = TRUE;
            break;
        }
    }
    if (pending_len)
        log_output(pending, pending_len);
    if (timed_out) {
        if (job != NULL)
            TerminateJobObject(job, 1);
        else
            TerminateProcess(pi.hProcess, 1);
        WaitForSingleObject(pi.hProcess, 5000);
        result = -2;
    } else {
        GetExitCodeProcess(pi.hProcess, &code);
        result = (int)code;
    }
    CloseHandle(pi.hProcess);
    CloseHandle(rd);
    if (job != NULL)
        CloseHandle(job);
    return result;
}

static int run_cmd_script(const WCHAR *script, DWORD timeout_s)
{
    WCHAR comspec[MAX_PATH], command[MAX_PATH * 3];
    if (!GetEnvironmentVariableW(L"ComSpec", comspec, MAX_PATH)) {
        GetSystemDirectoryW(comspec, MAX_PATH);
        wcscat(comspec, L"\\cmd.exe");
    }
    /* /d: no AutoRun commands; the outer quotes are cmd's /c rule for a quoted path */
    _snwprintf(command, MAX_PATH * 3, L"\"%ls\" /d /c \"\"%ls\\%ls\"\"", comspec, g_dir, script);
    command[MAX_PATH * 3 - 1] = 0;
    return run_command(command, timeout_s);
}

/* ---- Plug and Play -------------------------------------------------------------------------- */

static BOOL wait_for_devices(DWORD timeout_s)
{
    HMODULE cfg = LoadLibraryW(L"cfgmgr32.dll");
    HMODULE setupapi = LoadLibraryW(L"setupapi.dll");
    CmLocateDevNodeW locate = NULL;
    CmReenumerateDevNode reenumerate = NULL;
    CmpWaitNoPendingInstallEvents wait = NULL;
    DWORD root = 0, result;
    if (cfg != NULL) {
        locate = (CmLocateDevNodeW)(void *)GetProcAddress(cfg, "CM_Locate_DevNodeW");
        reenumerate = (CmReenumerateDevNode)(void *)GetProcAddress(cfg, "CM_Reenumerate_DevNode");
        wait = (CmpWaitNoPendingInstallEvents)(void *)GetProcAddress(
            cfg, "CMP_WaitNoPendingInstallEvents");
    }
    if (wait == NULL && setupapi != NULL) /* Windows XP and 2003 export it from setupapi */
        wait = (CmpWaitNoPendingInstallEvents)(void *)GetProcAddress(
            setupapi, "CMP_WaitNoPendingInstallEvents");
    if (locate != NULL && reenumerate != NULL && locate(&root, NULL, 0) == 0) {
        result = reenumerate(root, 0x1 /* CM_REENUMERATE_SYNCHRONOUS */);
        log_line(L"  devices re-enumerated (CM_Reenumerate_DevNode: %lu)", result);
    } else {
        log_line(L"  cannot ask Plug and Play to re-enumerate here (cfgmgr32 lacks it)");
    }
    if (wait == NULL) {
        log_line(L"  no CMP_WaitNoPendingInstallEvents here: waiting %lu s instead",
             min(timeout_s, 60UL));
        WaitForSingleObject(g_stop_event, min(timeout_s, 60UL) * 1000UL);
        return TRUE;
    }
    result = wait(timeout_s * 1000UL);
    if (result == WAIT_OBJECT_0) {
        log_line(L"  Plug and Play has no installation pending");
        return TRUE;
    }
    log_line(L"  Plug and Play still busy after %lu s (result %lu): going on", timeout_s, result);
    return TRUE; /* the adapter search below waits again and decides */
}

/* ---- the new network adapter ---------------------------------------------------------------- */

typedef struct {
    WCHAR guid[64];
    WCHAR name[256];
    WCHAR mac[32];
    DWORD index;
} Adapter;

static void mac_text(const BYTE *addr, DWORD len, WCHAR *out)
{
    DWORD i;
    out[0] = 0;
    for (i = 0; i < len && i < 8; i++)
        _snwprintf(out + wcslen(out), 4, i ? L"-%02X" : L"%02X", addr[i]);
}

/* Tests list fake adapters in a file named by KVMCONV_ADAPTERS_FILE: one per line,
 * GUID, index, name and MAC separated by tabs (Wine reports the host's interfaces, which a test
 * cannot choose). */
static int read_fake_adapters(const WCHAR *path, Adapter *out, int max)
{
    FILE *f = _wfopen(path, L"rb");
    char line[1024];
    int count = 0;
    if (f == NULL)
        return 0;
    while (count < max && fgets(line, sizeof line, f)) {
        WCHAR wide[1024], *parts[4], *p = wide;
        int n = 0;
        MultiByteToWideChar(CP_UTF8, 0, line, -1, wide, 1024);
        wide[wcscspn(wide, L"\r\n")] = 0;
        if (!wide[0])
            continue;
        while (n < 4) {
            parts[n++] = p;
            p = wcschr(p, L'\t');
            if (p == NULL)
                break;
            *p++ = 0;
        }
        if (n < 4)
            continue;
        lstrcpynW(out[count].guid, parts[0], 64);
        out[count].index = (DWORD)_wtoi(parts[1]);
        lstrcpynW(out[count].name, parts[2], 256);
        lstrcpynW(out[count].mac, parts[3], 32);
        count++;
    }
    fclose(f);
    return count;
}

static int list_adapters(Adapter *out, int max)
{
    WCHAR fake[MAX_PATH];
    HMODULE iphlp;
    GetAdaptersAddressesFn gaa;
    IP_ADAPTER_ADDRESSES *list, *a;
    ULONG size = 64 * 1024;
    int count = 0;
    if (GetEnvironmentVariableW(L"KVMCONV_ADAPTERS_FILE", fake, MAX_PATH))
        return read_fake_adapters(fake, out, max);
    iphlp = LoadLibraryW(L"iphlpapi.dll");
    gaa = iphlp ? (GetAdaptersAddressesFn)(void *)GetProcAddress(iphlp, "GetAdaptersAddresses")
                : NULL;
    if (gaa == NULL)
        return -1;
    list = (IP_ADAPTER_ADDRESSES *)HeapAlloc(GetProcessHeap(), 0, size);
    if (list == NULL)
        return -1;
    if (gaa(AF_UNSPEC, GAA_FLAG_SKIP_ANYCAST | GAA_FLAG_SKIP_MULTICAST, NULL, list, &size) !=
        NO_ERROR) {
        HeapFree(GetProcessHeap(), 0, list);
        return -1;
    }
    for (a = list; a != NULL && count < max; a = a->Next) {
        if (a->IfType != IF_TYPE_ETHERNET_CSMACD || a->PhysicalAddressLength != 6)
            continue;
        MultiByteToWideChar(CP_ACP, 0, a->AdapterName, -1, out[count].guid, 64);
        lstrcpynW(out[count].name, a->FriendlyName ? a->FriendlyName : L"", 256);
        mac_text(a->PhysicalAddress, a->PhysicalAddressLength, out[count].mac);
        out[count].index = a->IfIndex;
        count++;
    }
    HeapFree(GetProcessHeap(), 0, list);
    return count;
}

static BOOL in_list(const WCHAR *list, const WCHAR *guid)
{
    const WCHAR *p = list;
    size_t n = wcslen(guid);
    while (p && *p) {
        const WCHAR *end = wcschr(p, L';');
        size_t len = end ? (size_t)(end - p) : wcslen(p);
        if (len == n && _wcsnicmp(p, guid, n) == 0)
            return TRUE;
        p = end ? end + 1 : NULL;
    }
    return FALSE;
}

static void export_adapter(const Adapter *a)
{
    WCHAR index[16];
    _snwprintf(index, 16, L"%lu", a->index);
    SetEnvironmentVariableW(L"KVMCONV_NIC_GUID", a->guid);
    SetEnvironmentVariableW(L"KVMCONV_NIC_INDEX", index);
    SetEnvironmentVariableW(L"KVMCONV_NIC_NAME", a->name);
    SetEnvironmentVariableW(L"KVMCONV_NIC_MAC", a->mac);
}

/* Returns 0 when found (exported, recorded under the step's name), 1 on failure. */
static int find_adapter(const WCHAR *section, const WCHAR *step_name, DWORD timeout_s)
{
    static WCHAR known[16384];
    WCHAR mac[64], key[128];
    Adapter adapters[64];
    DWORD started = GetTickCount();
    ini_get(section, L"Mac", L"", mac, 64);
    ini_get(section, L"KnownGuids", L"", known, 16384);
    for (;;) {
        int n = list_adapters(adapters, 64), i, match = -1, matches = 0;
        if (n < 0) {
            log_line(L"  cannot list the network adapters (GetAdaptersAddresses)");
            return 1;
        }
        for (i = 0; i < n; i++) {
            BOOL hit = mac[0] ? _wcsicmp(adapters[i].mac, mac) == 0
                              : !in_list(known, adapters[i].guid);
            if (hit) {
                matches++;
                match = i;
            }
        }
        if (matches == 1) {
            const Adapter *a = &adapters[match];
            log_line(L"  new adapter: \"%ls\" %ls MAC %ls index %lu", a->name, a->guid, a->mac,
                 a->index);
            export_adapter(a);
            _snwprintf(key, 128, L"%ls.Guid", step_name);
            state_set(key, a->guid);
            _snwprintf(key, 128, L"%ls.Index", step_name);
            state_set_int(key, (int)a->index);
            _snwprintf(key, 128, L"%ls.Name", step_name);
            state_set(key, a->name);
            _snwprintf(key, 128, L"%ls.Mac", step_name);
            state_set(key, a->mac);
            return 0;
        }
        if (matches > 1) {
            log_line(L"  %d adapters could be the new one; not guessing:", matches);
            for (i = 0; i < n; i++)
                log_line(L"    \"%ls\" %ls MAC %ls", adapters[i].name, adapters[i].guid,
                     adapters[i].mac);
            log_line(L"  give the MAC address (winmigrate convert --mac) or set the network by hand");
            return 1;
        }
        if (GetTickCount() - started > timeout_s * 1000UL || g_stopping) {
            log_line(L"  no new adapter after %lu s (%d Ethernet adapter(s) seen%ls%ls)", timeout_s,
                 n, mac[0] ? L", none with MAC " : L"", mac);
            return 1;
        }
        WaitForSingleObject(g_stop_event, 5000);
    }
}

/* A later boot resumes after find-adapter: give the steps the adapter found then. */
static void restore_adapter(const WCHAR *step_name)
{
    Adapter a;
    WCHAR key[128], index[16];
    _snwprintf(key, 128, L"%ls.Guid", step_name);
    state_get(key, a.guid, 64);
    if (!a.guid[0])
        return;
    _snwprintf(key, 128, L"%ls.Index", step_name);
    state_get(key, index, 16);
    a.index = (DWORD)_wtoi(index);
    _snwprintf(key, 128, L"%ls.Name", step_name);
    state_get(key, a.name, 256);
    _snwprintf(key, 128, L"%ls.Mac", step_name);
    state_get(key, a.mac, 32);
    export_adapter(&a);
}

/* ---- finishing: the service and the agent's files go, the log and state stay ---------------- */

static void remove_file(const WCHAR *path)
{
    if (DeleteFileW(path) || GetLastError() == ERROR_FILE_NOT_FOUND)
        return;
    if (MoveFileExW(path, NULL, MOVEFILE_DELAY_UNTIL_REBOOT))
        log_line(L"  %ls: in use, removed at the next boot", path);
    else
        log_line(L"  %ls: cannot be removed (error %lu)", path, GetLastError());
}

static void remove_folder_files(const WCHAR *folder)
{
    WCHAR pattern[MAX_PATH * 2], path[MAX_PATH * 2];
    WIN32_FIND_DATAW fd;
    HANDLE h;
    _snwprintf(pattern, MAX_PATH * 2, L"%ls\\*", folder);
    h = FindFirstFileW(pattern, &fd);
    if (h != INVALID_HANDLE_VALUE) {
        do {
            if (fd.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY)
                continue;
            _snwprintf(path, MAX_PATH * 2, L"%ls\\%ls", folder, fd.cFileName);
            remove_file(path);
        } while (FindNextFileW(h, &fd));
        FindClose(h);
    }
    if (!RemoveDirectoryW(folder))
        MoveFileExW(folder, NULL, MOVEFILE_DELAY_UNTIL_REBOOT);
}

static void finish(void)
{
    WCHAR path[MAX_PATH * 2];
    if (service_config(0, TRUE))
        log_line(L"  service %ls deleted", g_service);
    else
        log_line(L"  service %ls: cannot delete it (error %lu)", g_service, GetLastError());
    _snwprintf(path, MAX_PATH * 2, L"%ls\\steps", g_dir);
    remove_folder_files(path);
    _snwprintf(path, MAX_PATH * 2, L"%ls\\certs", g_dir);
    remove_folder_files(path);
    GetModuleFileNameW(NULL, path, MAX_PATH * 2);
    remove_file(path);
    /* kvmconv.ini stays until here: it is the plan a resumed run would need */
    remove_file(g_ini);
}

/* ---- the steps ---------------------------------------------------------------------------- */

static int run_steps(void)
{
    WCHAR section[32], name[128], action[64], script[MAX_PATH], key[160], done[32];
    WCHAR reboot_cmd[1024];
    int steps, boots, max_boots, i, failed = 0, reboot;

    steps = ini_int(L"KvmConv", L"Steps", 0);
    max_boots = ini_int(L"KvmConv", L"MaxBoots", 3);
    ini_get(L"KvmConv", L"Service", L"KvmConv", g_service, 256);
    if (steps <= 0 || steps > MAX_STEPS) {
        log_line(L"kvmconv.ini has no steps (Steps=%d); nothing to do", steps);
        return 1;
    }
    if (state_int(L"Finished", 0)) {
        log_line(L"the move was already finished; removing the service");
        service_config(SERVICE_DISABLED, FALSE);
        return 0;
    }
    if (state_int(L"Cancelled", 0)) {
        log_line(L"cancelled by the operator (kvmconv.exe cancel); doing nothing");
        service_config(SERVICE_DISABLED, FALSE);
        return 1;
    }
    boots = state_int(L"Boots", 0) + 1;
    state_set_int(L"Boots", boots);
    if (boots > max_boots) {
        log_line(L"started %d times without finishing (MaxBoots=%d): giving up; the service is "
             L"disabled, this log says what failed",
             boots - 1, max_boots);
        state_set(L"GaveUp", L"1");
        service_config(SERVICE_DISABLED, FALSE);
        return 1;
    }
    log_line(L"winmigrate agent %ls: start %d of at most %d, %d step(s), folder %ls", AGENT_VERSION,
         boots, max_boots, steps, g_dir);
    /* [Environment]: variables the steps see */
    {
        static WCHAR env[16384];
        WCHAR *p;
        DWORD n = GetPrivateProfileSectionW(L"Environment", env, 16384, g_ini);
        for (p = env; n && *p; p += wcslen(p) + 1) {
            WCHAR *eq = wcschr(p, L'=');
            if (eq != NULL) {
                /* values may name other variables: PATH=C:\x;%PATH% */
                static WCHAR expanded[8192];
                *eq = 0;
                if (ExpandEnvironmentStringsW(eq + 1, expanded, 8192))
                    SetEnvironmentVariableW(p, expanded);
                *eq = L'=';
            }
        }
    }
    SetEnvironmentVariableW(L"KVMCONV_DIR", g_dir);
    SetEnvironmentVariableW(L"KVMCONV_LOG", g_log);

    for (i = 1; i <= steps && !failed; i++) {
        int timeout, optional, rc = 0;
        if (g_stopping) {
            log_line(L"stopping before step %d (the service was asked to stop); it runs next boot", i);
            return 1;
        }
        _snwprintf(section, 32, L"Step%d", i);
        ini_get(section, L"Name", section, name, 128);
        ini_get(section, L"Action", L"", action, 64);
        timeout = ini_int(section, L"Timeout", 600);
        optional = ini_int(section, L"Optional", 0);
        _snwprintf(key, 160, L"%ls", name);
        state_get(key, done, 32);
        if (lstrcmpiW(done, L"done") == 0 || lstrcmpiW(done, L"skipped") == 0) {
            if (lstrcmpiW(action, L"find-adapter") == 0)
                restore_adapter(name);
            continue;
        }
        state_set(L"Current", name);
        log_line(L"step %d/%d %ls (%ls)", i, steps, name, action);
        if (lstrcmpiW(action, L"cmd") == 0) {
            ini_get(section, L"Script", L"", script, MAX_PATH);
            rc = run_cmd_script(script, (DWORD)timeout);
            if (rc == -2)
                log_line(L"  %ls ran past %d s: stopped", script, timeout);
            else
                log_line(L"  %ls exited with %d", script, rc);
        } else if (lstrcmpiW(action, L"pnp") == 0) {
            rc = wait_for_devices((DWORD)timeout) ? 0 : 1;
        } else if (lstrcmpiW(action, L"find-adapter") == 0) {
            rc = find_adapter(section, name, (DWORD)timeout);
        } else if (lstrcmpiW(action, L"finish") == 0) {
            state_set(name, L"done");
            state_set(L"Finished", L"1");
            state_now(L"FinishedAt");
            state_set(L"Current", NULL);
            log_line(L"all steps done: removing the agent");
            /* read what finish() removes */
            reboot = ini_int(L"KvmConv", L"Reboot", 1);
            ini_get(L"KvmConv", L"RebootCommand", L"shutdown -r -f -t 15", reboot_cmd, 1024);
            finish();
            if (reboot) {
                WCHAR comspec[MAX_PATH], command[1400];
                log_line(L"rebooting: %ls", reboot_cmd);
                if (!GetEnvironmentVariableW(L"ComSpec", comspec, MAX_PATH))
                    wcscpy(comspec, L"cmd.exe");
                _snwprintf(command, 1400, L"\"%ls\" /d /c %ls", comspec, reboot_cmd);
                command[1399] = 0;
                run_command(command, 120);
            } else {
                log_line(L"done; no reboot asked (Reboot=0)");
            }
            return 0;
        } else {
            log_line(L"  unknown action \"%ls\": the plan was made by a newer winmigrate", action);
            rc = 1;
        }
        if (rc == 0) {
            state_set(name, L"done");
        } else if (optional) {
            log_line(L"  step %ls failed; it is optional: going on", name);
            state_set(name, L"skipped");
        } else {
            _snwprintf(key, 160, L"%ls.Failures", name);
            state_set_int(key, state_int(key, 0) + 1);
            state_set(L"LastFailure", name);
            log_line(L"step %ls failed: stopping here; it is tried again at the next start (%d of "
                 L"%d)",
                 name, boots, max_boots);
            if (boots >= max_boots) {
                log_line(L"that was the last start allowed: the service is disabled");
                state_set(L"GaveUp", L"1");
                service_config(SERVICE_DISABLED, FALSE);
            }
            failed = 1;
        }
    }
    return failed;
}

/* ---- the service -------------------------------------------------------------------------- */

static DWORD WINAPI control_handler(DWORD control, DWORD type, void *data, void *context)
{
    (void)type;
    (void)data;
    (void)context;
    if (control == SERVICE_CONTROL_STOP || control == SERVICE_CONTROL_SHUTDOWN) {
        InterlockedExchange(&g_stopping, 1);
        SetEvent(g_stop_event);
        report_status(SERVICE_STOP_PENDING, NO_ERROR, 30000);
        return NO_ERROR;
    }
    if (control == SERVICE_CONTROL_INTERROGATE)
        return NO_ERROR;
    return ERROR_CALL_NOT_IMPLEMENTED;
}

static void WINAPI service_main(DWORD argc, WCHAR **argv)
{
    int rc;
    if (argc >= 1 && argv[0] && argv[0][0])
        lstrcpynW(g_service, argv[0], 256);
    g_status_handle = RegisterServiceCtrlHandlerExW(g_service, control_handler, NULL);
    if (g_status_handle == NULL)
        return;
    /* report running at once: the steps take minutes, the SCM waits 30 s at most */
    report_status(SERVICE_RUNNING, NO_ERROR, 0);
    rc = run_steps();
    report_status(SERVICE_STOPPED, rc ? ERROR_SERVICE_SPECIFIC_ERROR : NO_ERROR, 0);
}

static void locate_self(void)
{
    WCHAR *slash;
    GetModuleFileNameW(NULL, g_dir, MAX_PATH);
    slash = wcsrchr(g_dir, L'\\');
    if (slash != NULL)
        *slash = 0;
    _snwprintf(g_ini, MAX_PATH + 32, L"%ls\\kvmconv.ini", g_dir);
    _snwprintf(g_state, MAX_PATH + 32, L"%ls\\state.ini", g_dir);
    _snwprintf(g_log, MAX_PATH + 32, L"%ls\\kvmconv.log", g_dir);
}

static int print_status(void)
{
    WCHAR all[32768], *p;
    DWORD n = GetPrivateProfileSectionW(L"State", all, 32768, g_state);
    g_console = TRUE;
    if (!n) {
        wprintf(L"no state yet: the agent has not run (%ls)\n", g_state);
        return 0;
    }
    for (p = all; *p; p += wcslen(p) + 1)
        wprintf(L"%ls\n", p);
    return 0;
}

int wmain(int argc, WCHAR **argv)
{
    SERVICE_TABLE_ENTRYW table[] = {{g_service, service_main}, {NULL, NULL}};
    locate_self();
    g_stop_event = CreateEventW(NULL, TRUE, FALSE, NULL);
    if (argc >= 2 && _wcsicmp(argv[1], L"run") == 0) {
        g_console = TRUE;
        ini_get(L"KvmConv", L"Service", L"KvmConv", g_service, 256);
        return run_steps();
    }
    if (argc >= 2 && _wcsicmp(argv[1], L"status") == 0)
        return print_status();
    if (argc >= 2 && _wcsicmp(argv[1], L"cancel") == 0) {
        g_console = TRUE;
        ini_get(L"KvmConv", L"Service", L"KvmConv", g_service, 256);
        state_set(L"Cancelled", L"1");
        log_line(L"cancelled by the operator: the service %ls is disabled%ls", g_service,
             service_config(SERVICE_DISABLED, FALSE) ? L"" : L" (could not change it)");
        return 0;
    }
    if (argc >= 2) {
        fwprintf(stderr, L"usage: kvmconv.exe [run | status | cancel]\n");
        return 2;
    }
    if (!StartServiceCtrlDispatcherW(table)) {
        DWORD err = GetLastError();
        if (err == ERROR_FAILED_SERVICE_CONTROLLER_CONNECT) {
            fwprintf(stderr, L"kvmconv.exe is a service; by hand: kvmconv.exe run | status | "
                             L"cancel\n");
            return 2;
        }
        return (int)err;
    }
    return 0;
}
