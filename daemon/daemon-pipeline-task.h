/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* The pipeline's core, as the per-kind files (daemon-pipeline-coredump.c, daemon-pipeline-vmcore.c)
 * see it: one TaskRun per task, its log, its stages' failures, the package set, the root, and the one
 * way to run a program in the sandbox. Not for use outside the pipeline. */

#include <stdbool.h>
#include <stdint.h>

#include "cache-extract.h"
#include "common-macro.h"
#include "daemon-core.h"
#include "daemon-interact.h"
#include "daemon-pipeline.h"
#include "daemon-resolution.h"
#include "daemon-vmcore.h"

/* The directory of a foreign core's packages inside the root (gdb's sysroot is "/" FOREIGN_SYSROOT). */
#define FOREIGN_SYSROOT "sysroot"

typedef struct TaskRun {
        Pipeline *p;
        TaskJob *job;
        uint64_t id;
        TaskType type;
        int save_dir_fd;
        int crash_fd;   /* SaveDir/<id>/crash */
        int results_fd; /* SaveDir/<id>/results */
        int log_fd;
        int64_t start_usec;
        int64_t stage_usec[4];

        /* What analysis found: the packages of the root (ids in the cache index), and the build-ids no
         * package has ("build-id (module)"). */
        const Plugin *plugin;
        char *release;
        /* A core of another architecture than the host's: its packages go into the root's sysroot
         * (FOREIGN_SYSROOT), the debugger (gdb_foreign_package) from debugger_release, the host
         * architecture's release of the same version, at the root's top. */
        bool foreign;
        char *debugger_release;
        int64_t *ids;
        size_t n_ids, ids_allocated;
        char **missing;
        TaskResolution resolution; /* coredump tasks: how each module of the core was mapped */
        char *root;
        int64_t *root_ids; /* the packages of the root (at / for a foreign core), for interactive use */
        size_t n_root_ids;
        int cache_lock_fd; /* a shared flock on CacheDir/lock while the task uses a root */
        int root_pin_fd;   /* a shared flock on the root's directory: eviction leaves it (cache-evict.h) */
        uint64_t lookup_extracted; /* packages the resolver extracted for this task (cache misses) */
        ExtractWant *wants;        /* the files the task needs of big debuginfo packages (paths owned) */
        size_t n_wants, wants_allocated;

        /* coredump tasks */
        char *executable, *package, *os_release, *os_info, *packages_list;
        CoreInfo *core;
        uint64_t core_size; /* of the core or the vmcore */

        /* vmcore tasks */
        bool vmcore;
        char *dump_name; /* "vmcore" (or with a VMware suffix) */
        char *dump_dir;  /* host directory holding dump_name: crash/ or converted/ */
        VmcoreInfo *vmcore_info;
        char *vmlinux;        /* its path in the kernel debuginfo package */
        char *vmlinux_object; /* the cache object with its content, bound read-only at VMLINUX_MOUNT */
        char **module_files;  /* with VmcoreModuleDebuginfo: the modules' debug files in the root */
        char *kernel_nevra;

        /* the crash bucket (daemon-duphash.h): 40 hex digits, NULL when none was computed */
        char *duphash;
        /* identical uploads: the content hash this task runs for (others wait), NULL when none */
        char *reuse_hash;
} TaskRun;

/* One stage of a task kind: fails with a one-line reason for the log in *ret_failure. */
typedef int (*TaskStep)(TaskRun *t, char **ret_failure);

/* The task log, in the old server's format: "[YYYY-MM-DD HH:MM:SS] [I|W|E|D] message". */
_printf_(3, 4) void task_log(TaskRun *t, char level, const char *format, ...);
/* Sets the one-line reason a task failed (for its log) and returns error. */
_printf_(3, 4) int task_failf(char **ret_failure, int error, const char *format, ...);

/* Extracts the packages among ids that are not extracted yet (in parallel, outside the cache
 * mutex, which the caller must not hold) and logs "Extracted N packages (X MB) in Y s". A failure
 * names the package. */
int task_extract_packages(TaskRun *t, const int64_t *ids, size_t n, uint64_t *ret_extracted,
                          char **ret_failure);

