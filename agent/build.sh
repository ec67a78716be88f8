#!/bin/sh
# Build the phase-two agent, kvmconv.exe, for x86 and x64 with Debian's mingw-w64
# (apt-get install gcc-mingw-w64), reproducibly: the same source and compiler give the same
# bytes (no timestamp in the PE header, no build path, no compiler ident string).
#
#   agent/build.sh            -> src/winmigrate/convert/data/kvmconv-x86.exe, kvmconv-x64.exe
#   agent/build.sh OUTDIR     -> OUTDIR/kvmconv-x86.exe, OUTDIR/kvmconv-x64.exe
#
# The subsystem version 5.01 (x86) / 5.02 (x64) lets the programs start on Windows XP and
# Server 2003; _WIN32_WINNT 0x0501 keeps the API to what XP has (newer functions are looked up
# at run time).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-"$here/../src/winmigrate/convert/data"}
mkdir -p "$out"
out=$(cd "$out" && pwd)
cd "$here"
flags="-Os -s -municode -std=gnu99 -Wall -Wextra -Wno-cast-function-type -fno-ident
       -D_WIN32_WINNT=0x0501 -DWINVER=0x0501 -DUNICODE -D_UNICODE"
link="-Wl,--no-insert-timestamp -static-libgcc -ladvapi32"
# shellcheck disable=SC2086
x86_64-w64-mingw32-gcc $flags -o "$out/kvmconv-x64.exe" kvmconv.c $link \
    -Wl,--subsystem,console:5.02
# shellcheck disable=SC2086
i686-w64-mingw32-gcc $flags -o "$out/kvmconv-x86.exe" kvmconv.c $link \
    -Wl,--subsystem,console:5.01
