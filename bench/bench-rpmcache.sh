#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Root preparation for one TestOS crash (crashy + libraries + debuginfo + glibc + gdb closure):
# warm assembly, cold import + assembly, rpm --root -i --nodeps --noscripts and, when installed,
# dnf --installroot from the same local repository; cache disk use versus installed sizes.
#   bench/bench-rpmcache.sh BUILD-DIR      (after: ninja -C BUILD-DIR tests/testos.stamp)
set -euo pipefail
build=$(realpath "${1:-build}")
tos=$build/tests/testos
cache=$build/rpmcache/retrace-server-cache
work=$(mktemp -d /var/tmp/bench-rpmcache.XXXXXX)
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
printf '[retrace]\nCacheDir = cache\nRepoDir = repo\n' >"$work/retrace-server.conf"
export RETRACE_SERVER_CONFIG_PATH=$work/retrace-server.conf RETRACE_SERVER_PLUGIN_DIR=$tos/plugins
rel=testos-1-x86_64
pkgs=(crashy-1.0-1.tos1 libtoken-1.0-1.tos1 libparse-1.0-1.tos1 crashy-debuginfo-1.0-1.tos1
      libtoken-debuginfo-1.0-1.tos1 libparse-debuginfo-1.0-1.tos1 glibc-debuginfo-2.36-1.tos1)
files=()
for p in "${pkgs[@]}" filesystem-1.0-1.tos1 gdb-13.1-1.tos1 glibc-2.36-1.tos1 libstdc++-12.2.0-1.tos1 python3-libs-3.11.2-1.tos1; do
        files+=("$(ls "$tos"/repos/1/x86_64/*/Packages/"$p".x86_64.rpm)")
done
now() { date +%s.%N; }

t0=$(now)
"$cache" import --release $rel --repo bench "${files[@]}" 2>/dev/null
root=$("$cache" assemble $rel "${pkgs[@]}" filesystem --with-debugger 2>/dev/null)
t1=$(now)
warm=()
for i in 1 2 3 4 5; do
        s=$(now); "$cache" assemble $rel "${pkgs[@]}" filesystem --with-debugger >/dev/null 2>&1; e=$(now)
        warm+=("$(echo "$e - $s" | bc -l)")
done
warm_best=$(printf '%s\n' "${warm[@]}" | sort -g | head -1)
# Warm assembly of a new set (root not yet built, objects present): the per-task cost.
rmdir_root=$root
chmod -R u+w "$rmdir_root"; rm -rf "$rmdir_root"
s=$(now); "$cache" assemble $rel "${pkgs[@]}" filesystem --with-debugger >/dev/null 2>&1; e=$(now)
build_warm=$(echo "$e - $s" | bc -l)

s=$(now)
rpm --root "$work/rpmroot" --dbpath /var/lib/rpm -i --nodeps --noscripts --nosignature --ignorearch "${files[@]}" 2>/dev/null
e=$(now)
rpm_i=$(echo "$e - $s" | bc -l)

dnf_t=""
if command -v dnf >/dev/null; then
        printf '[main]\ngpgcheck=0\nreposdir=/dev/null\n[tos]\nname=tos\nbaseurl=file://%s/repos/1/x86_64/os\n[tosd]\nname=tosd\nbaseurl=file://%s/repos/1/x86_64/debug\n' "$tos" "$tos" >"$work/dnf.conf"
        s=$(now)
        if dnf -q -y --config "$work/dnf.conf" --installroot "$work/dnfroot" --releasever 1 --setopt=install_weak_deps=0 \
                --setopt=cachedir="$work/dnfcache" --forcearch x86_64 install "${pkgs[@]}" filesystem gdb >/dev/null 2>"$work/dnf.log"; then
                e=$(now); dnf_t=$(echo "$e - $s" | bc -l)
        else
                echo "dnf --installroot failed (see below); its figure is left out" >&2; tail -3 "$work/dnf.log" >&2
        fi
fi

inst=$("$cache" stats | awk '/^installed-bytes/ {print $2}')
disk=$("$cache" stats | awk '/^object-disk-bytes/ {print $2}')
printf 'cold import+assembly:        %8.1f ms\n' "$(echo "($t1 - $t0) * 1000" | bc -l)"
printf 'warm assembly (reuse):       %8.1f ms (best of 5, whole command)\n' "$(echo "$warm_best * 1000" | bc -l)"
printf 'warm assembly (new tree):    %8.1f ms\n' "$(echo "$build_warm * 1000" | bc -l)"
printf 'rpm --root -i --noscripts:   %8.1f ms\n' "$(echo "$rpm_i * 1000" | bc -l)"
[ -n "$dnf_t" ] && printf 'dnf --installroot:           %8.1f ms\n' "$(echo "$dnf_t * 1000" | bc -l)"
printf 'ratio rpm -i / warm reuse:   %8.0fx\n' "$(echo "$rpm_i / $warm_best" | bc -l)"
printf 'ratio rpm -i / warm new:     %8.1fx\n' "$(echo "$rpm_i / $build_warm" | bc -l)"
[ -n "$dnf_t" ] && printf 'ratio dnf / warm reuse:      %8.0fx\n' "$(echo "$dnf_t / $warm_best" | bc -l)"
[ -n "$dnf_t" ] && printf 'ratio dnf / warm new:        %8.1fx\n' "$(echo "$dnf_t / $build_warm" | bc -l)"
printf 'cache disk / installed size: %8.2f (%s / %s bytes)\n' "$(echo "$disk / $inst" | bc -l)" "$disk" "$inst"
