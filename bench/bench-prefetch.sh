#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Cache size after syncing TestOS and Mosaic with CachePrefetch = none, debugger and all: objects
# on disk, index size, RPM bytes (see rpmcache/README.md, "Extraction on demand").
#   bench/bench-prefetch.sh BUILD-DIR [TESTOS-DIR] [MOSAIC-DIR]
set -euo pipefail
build=$(realpath "${1:?BUILD-DIR}")
tos=$(realpath "${2:-$build/tests/testos}")
mosaic=$(realpath "${3:-$build/tests/mosaic}")
work=$(mktemp -d /tmp/bench-prefetch-XXXXXX)
trap 'rm -rf "$work"' EXIT

for dist in testos mosaic; do
        for prefetch in none debugger all; do
                d=$work/$dist-$prefetch
                mkdir -p "$d/plugins"
                printf '[retrace]\nRepoDir = repo\nCacheDir = cache\nPluginDir = plugins\nCachePrefetch = %s\n' \
                        "$prefetch" >"$d/conf"
                if [ $dist = testos ]; then
                        versions="1 2"
                        printf '[plugin]\ndistribution = testos\ndisplayrelease = TestOS\nversionlist = 1 2\nabrtparser = ^TestOS release ([0-9]+)\nguessparser = \\\\.tos([0-9]+)\ncrash_package = crash\ngdb_package = gdb\ngdb_executable = /usr/bin/gdb\n\n[repo testos]\nmirrors = file://%s/repos/$VER/$ARCH/os\n\n[repo testos-debuginfo]\nmirrors = file://%s/repos/$VER/$ARCH/debug\n' \
                                "$tos" "$tos" >"$d/plugins/testos.conf"
                else
                        versions="10 11 12 13"
                        sed "s|\.\./repos|file://$mosaic/repos|" "$mosaic/plugins/mosaic.conf" >"$d/plugins/mosaic.conf"
                fi
                start=$(date +%s.%N)
                for v in $versions; do
                        "$build/rpmcache/retrace-server-reposync" --config "$d/conf" $dist "$v" x86_64 >/dev/null 2>&1
                done
                end=$(date +%s.%N)
                stats=$("$build/rpmcache/retrace-server-cache" --config "$d/conf" stats)
                get() { sed -n "s/^$1: //p" <<<"$stats"; }
                printf '%-7s %-9s sync %5.1f s  packages %4s (extracted %4s)  rpm %6.1f MB  objects %6.1f MB on disk  index %5.1f MB\n' \
                        $dist $prefetch "$(echo "$end - $start" | bc)" "$(get packages)" "$(get packages-extracted)" \
                        "$(echo "$(get rpm-bytes) / 1000000" | bc -l)" "$(echo "$(get object-disk-bytes) / 1000000" | bc -l)" \
                        "$(echo "$(get index-bytes) / 1000000" | bc -l)"
        done
done