/* Adds a package (by index id) to the task's root, once. */
int task_add_package(TaskRun *t, int64_t id);
/* Records that the task needs path of package id: a debuginfo package larger than
 * CachePartialExtractSize is then extracted for the files wanted only (cache-extract.h). */
int task_want_file(TaskRun *t, int64_t id, const char *path);
/* The plugin of a distribution, NULL when none. */
const Plugin *pipeline_plugin_for_distribution(Pipeline *p, const char *distribution);

/* Writes results/name (atomically). */
int task_write_result(TaskRun *t, const char *name, const char *text);

/* retrace-sandbox's command line for a debugger: the task's root, crash_dir read-only at CRASH_MOUNT
 * (and a vmlinux, when given, at VMLINUX_MOUNT; a log directory, when given, writable at
 * DEBUGGER_LOG_MOUNT, every file the command writes bounded by MaxOutputSize), a private /tmp, a
 * fixed environment, the time and output limits, then cmd. */
int task_debugger_argv(TaskRun *t, const char *crash_dir, const char *vmlinux, const char *log_dir,
                       uint64_t timeout_sec, char *const *cmd, char ***ret);
#define DEBUGGER_LOG_MOUNT "/out" /* the debugger's log directory inside the sandbox */

/* Runs argv (a retrace-sandbox command line) and waits: stdin from in_fd (or /dev/null when < 0),
 * stdout into results/out_name, stderr into results/sandbox-errors, the sandbox's own report into
 * results/sandbox-status.json (read back: it says whether the time ran out). what names the program in
 * failures. *ret_status is the command's wait status. Fails with *ret_failure set when the sandbox could not
 * be started or set up, or the time ran out; -ECANCELED (no failure) when the task was cancelled. */
int task_sandbox_run(TaskRun *t, char *const *argv, int in_fd, const char *out_name, const char *what,
                     uint64_t timeout_sec, int *ret_status, char **ret_failure);

/* Identical uploads (daemon-pipeline-reuse.c): 1 when t was finished with the result of an earlier
 * task with the same crash files (waiting first while such a task runs), 0 when t must run (it is then
 * registered, so that identical ones wait for it); -ECANCELED when the task was cancelled meanwhile. */
int task_reuse_or_claim(TaskRun *t, int type);
/* Lets the tasks waiting for t's result go on (at the end of t's run). */
void task_reuse_release(TaskRun *t);

/* Missing debuginfo (daemon-pipeline-retry.c): records the build-ids a finished coredump task lacks
 * (all modules without packages or debuginfo when it failed; those that degraded its backtrace when
 * it succeeded), or clears the record. */
void task_record_waiting(TaskRun *t, bool success);

/* Interactive use (daemon-pipeline-interact.c): when the task allows it, writes results/interactive.json:
 * the root's packages, the crash files' directory (and vmlinux), the debugger's command line for a
 * terminal and its command file (init), so that a session can start the debugger again. Never fails
 * the task: a failure is logged. */
void task_save_interactive(TaskRun *t, const char *kind, char *const *command, const char *crash_dir,
                           const char *vmlinux, const char *init);

/* The per-kind stages: analyze, prepare is the core's, run. */
/* gdb indexes (daemon-gdbindex.c): CacheDir/gdb-index, made when missing; -ENOENT when CacheGdbIndex
 * is off or the task is a vmcore's. */
int task_gdb_index_dir(TaskRun *t, char **ret);
/* Builds the missing indexes of the debug files of the task's modules (never fails the task). */
int task_build_gdb_indexes(TaskRun *t);
/* Logs how many indexes gdb read from the index cache (its "[index-cache]" debug lines). */
void task_log_gdb_index_use(TaskRun *t);
#define GDB_INDEX_MOUNT "/gdb-index" /* CacheDir/gdb-index, read-only, inside the sandbox */

int coredump_analyze(TaskRun *t, char **ret_failure);
int coredump_run_gdb(TaskRun *t, char **ret_failure);
int vmcore_analyze(TaskRun *t, char **ret_failure);
int vmcore_run_crash(TaskRun *t, char **ret_failure);
