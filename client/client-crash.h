/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdint.h>
#include <stdio.h>

/* Where the crash comes from, as the command line says: exactly one of dir, core, coredumpctl. */
typedef struct CrashSource {
        const char *dir, *core, *coredumpctl, *executable, *package, *os_release, *arch;
} CrashSource;

typedef struct Crash {
        char *package, *os_info, *os_release, *arch, *release_id;
        /* Archive members: name and where its data comes from (a file, or text). */
        char **names, **paths, **texts;
        char *tmpdir; /* holds the core exported from systemd-coredump */
} Crash;

void crash_done(Crash *c);
/* Collects the files to upload from an ABRT problem directory (dir), a bare core (core, with the
 * package from `rpm -qf` and the release from /etc/os-release when not given) or a systemd-coredump
 * entry (coredumpctl). Logs what is missing. */
int crash_gather(Crash *c, CrashSource *src);
/* tar | xz -2, into an anonymous temporary file. */
int crash_archive(const Crash *c, FILE **ret, uint64_t *ret_size);
