/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Missing debuginfo (RetryMissingDebuginfo): a coredump task that failed or is degraded because
 * modules of the core have no package or no debuginfo in the cache records their build-ids; when a
 * later sync brings packages for one of them, the task runs again by itself, within the window. A
 * build-id is looked up again only after the index changed (the release stamp): the negative cache. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cache-lookup.h"
#include "common-log.h"
#include "common-macro.h"
#include "common-string.h"
#include "common-time.h"
#include "daemon-pipeline-task.h"
#include "daemon-store.h"
#include "daemon-taskdir.h"

int64_t pipeline_waiting_since(const Pipeline *p)
{
        return now_realtime_usec() - (int64_t) p->config->retry_missing_debuginfo * 1000000;
}

/* "path (build-id X)" is among the degraded modules of the quality summary. */
static bool module_degraded(const TaskResolution *res, const char *description)
{
        return strv_contains(res->degraded, description);
}

void task_record_waiting(TaskRun *t, bool success)
{
        _cleanup_strv_free_ char **modules = NULL, **build_ids = NULL;
        int r = 0;

        if (t->p->config->retry_missing_debuginfo == 0 || !t->release) {
                (void) task_store_clear_waiting(t->p->store, t->id);
                return;
        }
        for (size_t i = 0; i < t->resolution.n_modules && r >= 0; i++) {
                const ModuleResolution *m = &t->resolution.modules[i];
                _cleanup_free_ char *d = NULL;

                if (!m->build_id || (m->packages.binary.found && m->packages.debuginfo.found))
                        continue;
                if (asprintf(&d, "%s (build-id %s)", m->path, m->build_id) < 0) {
                        r = -ENOMEM;
                        break;
                }
                /* a successful task waits only for what made its backtrace worse */
                if (success && !module_degraded(&t->resolution, d))
                        continue;
                r = strv_extend(&modules, d);
                if (r >= 0)
                        r = strv_extend(&build_ids, m->build_id);
        }
        if (r < 0 || !modules) {
                (void) task_store_clear_waiting(t->p->store, t->id);
                return;
        }
        if (task_store_set_waiting(t->p->store, t->id, t->release, modules, build_ids) < 0)
                return;
        {
                _cleanup_free_ char *list = strv_join(modules, ", ");

                task_log(t, 'I',
                         "Waiting for debuginfo of %s in %s: the task runs again by itself when a sync "
                         "brings "
                         "it (RetryMissingDebuginfo)",
                         strna(list), t->release);
        }
}

/* Does the cache now have the binary and debuginfo packages of the module? */
static bool module_found(Pipeline *p, const char *release, const char *description, const char *build_id)
{
        _cleanup_(module_packages_done) ModulePackages m = {};
        _cleanup_free_ char *path = NULL;
        const char *paren = strstr(description, " (build-id ");
        ModuleQuery q = { .build_id = build_id };

        if (paren && (path = strndup(description, (size_t) (paren - description))))
                q.path = path;
        if (cache_lookup_module(p->cache, release, &q, &m) < 0)
                return false;
        return m.binary.found && m.debuginfo.found;
}

int pipeline_retry_waiting(Pipeline *p, unsigned *ret_restarted)
{
        WaitingTask *v = NULL;
        unsigned restarted = 0;
        size_t n = 0;
        int64_t stamp;
        int r;

        if (p->config->retry_missing_debuginfo == 0)
                return 0;
        r = task_store_list_waiting(p->store, pipeline_waiting_since(p), &v, &n);
        if (r < 0 || n == 0) {
                free(v);
                return r;
        }
        pthread_mutex_lock(&p->cache_lock);
        r = cache_index_release_stamp(p->cache->index, &stamp);
        for (size_t i = 0; r >= 0 && i < n; i++) {
                WaitingTask *w = &v[i];
                const char *found = NULL;

                if (w->stamp == stamp)
                        continue; /* nothing synced since the last lookup */
                for (size_t k = 0; !found && w->modules && w->modules[k] && w->build_ids && w->build_ids[k];
                     k++)
                        if (module_found(p, w->release, w->modules[k], w->build_ids[k]))
                                found = w->modules[k];
                if (!found) {
                        (void) task_store_set_waiting_stamp(p->store, w->id, stamp);
                        continue;
                }
                if (task_store_restart(p->store, w->id) < 0)
                        continue;
                (void) task_dir_remove_results(p->config->save_dir, w->id);
                log_info("Task %" PRIu64 " runs again: a sync brought debuginfo of %s in %s", w->id, found,
                         w->release);
                restarted++;
        }
        pthread_mutex_unlock(&p->cache_lock);
        waiting_tasks_free(v, n);
        if (ret_restarted)
                *ret_restarted = restarted;
        return r;
}
