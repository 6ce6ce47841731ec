/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cache-store.h"
#include "common-config.h"
#include "common-log.h"
#include "common-macro.h"
#include "common-cgroup.h"
#include "common-notify.h"
#include "common-path.h"
#include "common-time.h"
#include "config.h"
#include "daemon-claim.h"
#include "daemon-http-parse.h"
#include "daemon-archive-tasks.h"
#include "daemon-dedup.h"
#include "daemon-hooks.h"
#include "daemon-http.h"
#include "daemon-pipeline.h"
#include "daemon-queue.h"
#include "daemon-store.h"
#include "daemon-taskdir.h"
#include "sandbox-config.h"

#define MAINTENANCE_INTERVAL_SEC 2
#define GC_INTERVAL_SEC          60
#define RETRY_INTERVAL_SEC       10   /* waiting tasks: has a sync brought their debuginfo? */
#define WORKER_STORE_RETRY_SEC   60   /* shared store: a worker's writes wait that long for PostgreSQL */
#define SPOOL_STALE_SEC          3600 /* shared SaveDir: an upload spool untouched that long is dead */

/* What this daemon does (--role): with a shared store, any number of each run against it. */
typedef enum DaemonRole {
        ROLE_ALL,    /* serves the API and runs tasks: the single node */
        ROLE_API,    /* serves the API; uploads go to the shared SaveDir and queue */
        ROLE_WORKER, /* claims tasks from the shared queue and runs them; no HTTP */
} DaemonRole;

typedef struct Daemon {
        RetraceConfig *config;
        DaemonRole role;
        bool shared;           /* the store is shared (PostgreSQL): tasks are claimed, not pushed */
        TaskStore *store;      /* HTTP's: fails at once while PostgreSQL is unreachable (503) */
        TaskStore *work_store; /* the workers' (shared store only): retries a lost connection */
        Claimer claimer;
        unsigned n_reserved; /* shared store: uploads being received here, not tasks yet */
        char owner[128];     /* shared store: this daemon's name in leases and /metrics */
        Pipeline pipeline;
        TaskQueue *queue;
        HttpServer http;
        pthread_t maintenance;
        pthread_mutex_t lock;
        pthread_cond_t wake;
        bool stopping;
        char spool_owner[20]; /* "p" and 16 random hex digits and "-": this process's spools */
} Daemon;

/* With a shared store, the queue is the store's PENDING tasks: an upload takes a place while fewer than
 * MaxQueuedTasks wait unclaimed, counting the uploads this daemon is receiving. */
static int hook_queue_reserve(void *userdata)
{
        Daemon *d = userdata;
        uint64_t unclaimed = 0, claimed = 0;
        int r;

        if (!d->shared)
                return task_queue_reserve(d->queue);
        r = task_store_queue_depth(d->store, &unclaimed, &claimed);
        if (r < 0)
                return r;
        pthread_mutex_lock(&d->lock);
        if (unclaimed + d->n_reserved >= (uint64_t) (d->config->max_queued_tasks ?: 1))
                r = -EAGAIN;
        else
                d->n_reserved++;
        pthread_mutex_unlock(&d->lock);
        return r;
}

static void hook_queue_release(void *userdata)
{
        Daemon *d = userdata;

        if (!d->shared) {
                task_queue_release(d->queue);
                return;
        }
        pthread_mutex_lock(&d->lock);
        if (d->n_reserved > 0)
                d->n_reserved--;
        pthread_mutex_unlock(&d->lock);
}

static void shared_depth(Daemon *d, unsigned *ret_unclaimed, unsigned *ret_claimed)
{
        uint64_t unclaimed = 0, claimed = 0;

        (void) task_store_queue_depth(d->store, &unclaimed, &claimed);
        *ret_unclaimed = (unsigned) MIN(unclaimed, (uint64_t) UINT_MAX);
        *ret_claimed = (unsigned) MIN(claimed, (uint64_t) UINT_MAX);
}

static unsigned hook_load(void *userdata)
{
        Daemon *d = userdata;
        unsigned unclaimed, claimed;

        if (!d->shared)
                return task_queue_running(d->queue) + task_queue_waiting(d->queue);
        shared_depth(d, &unclaimed, &claimed);
        return unclaimed + claimed;
}

