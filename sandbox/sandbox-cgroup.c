/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "sandbox-cgroup.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common-cgroup.h"
#include "common-fd.h"
#include "common-file.h"
#include "common-parse.h"
#include "common-path.h"
#include "common-string.h"

static void limit_text(uint64_t v, char *buf, size_t n)
{
        if (v == SANDBOX_CGROUP_UNLIMITED)
                (void) string_copy(buf, n, "max");
        else
                (void) snprintf(buf, n, "%llu", (unsigned long long) v);
}

/* The delegated cgroup sandboxes go into: the parent of our supervisor leaf, made so by the daemon
 * at start (or by an earlier run of ours), or our own cgroup when it was delegated to us alone. */
static int base_find(char **ret, SandboxError *e)
{
        _cleanup_free_ char *own = NULL;
        char problem[SANDBOX_MESSAGE_MAX];
        char *slash;
        int r;

        r = cgroup_own_dir(&own);
        if (r < 0)
                return sandbox_error_set(e, -r,
                                         "no cgroup v2 hierarchy holds this process (cgroup v1 or "
                                         "hybrid system)");
        slash = strrchr(own, '/');
        if (slash && streq(slash + 1, CGROUP_SUPERVISOR_LEAF)) {
                *slash = '\0';
                *ret = TAKE_PTR(own);
                return 0;
        }
        r = cgroup_delegate_self(own, problem, sizeof(problem));
        if (r < 0)
                return sandbox_error_set(e, -r, "%s", problem);
        *ret = TAKE_PTR(own);
        return 0;
}

int sandbox_cgroup_create(const SandboxConfig *c, SandboxCgroup *ret, SandboxError *e)
{
        _cleanup_(sandbox_cgroup_destroy) SandboxCgroup cg = SANDBOX_CGROUP_NULL;
        _cleanup_free_ char *base = NULL, *enabled = NULL;
        char value[32];
        struct timespec ts;
        int r;

        r = base_find(&base, e);
        if (r < 0)
                return r;
        cg.base_fd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (cg.base_fd < 0)
                return sandbox_error_set(e, errno, "cannot open cgroup %s", base);
        r = file_read_at(cg.base_fd, "cgroup.subtree_control", 4096, &enabled, NULL);
        if (r < 0)
                return sandbox_error_set(e, -r, "cannot read %s/cgroup.subtree_control", base);
        cg.pids = cgroup_list_contains(enabled, "pids");
        cg.memory = cgroup_list_contains(enabled, "memory");
        if (!cg.pids && !cg.memory)
                return sandbox_error_set(e, EOPNOTSUPP,
                                         "cgroup %s gives its children neither the pids nor the memory "
                                         "controller",
                                         base);

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        (void) snprintf(cg.name, sizeof(cg.name), "sandbox-%d-%llx", (int) getpid(),
                        (unsigned long long) ts.tv_nsec);
        if (mkdirat(cg.base_fd, cg.name, 0755) < 0) {
                r = sandbox_error_set(e, errno, "cannot create cgroup %s/%s", base, cg.name);
                cg.name[0] = '\0';
                return r;
        }
        cg.fd = openat(cg.base_fd, cg.name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (cg.fd < 0)
                return sandbox_error_set(e, errno, "cannot open cgroup %s/%s", base, cg.name);
        if (cg.pids) {
                limit_text(c->pids_max, value, sizeof(value));
                r = cgroup_write_at(cg.fd, "pids.max", value);
                if (r < 0)
                        return sandbox_error_set(e, -r, "cannot set pids.max of %s/%s", base, cg.name);
        }
        if (cg.memory) {
                limit_text(c->memory_max, value, sizeof(value));
                r = cgroup_write_at(cg.fd, "memory.max", value);
                if (r < 0)
                        return sandbox_error_set(e, -r, "cannot set memory.max of %s/%s", base, cg.name);
                /* Without swap accounting the file does not exist: nothing to limit then. */
                r = cgroup_write_at(cg.fd, "memory.swap.max", "0");
                if (r < 0 && r != -ENOENT)
                        return sandbox_error_set(e, -r, "cannot set memory.swap.max of %s/%s", base,
                                                 cg.name);
                /* An OOM kill takes everything inside, not one process that the rest would miss. */
                (void) cgroup_write_at(cg.fd, "memory.oom.group", "1");
        }
        cg.path = path_join(base, cg.name);
        if (!cg.path)
                return sandbox_error_set(e, ENOMEM, "out of memory");
        *ret = cg;
        cg = (SandboxCgroup) SANDBOX_CGROUP_NULL;
        return 0;
}

int sandbox_cgroup_attach(SandboxCgroup *cg, pid_t pid)
{
        char text[32];

        (void) snprintf(text, sizeof(text), "%d", (int) pid);
        return cgroup_write_at(cg->fd, "cgroup.procs", text);
}

/* The number after "key " in a flat-keyed cgroup file such as pids.events; 0 when absent. */
static uint64_t keyed_value(int dir_fd, const char *file, const char *key)
{
        _cleanup_free_ char *text = NULL;
        size_t n = strlen(key);

        if (file_read_at(dir_fd, file, 4096, &text, NULL) < 0)
                return 0;
        for (char *line = text; line && *line;) {
                char *end = strchrnul(line, '\n');
                uint64_t v;

                if (strncmp(line, key, n) == 0 && line[n] == ' ') {
                        *end = '\0';
                        return parse_uint64(line + n + 1, &v) >= 0 ? v : 0;
                }
                line = *end ? end + 1 : NULL;
        }
        return 0;
}

void sandbox_cgroup_collect(const SandboxCgroup *cg, SandboxResult *r)
{
        _cleanup_free_ char *peak = NULL;
        uint64_t v;

        if (cg->fd < 0)
                return;
        r->cgroup_used = true;
        (void) string_copy(r->cgroup_path, sizeof(r->cgroup_path), cg->path);
        if (cg->pids)
                r->pids_limit_hit = keyed_value(cg->fd, "pids.events", "max") > 0;
        if (cg->memory) {
                r->memory_limit_hit = keyed_value(cg->fd, "memory.events", "oom_kill") > 0 ||
                                      keyed_value(cg->fd, "memory.events", "oom_group_kill") > 0;
                /* memory.peak (Linux 5.19) covers every process inside, page cache included: when
                 * there is one, it is the measure (init's polled sum only when there is none). */
                if (file_read_line_at(cg->fd, "memory.peak", 64, &peak) >= 0 && parse_uint64(peak, &v) >= 0)
                        r->peak_memory = v;
        }
}

void sandbox_cgroup_destroy(SandboxCgroup *cg)
{
        if (cg->fd >= 0 && cg->name[0]) {
                /* Normally empty by now: the pid namespace ended with its init. */
                for (int i = 0; i < 50; i++) {
                        if (unlinkat(cg->base_fd, cg->name, AT_REMOVEDIR) >= 0 || errno != EBUSY)
                                break;
                        (void) cgroup_write_at(cg->fd, "cgroup.kill", "1");
                        (void) usleep(10000);
                }
        } else if (cg->base_fd >= 0 && cg->name[0])
                (void) unlinkat(cg->base_fd, cg->name, AT_REMOVEDIR);
        cg->fd = safe_close(cg->fd);
        cg->base_fd = safe_close(cg->base_fd);
        cg->path = mfree(cg->path);
        cg->name[0] = '\0';
}
