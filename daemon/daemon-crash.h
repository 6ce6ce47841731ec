/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>

/* How crash is asked to load a dump; a task tries them in this order. */
typedef enum CrashMode {
        CRASH_MODE_FULL,
        CRASH_MODE_ZERO_EXCLUDED, /* --zero_excluded: pages makedumpfile left out read as zeros */
        CRASH_MODE_MINIMAL,       /* --minimal: only the kernel log */
        _CRASH_MODE_MAX,
        _CRASH_MODE_INVALID = -EINVAL,
} CrashMode;

const char *crash_mode_to_string(CrashMode m);

/* The command script crash reads on stdin: each command behind a marker line, then exit. */
/* Characters a path in the command script may have besides '/'. */
#define CRASH_PATH_CHARSET  "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._+-~"
#define MODULE_NAME_CHARSET "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
bool crash_path_is_safe(const char *path);
/* module_loads (NULL: none): "NAME PATH" pairs, loaded with "mod -s NAME PATH" before the rest. */
int crash_build_script(CrashMode mode, char *const *module_loads, char **ret);
/* Pure: for each module the `mod` section lists, the file among module_files (debug files of
 * modules, as absolute paths) named after it ("pvpanic-pci.ko" or "pvpanic_pci.ko.debug" for
 * pvpanic_pci), as "NAME PATH" pairs for crash_build_script(). */
int crash_module_loads(const char *mod_section, char *const *module_files, char ***ret);
/* Is path a debug file of a module crash can load (.ko, .ko.debug)? */
bool crash_is_module_file(const char *path);
/* crash's command line: batch (-s), no init files, the mode's option, vmlinux, then the dump. */
/* The command file of an interactive crash session (crash -i): no pager, then the module loads
 * (crash_module_loads(), may be NULL). crash's "!" and pipes need a shell, which the sandbox's --no-exec
 * refuses. */
int crash_build_interactive_init(char *const *module_loads, char **ret);
int crash_build_argv(const char *crash, const char *vmlinux, const char *dump, CrashMode mode, char ***ret);

typedef struct CrashResult {
        char *preamble;   /* what crash said while loading (warnings, errors) */
        char *sys;        /* `sys` */
        char *panic_task; /* `bt`: the panicking (current) task's stack */
        char *all_tasks;  /* `bt -a` */
        char *log;        /* `log`, its last lines only */
        char *ps, *kmem, *mod;
        char *panic;           /* the PANIC: text of `sys`, unquoted; NULL when none */
        bool pid_hash_warning; /* crash could not find the active task in the PID hash (crash < 8.0.4) */
        size_t log_lines_dropped;
} CrashResult;

CrashResult *crash_result_free(CrashResult *r);
static inline void crash_result_freep(CrashResult **r)
{
        crash_result_free(*r);
}

/* Pure: splits crash's output at the script's markers; keeps the last log_tail lines of `log`. */
int crash_result_parse(const char *out, size_t len, size_t log_tail, CrashResult **ret);
/* Did the run give what its mode promises (full: `sys` and a stack; minimal: a log)? */
bool crash_result_usable(const CrashResult *r, CrashMode mode);
/* The backtrace text: panic message, the panicking task's stack, then the rest. */
int crash_result_format(const CrashResult *r, CrashMode mode, char **ret);