static unsigned hook_queue_running(void *userdata)
{
        Daemon *d = userdata;
        unsigned unclaimed, claimed;

        if (!d->shared)
                return task_queue_running(d->queue);
        shared_depth(d, &unclaimed, &claimed);
        return claimed;
}

static unsigned hook_queue_waiting(void *userdata)
{
        Daemon *d = userdata;
        unsigned unclaimed, claimed;

        if (!d->shared)
                return task_queue_waiting(d->queue);
        shared_depth(d, &unclaimed, &claimed);
        return unclaimed;
}

static void hook_task_created(void *userdata, uint64_t id)
{
        Daemon *d = userdata;
        int r;

        if (d->shared) {
                /* Its files are in SaveDir: claimable now, and the idle workers are woken (NOTIFY). */
                r = task_store_enqueue(d->store, id);
                if (r < 0)
                        log_warning_errno(r,
                                          "Task %" PRIu64 " cannot be queued in the task store yet (%m); a "
                                          "worker's reaper queues it within 10 minutes",
                                          id);
                return;
        }
        r = task_queue_push(d->queue, id);

        /* A full queue here is a race with another upload: the maintenance loop queues it later. */
        if (r < 0 && r != -EAGAIN && r != -EEXIST)
                log_warning_errno(r, "Task %" PRIu64 " could not be queued yet: %m", id);
}

/* Deleting a task, written once: from the API, the task manager and garbage collection (expired);
 * the site's pre/post_remove_task hooks, or pre/post_clean_task for an expired task, run around it. */
static void task_remove(Daemon *d, uint64_t id, const char *why, bool expired)
{
        HookTask h;
        bool hooks = !isempty(d->config->hook_dir) && hook_task_from_store(d->config, d->store, id, &h) >= 0;

        if (hooks) {
                h.cleanup = expired ? "delete" : NULL;
                (void) hooks_run(d->config, expired ? HOOK_PRE_CLEAN_TASK : HOOK_PRE_REMOVE_TASK, &h, NULL);
        }
        /* With a shared store, the daemon running it elsewhere stops when its lease renewal finds the
         * task gone. */
        if (d->queue)
                (void) task_queue_cancel(d->queue, id);
        (void) task_dir_remove(d->config->save_dir, id);
        (void) task_store_delete(d->store, id);
        log_info("Task %" PRIu64 " deleted %s", id, why);
        if (hooks) {
                (void) hooks_run(d->config, expired ? HOOK_POST_CLEAN_TASK : HOOK_POST_REMOVE_TASK, &h,
                                 NULL);
                hook_task_done(&h);
        }
}

static void hook_task_delete(void *userdata, uint64_t id, const char *how)
{
        task_remove(userdata, id, how, false);
}

static int hook_supported_releases(void *userdata, char ***ret)
{
        Daemon *d = userdata;
        return pipeline_client_releases(&d->pipeline, ret);
}

static int hook_release_lookup(void *userdata, const char *id, char **ret_release, char **ret_message)
{
        Daemon *d = userdata;
        return pipeline_map_release(&d->pipeline, id, ret_release, ret_message);
}

static int hook_package_known(void *userdata, const char *nvr, const char *arch, const char *release,
                              bool *ret)
{
        Daemon *d = userdata;
        return pipeline_package_known(&d->pipeline, nvr, arch, release, ret);
}

static int hook_debuginfod_find(void *userdata, DebuginfodKind kind, const char *build_id, const char *arg,
                                DebuginfodFile *ret)
{
        Daemon *d = userdata;
        return pipeline_debuginfod_find(&d->pipeline, kind, build_id, arg, ret);
}

static void hook_root_counts(void *userdata, uint64_t *ret_reused, uint64_t *ret_assembled)
{
        Daemon *d = userdata;
        *ret_reused = __atomic_load_n(&d->pipeline.roots_reused, __ATOMIC_RELAXED);
        *ret_assembled = __atomic_load_n(&d->pipeline.roots_assembled, __ATOMIC_RELAXED);
}

static void cache_mutex_unlock(void *userdata)
{
        pthread_mutex_unlock(userdata);
}

static void cache_mutex_lock(void *userdata)
{
        pthread_mutex_lock(userdata);
}

