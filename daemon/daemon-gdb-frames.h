/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon-core.h"
#include "daemon-gdb.h"

/* One "#N …" line of gdb's backtrace. */
typedef struct GdbFrame {
        unsigned index;
        bool have_address; /* "#1  0x… in f (…)"; gdb omits it where the pc is at a line's start */
        uint64_t address;
        char *function; /* NULL for "??" */
        char *file;     /* "at FILE:LINE", else NULL */
        unsigned line;
        char *library; /* "from LIB" (a module without debuginfo), else NULL */
} GdbFrame;

/* One "Thread N (…):" block of "thread apply all backtrace". */
typedef struct GdbThread {
        unsigned number;
        bool have_lwp;
        uint64_t lwp;
        GdbFrame *frames;
        size_t n_frames;
} GdbThread;

typedef struct GdbThreads {
        GdbThread *threads;
        size_t n_threads;
} GdbThreads;

void gdb_threads_done(GdbThreads *t);

/* Parses one frame line ("#3  0x… in f (a=1) at x.c:4"); -EINVAL when it is not one. Pure. */
int gdb_frame_parse(const char *line, size_t len, GdbFrame *ret);
void gdb_frame_done(GdbFrame *f);
/* A thread's header line in "thread apply all backtrace": "Thread 2 (Thread 0x7f… (LWP 11)):" or
 * "Thread 1 (LWP 8):" (number, and the LWP when given); false for any other line. */
bool gdb_thread_header(const char *line, size_t len, GdbThread *ret);
/* Takes the text of "thread apply all backtrace full" apart into threads and frames; lines that
 * are neither a thread header nor a frame (locals, notes) are skipped. Pure; the text is untrusted. */
int gdb_threads_parse(const char *text, GdbThreads *ret);
/* The number N of "[Current thread is N (…)]", 0 when there is none. */
unsigned gdb_current_thread_number(const char *current_thread);

/* results/backtrace.json (schema in daemon/README.md): the threads and frames of r, each frame's
 * module and build-id from the core's modules, the crashing thread marked, signal, fault address,
 * whether a thread's frames were capped at max_frames, and resolution_json (results/
 * resolution.json, may be NULL) as "resolution". */
int gdb_backtrace_json(const GdbResult *r, const CoreInfo *core, int signal, unsigned max_frames,
                       const char *resolution_json, char **ret);

/* Source lines around a frame's line: first_line is the number of lines[0]. */
typedef struct SourceContext {
        unsigned first_line;
        char **lines;
} SourceContext;

/* Finds the source lines around line of path (absolute, as gdb prints it with filename-display
 * absolute) of the build build_id; -ENOENT when the source is not to be had. */
typedef int (*SourceContextFunc)(void *userdata, const char *build_id, const char *path, unsigned line,
                                 SourceContext *ret);

#define SOURCE_CONTEXT_MAX_FRAMES 64 /* frames of the crashing thread that get source lines */

/* What the pipeline adds to backtrace.json beyond gdb's output. */
typedef struct BacktraceExtras {
        const char *duphash; /* "duphash": {"hash", "component"}; null when NULL */
        const char *duphash_component;
        SourceContextFunc source_context; /* "source_context" of the crashing thread's frames */
        void *userdata;
} BacktraceExtras;
int gdb_backtrace_json_full(const GdbResult *r, const CoreInfo *core, int signal, unsigned max_frames,
                            const char *resolution_json, const BacktraceExtras *extras, char **ret);

/* The crashing thread of r's "thread apply all" (gdb's current thread, else the first), parsed into
 * *ret_threads; *ret points into it. -ENODATA when there is no thread. */
int gdb_crashing_thread(const GdbResult *r, GdbThreads *ret_threads, const GdbThread **ret);
