/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* What the sandbox's init measures of everything inside when no cgroup does it: the sum of the
 * resident sets of all processes and the number of tasks (threads), polled. Lives in a shared page
 * the helper reads after init is gone. */
typedef struct SandboxUsage {
        uint64_t peak_memory; /* bytes: the largest sum of resident sets seen */
        uint64_t peak_tasks;  /* the most tasks (processes and threads, init included) seen */
        uint32_t memory_limit_hit;
        uint32_t pids_limit_hit;
} SandboxUsage;

#define SANDBOX_USAGE_POLL_USEC 50000ULL

/* The VmRSS (bytes) and Threads fields of a /proc/PID/status text. A process without VmRSS (a
 * zombie, a kernel thread) has 0 bytes. -EINVAL when Threads is missing or a field is malformed. */
int sandbox_usage_parse_status(const char *buf, size_t len, uint64_t *ret_rss, uint64_t *ret_tasks);

/* Sums over every process in the /proc that proc_fd is open on (the sandbox's own /proc, inside).
 * Processes that end while being read are skipped. */
int sandbox_usage_scan(int proc_fd, uint64_t *ret_rss, uint64_t *ret_tasks);
