/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "sandbox-error.h"

#define SANDBOX_TMPFS_SIZE_DEFAULT   (64ULL << 20)
#define SANDBOX_OUTPUT_LIMIT_DEFAULT (16ULL << 20)
#define SANDBOX_RLIMIT_INFINITY      UINT64_MAX
#define SANDBOX_PIDS_MAX_DEFAULT     64ULL /* tasks: gdb uses at most 8 worker threads, crash one */
#define SANDBOX_MEMORY_MAX_DEFAULT   (8ULL << 30)
#define SANDBOX_CGROUP_UNLIMITED     UINT64_MAX /* "max" */

/* Whether the sandbox gets a cgroup v2 of its own with pids.max and memory.max. */
typedef enum SandboxCgroupMode {
        SANDBOX_CGROUP_AUTO,    /* when a delegated subtree is available; rlimits otherwise */
        SANDBOX_CGROUP_NO,      /* never */
        SANDBOX_CGROUP_REQUIRE, /* setup fails without one */
        _SANDBOX_CGROUP_MODE_MAX,
        _SANDBOX_CGROUP_MODE_INVALID = -EINVAL,
} SandboxCgroupMode;

typedef enum SandboxMountType {
        SANDBOX_MOUNT_RO_BIND,
        SANDBOX_MOUNT_BIND,
        SANDBOX_MOUNT_TMPFS,
        _SANDBOX_MOUNT_TYPE_MAX,
        _SANDBOX_MOUNT_TYPE_INVALID = -EINVAL,
} SandboxMountType;

typedef struct SandboxMount {
        SandboxMountType type;
        char *source;  /* host path; NULL for a tmpfs */
        char *dest;    /* normalized absolute path inside the sandbox, never "/" */
        uint64_t size; /* tmpfs only */
} SandboxMount;

/* Everything retrace-sandbox's options describe. Filled by the option parser, read by sandbox_run(). */
typedef struct SandboxConfig {
        char *root;
        bool empty_root;      /* no root directory: / is the sandbox's own empty tmpfs (plus the mounts) */
        SandboxMount *mounts; /* in command-line order: later mounts may go inside earlier ones */
        size_t n_mounts;
        char *chdir;
        char **env;            /* "NAME=VALUE"; the environment starts empty */
        uint64_t timeout_usec; /* 0: no timeout */
        bool rlimit_set[RLIM_NLIMITS];
        uint64_t rlimit[RLIM_NLIMITS]; /* SANDBOX_RLIMIT_INFINITY for "infinity" */
        uint64_t output_limit;
        SandboxCgroupMode cgroup_mode;
        uint64_t pids_max;   /* pids.max; SANDBOX_CGROUP_UNLIMITED for "max" */
        uint64_t memory_max; /* memory.max (memory.swap.max is 0); SANDBOX_CGROUP_UNLIMITED for "max" */
        bool allow_ptrace;
        bool tty;         /* stdin is a terminal: the command's stdin, stdout, stderr and controlling tty */
        bool no_exec;     /* Landlock: nothing but the command (and its ELF interpreter) may be executed */
        int status_fd;    /* -EBADF: none */
        pid_t parent_pid; /* 0: die with whatever parent we have at start; else it must be this one */
        char *lock_path;  /* held (flock) by the helper and init while the sandbox lives; NULL: none */
        int lock_fd;      /* the same for an open file the caller passes (and may hold); -EBADF: none */
        char **argv;
} SandboxConfig;

void sandbox_config_init(SandboxConfig *c);
void sandbox_config_done(SandboxConfig *c);

const char *sandbox_mount_type_to_string(SandboxMountType t);
SandboxCgroupMode sandbox_cgroup_mode_from_string(const char *s);
const char *sandbox_cgroup_mode_to_string(SandboxCgroupMode m);

/* "as", "cpu", "nofile", … ↔ RLIMIT_AS, RLIMIT_CPU, RLIMIT_NOFILE, …; -EINVAL for unknown names. */
int sandbox_rlimit_from_string(const char *s);
const char *sandbox_rlimit_to_string(int resource);

/* Pure parsers of option arguments. */
/* "DEST[:SIZE]": DEST a normalized absolute path other than "/", SIZE as parse_size() (default
 * SANDBOX_TMPFS_SIZE_DEFAULT, at least one page). */
int sandbox_parse_tmpfs(const char *arg, char **ret_dest, uint64_t *ret_size);
/* "NAME=VALUE": sizes (as=4G), seconds (cpu=10min) or counts (nofile=1024), or "infinity". */
int sandbox_parse_rlimit(const char *arg, int *ret_resource, uint64_t *ret_value);
/* Environment variable names: [A-Za-z_][A-Za-z0-9_]*. */
bool sandbox_env_name_is_valid(const char *name);

/* Option handlers: validate, then store in c. -EINVAL for a bad argument. */
int sandbox_config_add_bind(SandboxConfig *c, SandboxMountType type, const char *source, const char *dest);
int sandbox_config_add_tmpfs(SandboxConfig *c, const char *arg);
int sandbox_config_set_rlimit(SandboxConfig *c, const char *arg);
int sandbox_config_set_env(SandboxConfig *c, const char *name, const char *value);
/* "max" or a count (--pids-max), "max" or a size (--memory-max). */
int sandbox_parse_cgroup_limit(const char *arg, bool size, uint64_t *ret);

/* Checks the whole configuration before anything is created; fills e with what is wrong. */
int sandbox_config_validate(const SandboxConfig *c, SandboxError *e);
