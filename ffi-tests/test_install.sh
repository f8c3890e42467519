#!/bin/sh
# test_install.sh — `make install` works like a C library's, and the library exports exactly the
# C ABI.
#
#   sh ffi-tests/test_install.sh MAKE LIBDIR        (the top-level `make test-install` does this)
#
# 1. A DESTDIR install stages the documented files (real .so + SONAME and dev links, .a, headers,
#    tonecore.pc) under DESTDIR while tonecore.pc records the plain PREFIX.
# 2. A full install into a temporary prefix; C (and C++, through tonecore.hpp) programs built with
#    nothing but `pkg-config --cflags --libs tonecore` link the installed libtonecore.so.<ABI> and
#    run against it.
# 3. A static-only install (LIBRARY_TYPES=static); a C program built with
#    `pkg-config --static --cflags --libs tonecore` has no libtonecore dependency and runs.
# 4. The dynamic symbols the shared library defines are exactly the functions declared in
#    include/tonecore.h, all prefixed tonecore_ (Rust's own symbols stay hidden).
# Ends with one `N passed, N failed` line; exits non-zero when any check failed.
set -u
MAKE_CMD=${1:-make}
LIBDIR=${2:-target/release}
cd "$(dirname "$0")/.." || exit 1
ROOT=$(pwd)
CC=${CC:-cc}
CXX=${CXX:-g++}