static void hook_cache_metrics(void *userdata, FILE *f)
{
        Daemon *d = userdata;
        pipeline_render_cache_metrics(&d->pipeline, f);
}

static int hook_interactive_root(void *userdata, const InteractiveSpec *spec, char **ret_root,
                                 int ret_fds[2], char **ret_reason)
{
        Daemon *d = userdata;
        return pipeline_interactive_root(&d->pipeline, spec, ret_root, ret_fds, ret_reason);
}

/* Queues PENDING tasks that are not queued yet: after a restart (tasks that were waiting or running
 * when the daemon died, even by SIGKILL), and uploads that raced for the last place. */
static void queue_pending(Daemon *d)
{
        _cleanup_free_ uint64_t *ids = NULL;
        size_t n = 0;

        if (d->shared) /* workers claim them */
                return;
        if (task_store_list_pending(d->store, &ids, &n) < 0)
                return;
        for (size_t i = 0; i < n; i++) {
                int r;

                /* A task whose end could not be saved stays PENDING in the store; it is not run again. */
                if (pipeline_task_unsaved(&d->pipeline, ids[i]))
                        continue;
                r = task_queue_push(d->queue, ids[i]);
                if (r == -EAGAIN)
                        break;
                if (r >= 0)
                        log_info("Task %" PRIu64 " queued again", ids[i]);
        }
}

/* Free space in SaveDir; unknown counts as plenty (garbage collection then deletes nothing for it). */
static uint64_t save_dir_free(const char *save_dir)
{
        uint64_t n;

        return task_dir_free_space(save_dir, &n) < 0 ? UINT64_MAX : n;
}

/* Spools in SaveDir/.incoming that no upload of this process holds: a previous process's, which
 * nobody finishes (all of them at startup, owner NULL). */
static void remove_stale_spools(Daemon *d, const char *owner)
{
        /* A shared SaveDir holds other daemons' spools too: only those untouched for long are stale. */
        int r = task_spool_remove_stale_older(d->config->save_dir, owner, d->shared ? SPOOL_STALE_SEC : 0);

        if (r < 0)
                log_warning("Cannot clean stale upload spools in %s/.incoming: %s", d->config->save_dir,
                            strerror(-r));
        else if (r > 0)
                log_info("Removed %d stale upload spool(s) of an earlier run from %s/.incoming", r,
                         d->config->save_dir);
}

/* Garbage collection, every GC_INTERVAL_SEC: stale upload spools, then finished tasks past
 * DeleteTaskAfter (successful) or DeleteFailedTaskAfter (failed), oldest first. Nothing else: a task
 * is never deleted before its time to make room, whoever needs the disk; low disk makes /create
 * answer 507 instead (daemon-http-create.c), and is logged here once per pass. */
static void collect_garbage(Daemon *d)
{
        const RetraceConfig *cfg = d->config;
        _cleanup_free_ FinishedTask *tasks = NULL;
        int64_t now;
        size_t n = 0;

        remove_stale_spools(d, d->spool_owner);
        if (task_store_list_finished(d->store, &tasks, &n) < 0)
                return;
        now = now_realtime_usec();
        for (size_t i = 0; i < n; i++) {
                uint64_t keep = tasks[i].success ? cfg->delete_task_after : cfg->delete_failed_task_after,
                         archive = cfg->archive_task_after;
                int64_t age = now - tasks[i].finished_usec;

                /* Archiving, when it is due and not after the deletion. */
                if (archive > 0 && age > (int64_t) archive * 1000000 && (keep == 0 || archive <= keep)) {
                        _cleanup_free_ char *error = NULL;
                        int r = task_archive(cfg, d->store, tasks[i].id, &error);

                        if (r >= 0)
                                log_info("Task %" PRIu64 " archived to %s (older than ArchiveTaskAfter)",
                                         tasks[i].id, cfg->archive_dir);
                        else if (r != -ENOENT)
                                log_warning_errno(r, "Task %" PRIu64 " cannot be archived: %s; it stays",
                                                  tasks[i].id, error ?: strerror(-r));
                        continue;
                }
                if (keep > 0 && age > (int64_t) keep * 1000000) {
                        task_remove(d, tasks[i].id,
                                    tasks[i].success ? "(older than DeleteTaskAfter)"
                                                     : "(older than DeleteFailedTaskAfter)",
                                    true);
                        tasks[i].id = 0;
                }
        }
        (void) dedup_prune(cfg->save_dir); /* identical vmcores no task holds any more */
        {
                uint64_t free_bytes = save_dir_free(cfg->save_dir);

                if (free_bytes < cfg->min_storage_left)
                        log_warning("Free space in SaveDir %s is %" PRIu64
                                    " MiB, below MinStorageLeft (%" PRIu64
                                    " MiB): new uploads are refused (507) until tasks expire "
                                    "(DeleteTaskAfter, DeleteFailedTaskAfter) or space is freed; no task is "
                                    "deleted early",
                                    cfg->save_dir, free_bytes >> 20, cfg->min_storage_left >> 20);
        }
}

