/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon-gdb-frames.h"

/* Crash buckets: the duplicate hash ABRT computes for a C/C++ crash (abrt-action-analyze-backtrace
 * over satyr), so that a bucket here and a duphash in ABRT name the same crashes. The algorithm, the
 * frames it skips and the exact text hashed are in daemon/README.md ("Crash buckets"). Pure. */

#define DUPHASH_FRAMES 3 /* frames of the crashing thread that enter the hash, as ABRT passes */

/* One frame as the hash sees it. */
typedef struct DuphashFrame {
        const char *function; /* NULL for gdb's "??" */
        const char *source;   /* gdb's "at FILE" file or "from LIBRARY" library, NULL when neither */
        bool have_address;
        uint64_t address;
        bool signal_handler; /* gdb's "<signal handler called>" */
} DuphashFrame;

/* The text of the hash: component, "Thread\n", then one line per frame of the normalized thread
 * (at most DUPHASH_FRAMES of them). frames is not modified. */
int duphash_text(const char *component, const DuphashFrame *frames, size_t n, char **ret);
/* The lower-case hex SHA-1 (40 characters) of text. */
int duphash_sha1(const char *text, char ret[41]);
/* Both steps for one thread of gdb's parsed backtrace. */
int duphash_gdb_thread(const char *component, const GdbThread *thread, char **ret_text, char ret_hash[41]);

/* vmcores: "Kernel panic\n", the panic string, then the top DUPHASH_FRAMES function names of crash's
 * `bt` (panic_task) that are not the kernel's panic and dump machinery, one per line. -ENODATA when
 * there is neither a panic string nor a frame. */
int duphash_vmcore_text(const char *panic, const char *panic_task, char **ret);

/* The component ABRT puts first: the name of a source RPM file name
 * ("coreutils-9.1-6.fc38.src.rpm" → "coreutils"), or of a package N-[E:]V-R[.A] when the source RPM
 * is not known. */
int duphash_component(const char *sourcerpm, const char *package, char **ret);