passed=0
failed=0
ok() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }
check() { # check DESCRIPTION COMMAND...
    what=$1; shift
    if "$@"; then ok; else fail "$what"; fi
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
ABI=$(sed -n 's/^pub const ABI_VERSION: u32 = \([0-9]*\);$/\1/p' src/lib.rs)
VERSION=$(sed -n 's/^version = "\([^"]*\)"$/\1/p' Cargo.toml | head -n 1)
MINOR=$(echo "$VERSION" | cut -d. -f2)
PATCH=$(echo "$VERSION" | cut -d. -f3)
SO_REAL="libtonecore.so.$ABI.$MINOR.$PATCH"

run_quiet() { # run_quiet NAME COMMAND...: runs a smoke program, shows its log only on failure
    name=$1; shift
    if "$@" > "$tmp/$name.log" 2>&1; then
        ok
    else
        fail "$name run"
        cat "$tmp/$name.log"
    fi
}

install_into() { # install_into LOG make-arguments...
    log=$1; shift
    if ! $MAKE_CMD --no-print-directory -s install "$@" > "$log" 2>&1; then
        cat "$log"
        return 1
    fi
}

echo "-- DESTDIR staging"
stage="$tmp/stage"
if install_into "$tmp/stage.log" PREFIX=/opt/tonecore DESTDIR="$stage"; then
    ok
    lib="$stage/opt/tonecore/lib"
    check "real shared library $SO_REAL" test -f "$lib/$SO_REAL" -a ! -L "$lib/$SO_REAL"
    check "SONAME link" test "$(readlink "$lib/libtonecore.so.$ABI")" = "$SO_REAL"
    check "development link" test "$(readlink "$lib/libtonecore.so")" = "libtonecore.so.$ABI"
    check "static library" test -f "$lib/libtonecore.a"
    check "C header" cmp -s include/tonecore.h "$stage/opt/tonecore/include/tonecore.h"
    check "C++ header" cmp -s include/tonecore.hpp "$stage/opt/tonecore/include/tonecore.hpp"
    pc="$lib/pkgconfig/tonecore.pc"
    check "tonecore.pc" test -f "$pc"
    check "tonecore.pc records PREFIX, not DESTDIR" grep -qx 'prefix=/opt/tonecore' "$pc"
    check "tonecore.pc has no DESTDIR path" sh -c "! grep -q '$stage' '$pc'"
    check "tonecore.pc version" grep -qx "Version: $VERSION" "$pc"
    check "tonecore.pc Libs.private" grep -q '^Libs.private: .*-lpthread' "$pc"
    soname=$(readelf -d "$lib/$SO_REAL" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
    check "SONAME is libtonecore.so.$ABI (got '$soname')" test "$soname" = "libtonecore.so.$ABI"
else
    fail "make install DESTDIR=... failed"
fi

echo "-- shared library through pkg-config"
full="$tmp/full"
if install_into "$tmp/full.log" PREFIX="$full"; then
    ok
    export PKG_CONFIG_PATH="$full/lib/pkgconfig"
    check "pkg-config finds tonecore" pkg-config --exists tonecore
    check "pkg-config version" test "$(pkg-config --modversion tonecore)" = "$VERSION"
    # shellcheck disable=SC2046
    if $CC -std=c99 -Wall -Wextra -Werror -pedantic -o "$tmp/smoke_shared" \
        ffi-tests/install_smoke.c $(pkg-config --cflags --libs tonecore) -lm; then
        ok
        check "linked against libtonecore.so.$ABI" sh -c \
            "readelf -d '$tmp/smoke_shared' | grep -q 'NEEDED.*\\[libtonecore.so.$ABI\\]'"
        resolved=$(LD_LIBRARY_PATH="$full/lib" ldd "$tmp/smoke_shared" |
            sed -n 's/.*libtonecore.so.[0-9]* => \([^ ]*\).*/\1/p')
        check "resolves to the installed copy (got '$resolved')" \
            test "$resolved" = "$full/lib/libtonecore.so.$ABI"
        run_quiet smoke_shared env LD_LIBRARY_PATH="$full/lib" "$tmp/smoke_shared"
    else
        fail "C build with pkg-config --cflags --libs"
    fi
    # shellcheck disable=SC2046
    if $CXX -std=c++17 -Wall -Wextra -Werror -pedantic -o "$tmp/smoke_cpp" \
        ffi-tests/install_smoke.cpp $(pkg-config --cflags --libs tonecore); then
        ok
        run_quiet smoke_cpp env LD_LIBRARY_PATH="$full/lib" "$tmp/smoke_cpp"
    else
        fail "C++ build with pkg-config --cflags --libs"
    fi
    unset PKG_CONFIG_PATH
else
    fail "make install PREFIX=... failed"
fi

echo "-- static library through pkg-config --static"
static="$tmp/static"
if install_into "$tmp/static.log" PREFIX="$static" LIBRARY_TYPES=static; then
    ok
    check "static-only prefix has no shared library" sh -c "! ls '$static/lib'/libtonecore.so* 2>/dev/null"
    # shellcheck disable=SC2046
    if $CC -std=c99 -Wall -Wextra -Werror -pedantic -o "$tmp/smoke_static" \
        ffi-tests/install_smoke.c \
        $(PKG_CONFIG_PATH="$static/lib/pkgconfig" pkg-config --static --cflags --libs tonecore) -lm
    then
        ok
        check "no libtonecore.so dependency" sh -c "! readelf -d '$tmp/smoke_static' | grep -q libtonecore"
        run_quiet smoke_static "$tmp/smoke_static"
    else
        fail "C build with pkg-config --static --cflags --libs"
    fi
else
    fail "make install LIBRARY_TYPES=static failed"
fi

echo "-- exported symbols"
so="$LIBDIR/libtonecore.so"
nm -D --defined-only "$so" | awk '{print $3}' | sed 's/@.*//' | sort -u > "$tmp/exported"
# Function declarations in the header: `<type> tonecore_name(` at the start of a line.
sed -n 's/^[A-Za-z_][A-Za-z0-9_ *]*[ *]\(tonecore_[a-z0-9_]*\)(.*/\1/p' include/tonecore.h |
    sort -u > "$tmp/declared"
n_exported=$(wc -l < "$tmp/exported")
n_declared=$(wc -l < "$tmp/declared")
echo "$n_exported exported, $n_declared declared"
check "at least one exported function" test "$n_exported" -gt 0
foreign=$(grep -v '^tonecore_' "$tmp/exported")
check "only tonecore_ symbols exported (extra: $foreign)" test -z "$foreign"
if diff "$tmp/declared" "$tmp/exported" > "$tmp/symdiff"; then
    ok
else
    fail "exported symbols differ from the header's functions (< header only, > library only):"
    cat "$tmp/symdiff"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