static void *maintenance_main(void *arg)
{
        Daemon *d = arg;
        unsigned ticks = 0;

        pthread_mutex_lock(&d->lock);
        while (!d->stopping) {
                struct timespec deadline;

                pthread_mutex_unlock(&d->lock);
                if (d->role != ROLE_API) {
                        pipeline_retry_unsaved(&d->pipeline);
                        queue_pending(d);
                        if (ticks % (RETRY_INTERVAL_SEC / MAINTENANCE_INTERVAL_SEC) == 0)
                                (void) pipeline_retry_waiting(&d->pipeline, NULL);
                }
                /* Garbage collection is the API's: a worker-only daemon never deletes tasks. */
                if (ticks++ % (GC_INTERVAL_SEC / MAINTENANCE_INTERVAL_SEC) == 0 && d->role != ROLE_WORKER)
                        collect_garbage(d);
                pthread_mutex_lock(&d->lock);
                clock_gettime(CLOCK_REALTIME, &deadline);
                deadline.tv_sec += MAINTENANCE_INTERVAL_SEC;
                if (!d->stopping)
                        (void) pthread_cond_timedwait(&d->wake, &d->lock, &deadline);
        }
        pthread_mutex_unlock(&d->lock);
        return NULL;
}

static void help(void)
{
        printf("retrace-server [--config FILE] [--listen ADDR:PORT] [--role all|api|worker]\n\n"
               "Retraces uploaded crash dumps; serves the HTTP API of PROTOCOL.md.\n\n"
               "  --config FILE        retrace-server.conf to read (default: $%s, else %s)\n"
               "  --listen ADDR:PORT   overrides Listen (default 127.0.0.1:8080)\n"
               "  --role ROLE          all (default): serve the API and run tasks; api: serve the API\n"
               "                       only; worker: run tasks only (api and worker need TaskStore)\n"
               "  --migrate            bring the task store's schema up to date and exit\n"
               "  --dump-config        print the configuration in effect and exit\n"
               "  --version            print the version and exit\n",
               RETRACE_CONFIG_ENV, SYSCONFDIR "/retrace-server/retrace-server.conf");
}

/* Replaces *path, when it does not exist, by the first of candidates (relative to this program's
 * directory) whose probe (itself, or probe inside it) is accessible with mode: a build tree
 * (build/daemon → build/sandbox, build/webui) or an installed tree. Says so in the log as key. */
static bool find_beside_self(char **path, const char *const *candidates, size_t n_candidates,
                             const char *probe, int mode, const char *key)
{
        char self[PATH_MAX];
        ssize_t n;

        if (*path && access(*path, mode) >= 0)
                return true;
        n = readlink("/proc/self/exe", self, sizeof(self) - 1);
        if (n <= 0)
                return false;
        self[n] = '\0';
        *strrchr(self, '/') = '\0';
        for (size_t i = 0; i < n_candidates; i++) {
                _cleanup_free_ char *p = path_join(self, candidates[i]), *check = NULL;

                check = p && probe ? path_join(p, probe) : NULL;
                if (p && access(check ?: p, mode) >= 0) {
                        log_info("%s %s does not exist; using %s", key, strna(*path), p);
                        free(*path);
                        *path = TAKE_PTR(p);
                        return true;
                }
        }
        return false;
}

