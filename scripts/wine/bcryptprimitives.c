/* Test harness only (never shipped): Wine 8.0, as packaged by Debian 12, has no
 * bcryptprimitives.dll, and Rust's standard library (1.78+) imports ProcessPrng from it for
 * randomness on Windows 10 and later, where Windows itself always provides it. This stand-in
 * forwards to RtlGenRandom (advapi32!SystemFunction036), so the cross-built appgrant-cli.exe
 * can start under that Wine. scripts/windows-check.sh builds it with mingw-w64. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    while (length > 0) {
        ULONG chunk = length > 0x10000000 ? 0x10000000 : (ULONG)length;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
