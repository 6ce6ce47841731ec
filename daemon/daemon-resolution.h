/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cache-lookup.h"
#include "daemon-core.h"

/* A coredump task's package resolution: every module of the core mapped by the cache's resolver
 * (cache_lookup_module()), and, once gdb has run, how much of the crashing thread it could name. */

typedef struct ModuleResolution {
        char *path;     /* as the core names it */
        char *build_id; /* NULL when the core has none */
        bool has_note;  /* the module carried a .note.package */
        ModulePackages packages;
} ModuleResolution;

typedef struct FrameQuality {
        unsigned frames;     /* in the crashing thread */
        unsigned with_lines; /* function, file and line */
        unsigned named;      /* function name (with or without a line) */
        unsigned unnamed;    /* "??" */
} FrameQuality;

typedef struct TaskResolution {
        ModuleResolution *modules;
        size_t n_modules;
        unsigned found;             /* modules with a binary package */
        unsigned missing;           /* modules without one */
        unsigned without_debuginfo; /* modules without a debuginfo package */
        bool have_quality;
        FrameQuality quality;
        char **degraded; /* modules the crashing thread has frames without lines in, that lack
                          * debuginfo or a package: "path (build-id …)" */
} TaskResolution;

void task_resolution_done(TaskResolution *r);

/* Maps every module of core (the virtual DSO excepted) in release. executable names the main
 * program when the core does not; crash_packages are the packages the problem directory names
 * (package, packages). */
int task_resolution_run(Cache *cache, const char *release, const CoreInfo *core, const char *executable,
                        char *const *crash_packages, TaskResolution *ret);

/* One log line per module: which package, by which rule, or what was tried. */
char *module_resolution_describe(const ModuleResolution *m);

/* Pure: counts the frames of gdb's "backtrace" text (locals' lines ignored); for each frame without
 * a line, calls cb with its address (0 when gdb printed none) and the "from" library (NULL when
 * none). */
typedef void (*FrameCallback)(uint64_t address, const char *from, size_t from_len, void *userdata);
void gdb_backtrace_quality(const char *text, FrameQuality *ret, FrameCallback cb, void *userdata);

/* Fills quality and degraded from the crashing thread's backtrace text. */
int task_resolution_quality(TaskResolution *r, const CoreInfo *core, const char *crash_thread);

/* The resolution as JSON (results/resolution.json; documented in daemon/README.md). */
int task_resolution_to_json(const TaskResolution *r, char **ret);