/* The configured SandboxPath, else the helper beside this program. */
static int find_sandbox(RetraceConfig *c)
{
        static const char *const candidates[] = { "../sandbox/retrace-sandbox", "retrace-sandbox",
                                                  "../libexec/retrace-sandbox" };

        if (find_beside_self(&c->sandbox_path, candidates, ELEMENTSOF(candidates), NULL, X_OK,
                             "SandboxPath"))
                return 0;
        return log_error_errno(ENOENT,
                               "The sandbox helper %s does not exist: install retrace-sandbox or set "
                               "SandboxPath in the configuration",
                               c->sandbox_path);
}

/* The configured WebUIDir, else the pages beside this program (meson copies them to build/webui).
 * The API works without them, so a missing Web UI is only a warning (logged when the server
 * starts). */
static void find_webui(RetraceConfig *c)
{
        static const char *const candidates[] = { "../webui", "../share/retrace-server/webui" };

        if (c->webui_dir && access(c->webui_dir, F_OK) >= 0)
                return;
        (void) find_beside_self(&c->webui_dir, candidates, ELEMENTSOF(candidates), "index.html", R_OK,
                                "WebUIDir");
}

/* With a delegated cgroup v2 (the unit's Delegate=), moves the daemon into a leaf so that each
 * sandbox gets a cgroup with pids.max and memory.max beside it; before any thread starts, because
 * the move takes the whole process. Without one, retrace-sandbox's init enforces the same ceilings
 * on the sandbox's process tree (tasks counted, RSS summed and polled). The daemon passes no
 * --pids-max/--memory-max, so the helper's defaults apply. */
static void cgroup_setup(void)
{
        _cleanup_free_ char *own = NULL;
        char problem[512];
        int r;

        r = cgroup_own_dir(&own);
        if (r < 0) {
                log_info(
                        "Sandboxes have no cgroup of their own (no cgroup v2 hierarchy holds this process): "
                        "each sandbox's init enforces its ceilings on the whole process tree itself, at "
                        "most "
                        "%llu tasks and %llu MiB of memory summed over its processes (polled RSS)",
                        (unsigned long long) SANDBOX_PIDS_MAX_DEFAULT,
                        (unsigned long long) (SANDBOX_MEMORY_MAX_DEFAULT >> 20));
                return;
        }
        r = cgroup_delegate_self(own, problem, sizeof(problem));
        if (r < 0)
                log_info("Sandboxes have no cgroup of their own: %s (see Delegate= in docs/deployment.md); "
                         "each sandbox's init enforces its ceilings on the whole process tree itself, at "
                         "most "
                         "%llu tasks and %llu MiB of memory summed over its processes (polled RSS)",
                         problem, (unsigned long long) SANDBOX_PIDS_MAX_DEFAULT,
                         (unsigned long long) (SANDBOX_MEMORY_MAX_DEFAULT >> 20));
        else
                log_info("Sandboxes get their own cgroups below %s with pids.max %llu and memory.max %llu "
                         "MiB",
                         own, (unsigned long long) SANDBOX_PIDS_MAX_DEFAULT,
                         (unsigned long long) (SANDBOX_MEMORY_MAX_DEFAULT >> 20));
}

/* The task store: sqlite in SaveDir, or PostgreSQL (TaskStore) shared with other daemons; then the
 * workers get a store of their own that rides out a short outage of PostgreSQL (it retries for up to
 * TaskLeaseTime), while HTTP's answers 503 at once. */
static int open_stores(Daemon *d)
{
        const RetraceConfig *cfg = d->config;
        _cleanup_free_ char *db = path_join(cfg->save_dir, "tasks.db");
        TaskStoreOptions o = {
                .sqlite_path = db,
                .uri = cfg->task_store,
                .password_file = cfg->task_store_password_file,
                .owner = d->owner,
                .lease_sec = (unsigned) MIN(MAX(cfg->task_lease_time, (uint64_t) 1), (uint64_t) 86400),
                .connections = cfg->task_store_connections,
        };
        int r;

        if (!db)
                return log_oom();
        if (isempty(cfg->task_store) && d->role != ROLE_ALL)
                return log_error("--role %s needs a task store shared by the daemons: set TaskStore = "
                                 "postgresql://… (see docs/deployment.md); with the sqlite store in SaveDir "
                                 "one daemon serves the API and runs the tasks (--role all)",
                                 d->role == ROLE_API ? "api" : "worker"),
                       -EINVAL;
        if (!isempty(cfg->task_store_password_file) && isempty(cfg->task_store))
                log_warning("TaskStorePasswordFile is set but TaskStore is not: the sqlite store needs no "
                            "password");
        r = task_store_open_options(&o, &d->store);
        if (r < 0)
                return isempty(cfg->task_store)
                               ? log_error_errno(r, "Failed to open the task database %s: %m", db)
                               : log_error_errno(r, "Failed to open the task store (TaskStore): %m");
        d->shared = task_store_is_shared(d->store);
        if (d->shared && d->role != ROLE_API) {
                /* A short outage (a restart of PostgreSQL) passes unnoticed by the runs. */
                o.retry_sec = MAX(o.lease_sec, WORKER_STORE_RETRY_SEC);
                o.connections = (cfg->max_parallel_tasks ?: 1) + 2;
                r = task_store_open_options(&o, &d->work_store);
                if (r < 0)
                        return log_error_errno(
                                r, "Failed to open the task store (TaskStore) for the workers: %m");
        }
        return 0;
}

static void set_owner(Daemon *d)
{
        char host[64] = "";

        /* host:pid names this daemon in leases, logs and /metrics; a restart is a new owner. */
        if (gethostname(host, sizeof(host) - 1) < 0 || host[0] == '\0')
                strcpy(host, "localhost");
        (void) snprintf(d->owner, sizeof(d->owner), "%s:%d", host, (int) getpid());
}

static int setup(Daemon *d, const char *listen_override)
{
        _cleanup_free_ char *error = NULL;
        CacheLimits limits;
        int r;

        pthread_mutex_init(&d->lock, NULL);
        pthread_cond_init(&d->wake, NULL);
        set_owner(d);

        if (listen_override) {
                char *l = strdup(listen_override);
                if (!l)
                        return log_oom();
                free(d->config->listen);
                d->config->listen = l;
        }
        r = find_sandbox(d->config);
        if (r < 0)
                return r;
        cgroup_setup();
        find_webui(d->config);
        if (d->config->allow_task_manager && isempty(d->config->task_manager_password))
                log_warning("AllowTaskManager is on but TaskManagerPassword is not set: the task manager "
                            "refuses every login");
        r = hooks_check_config(d->config, &error);
        if (r < 0)
                return log_error_errno(r, "%s", strna(error));
        if (d->config->archive_task_after > 0 && isempty(d->config->archive_dir))
                return log_error("ArchiveTaskAfter is set but ArchiveDir is not: set ArchiveDir to the "
                                 "directory "
                                 "archived tasks move to"),
                       -EINVAL;
        if (!address_ranges_valid(d->config->debuginfod_allow_from))
                return log_error("DebuginfodAllowFrom = %s is not a list of ADDR[/PREFIX] ranges "
                                 "(e.g. 127.0.0.0/8 ::1 10.0.0.0/8)",
                                 d->config->debuginfod_allow_from),
                       -EINVAL;
        if (d->config->allow_debuginfod)
                log_info("Answering debuginfod requests (/buildid/…) from %s",
                         isempty(d->config->debuginfod_allow_from) ? "every address"
                                                                   : d->config->debuginfod_allow_from);
        r = path_mkdir_p(d->config->save_dir, 0750);
        if (r < 0)
                return log_error_errno(
                        r,
                        "Failed to create SaveDir %s: %m (set SaveDir in the configuration to a "
                        "directory you may write)",
                        d->config->save_dir);
        r = open_stores(d);
        if (r < 0)
                return r;
        if (d->role != ROLE_WORKER)
                remove_stale_spools(d, NULL);
        {
                uint64_t token;

                if (getrandom(&token, sizeof(token), 0) != sizeof(token))
                        token = (uint64_t) getpid() ^ (uint64_t) now_realtime_usec();
                (void) snprintf(d->spool_owner, sizeof(d->spool_owner), "p%016" PRIx64 "-", token);
        }

        cache_limits_from_config(d->config, &limits);
        r = cache_open(d->config->cache_dir, &limits, &d->pipeline.cache);
        if (r < 0)
                return log_error_errno(r, "Failed to open the package cache in CacheDir %s: %m",
                                       d->config->cache_dir);
        d->pipeline.config = d->config;
        d->pipeline.store = d->work_store ?: d->store;
        pthread_mutex_init(&d->pipeline.cache_lock, NULL);
        pthread_mutex_init(&d->pipeline.unsaved_lock, NULL);
        /* A lookup that must extract a package releases the mutex meanwhile (cache-store.h). */
        d->pipeline.cache->index_unlock = cache_mutex_unlock;
        d->pipeline.cache->index_lock = cache_mutex_lock;
        d->pipeline.cache->index_lock_userdata = &d->pipeline.cache_lock;
        pipeline_reuse_init(&d->pipeline);
        r = pipeline_load_plugins(&d->pipeline, &error);
        if (r < 0)
                return log_error_errno(r, "Failed to load the distribution plugins: %s", strna(error));
        if (d->pipeline.n_plugins == 0)
                log_warning("No distribution plugin in PluginDir %s: every task will fail with an unknown "
                            "release",
                            d->config->plugin_dir);
        /* Measures the cache (for /metrics) and applies a CacheMaxSize lowered since the last run. */
        pipeline_evict(&d->pipeline);

        /* With a shared store the queue holds only what this daemon claimed: one task per worker. */
        if (d->role != ROLE_API) {
                r = task_queue_new(d->config->max_parallel_tasks ?: 1,
                                   d->shared ? (d->config->max_parallel_tasks ?: 1)
                                             : (d->config->max_queued_tasks ?: 1),
                                   pipeline_run, &d->pipeline, &d->queue);
                if (r < 0)
                        return log_error_errno(r, "Failed to start the workers: %m");
        }
        /* Claims and leases go through the store that fails at once: they back off by themselves, and a
         * stop never waits for an unreachable PostgreSQL. */
        if (d->shared && d->queue) {
                r = claimer_start(
                        &d->claimer, d->store, d->queue,
                        (unsigned) MIN(MAX(d->config->task_lease_time, (uint64_t) 1), (uint64_t) 86400),
                        d->config->task_max_attempts ?: 1);
                if (r < 0)
                        return log_error_errno(r, "Failed to start claiming tasks: %m");
        }
        if (d->role == ROLE_WORKER)
                goto maintenance;

        d->http = (HttpServer){
                .config = d->config,
                .store = d->store,
                .spool_owner = d->spool_owner,
                .userdata = d,
                .queue_reserve = hook_queue_reserve,
                .queue_release = hook_queue_release,
                .load = hook_load,
                .queue_running = hook_queue_running,
                .queue_waiting = hook_queue_waiting,
                .task_created = hook_task_created,
                .task_delete = hook_task_delete,
                .supported_releases = hook_supported_releases,
                .release_lookup = hook_release_lookup,
                .package_known = hook_package_known,
                .root_counts = hook_root_counts,
                .debuginfod_find = hook_debuginfod_find,
                .cache_metrics = hook_cache_metrics,
                .interactive_root = hook_interactive_root,
                .save_dirfd = -EBADF,
                .webui_dirfd = -EBADF,
        };
        error = mfree(error);
        r = http_server_start(&d->http, &error);
        if (r < 0)
                return log_error_errno(r, "%s", strna(error));

maintenance:
        r = -pthread_create(&d->maintenance, NULL, maintenance_main, d);
        if (r < 0)
                return log_error_errno(r, "Failed to start the maintenance thread: %m");
        return 0;
}

int main(int argc, char *argv[])
{
        enum { ARG_DUMP_CONFIG = 0x100, ARG_VERSION, ARG_ROLE, ARG_MIGRATE };
        static const struct option options[] = {
                { "config", required_argument, NULL, 'c' },
                { "listen", required_argument, NULL, 'l' },
                { "dump-config", no_argument, NULL, ARG_DUMP_CONFIG },
                { "role", required_argument, NULL, ARG_ROLE },
                { "migrate", no_argument, NULL, ARG_MIGRATE },
                { "version", no_argument, NULL, ARG_VERSION },
                { "help", no_argument, NULL, 'h' },
                {},
        };
        const char *arg_config = NULL, *arg_listen = NULL;
        _cleanup_free_ char *error = NULL;
        bool dump = false, migrate = false;
        Daemon d = {};
        sigset_t mask;
        int r, c, sig;

        log_set_program("retrace-server");
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'c':
                        arg_config = optarg;
                        break;
                case 'l':
                        arg_listen = optarg;
                        break;
                case ARG_DUMP_CONFIG:
                        dump = true;
                        break;
                case ARG_ROLE:
                        if (streq(optarg, "all"))
                                d.role = ROLE_ALL;
                        else if (streq(optarg, "api"))
                                d.role = ROLE_API;
                        else if (streq(optarg, "worker"))
                                d.role = ROLE_WORKER;
                        else {
                                log_error("--role must be all, api or worker, not '%s'", optarg);
                                return EXIT_FAILURE;
                        }
                        break;
                case ARG_MIGRATE:
                        migrate = true;
                        break;
                case ARG_VERSION:
                        printf("retrace-server %s\n", PACKAGE_VERSION);
                        return EXIT_SUCCESS;
                case 'h':
                        help();
                        return EXIT_SUCCESS;
                default:
                        return EXIT_FAILURE;
                }
        if (optind < argc) {
                log_error("Unexpected argument '%s'; see --help", argv[optind]);
                return EXIT_FAILURE;
        }

        r = config_load(arg_config, &d.config, &error);
        if (r < 0) {
                log_error("%s", error ?: strerror(-r));
                return EXIT_FAILURE;
        }
        if (dump) {
                config_dump(d.config, stdout);
                config_free(d.config);
                return EXIT_SUCCESS;
        }
        if (migrate) {
                /* Opening the store applies the migrations it lacks; nothing else starts. */
                set_owner(&d);
                d.role = ROLE_ALL;
                r = isempty(d.config->task_store) ? path_mkdir_p(d.config->save_dir, 0750) : 0;
                if (r < 0)
                        log_error_errno(r, "Failed to create SaveDir %s: %m", d.config->save_dir);
                else
                        r = open_stores(&d);
                if (r >= 0)
                        log_info("The task store (%s) is up to date", task_store_backend_name(d.store));
                d.store = task_store_free(d.store);
                d.work_store = task_store_free(d.work_store);
                config_free(d.config);
                return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
        }

        /* Signals are taken synchronously; every thread started below inherits the mask. */
        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        pthread_sigmask(SIG_BLOCK, &mask, NULL);
        (void) signal(SIGPIPE, SIG_IGN);

        r = setup(&d, arg_listen);
        if (r >= 0) {
                if (d.role == ROLE_WORKER)
                        log_info("Worker %s claiming tasks from the shared queue, tasks in %s, %u workers, "
                                 "%zu "
                                 "distribution plugin(s)",
                                 d.owner, d.config->save_dir, d.config->max_parallel_tasks,
                                 d.pipeline.n_plugins);
                else
                        log_info(
                                "Listening on %s://%s/, tasks in %s, %u workers, %zu distribution plugin(s)",
                                isempty(d.config->tls_certificate) ? "http" : "https", d.config->listen,
                                d.config->save_dir, d.role == ROLE_API ? 0 : d.config->max_parallel_tasks,
                                d.pipeline.n_plugins);
                (void) notify_send("READY=1\nSTATUS=Accepting uploads");
                (void) sigwait(&mask, &sig);
                (void) notify_send("STOPPING=1");
                log_info("Received %s: no new uploads; running tasks are stopped and resume at the next "
                         "start",
                         strsignal(sig));
        }

        /* Stop accepting, then stop the workers (their tasks stay PENDING and are queued again). */
        if (d.http.mhd)
                http_server_stop(&d.http);
        if (d.maintenance) {
                pthread_mutex_lock(&d.lock);
                d.stopping = true;
                pthread_cond_broadcast(&d.wake);
                pthread_mutex_unlock(&d.lock);
                pthread_join(d.maintenance, NULL);
        }
        if (d.claimer.started) {
                _cleanup_free_ uint64_t *held = NULL;
                size_t n_held = 0;

                /* Stop claiming, stop the runs, then give their leases back for another daemon. */
                claimer_stop(&d.claimer);
                (void) task_queue_ids(d.queue, &held, &n_held);
                d.queue = task_queue_free(d.queue);
                claimer_release(&d.claimer, held, n_held);
        }
        d.queue = task_queue_free(d.queue);
        pipeline_done(&d.pipeline);
        d.pipeline.cache = cache_close(d.pipeline.cache);
        d.work_store = task_store_free(d.work_store);
        d.store = task_store_free(d.store);
        config_free(d.config);
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
