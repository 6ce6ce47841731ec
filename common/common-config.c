/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "common-config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common-parse.h"
#include "common-path.h"
#include "config.h"

#define RETRACE_CONFIG_INSTALLED SYSCONFDIR "/retrace-server/retrace-server.conf"

typedef enum ConfigType {
        CONFIG_PATH,
        CONFIG_OPTIONAL_PATH, /* empty: not set */
        CONFIG_STRING,        /* may be empty */
        CONFIG_UINT,
        CONFIG_SIZE,
        CONFIG_SIZE_MIB, /* a bare number is MiB, as in the old server's configuration */
        CONFIG_SECONDS,
        CONFIG_HOURS, /* a bare number is hours, as in the old server's configuration */
        CONFIG_BOOL,
        CONFIG_PREFETCH, /* none, debugger or all */
} ConfigType;

typedef struct ConfigKey {
        const char *name;
        ConfigType type;
        size_t offset;
        const char *default_value;
} ConfigKey;

#define KEY(n, t, field, def)                             \
        {                                                 \
                n, t, offsetof(RetraceConfig, field), def \
        }

static const ConfigKey config_keys[] = {
        KEY("RepoDir", CONFIG_PATH, repo_dir, "/var/cache/retrace-server"),
        KEY("CacheDir", CONFIG_PATH, cache_dir, "/var/cache/retrace-server/cache"),
        KEY("PluginDir", CONFIG_PATH, plugin_dir, DATADIR "/retrace-server/plugins"),
        KEY("SaveDir", CONFIG_PATH, save_dir, "/var/spool/retrace-server"),
        KEY("MaxParallelTasks", CONFIG_UINT, max_parallel_tasks, "2"),
        KEY("MaxPackedSize", CONFIG_SIZE_MIB, max_packed_size, "30M"),
        KEY("MaxUnpackedSize", CONFIG_SIZE_MIB, max_unpacked_size, "600M"),
        KEY("CacheKeepRoots", CONFIG_UINT, cache_keep_roots, "16"),
        KEY("CacheMaxRpmSize", CONFIG_SIZE, cache_max_rpm_size, "4G"),
        KEY("CacheMaxFileSize", CONFIG_SIZE, cache_max_file_size, "4G"),
        KEY("CacheMaxPackageFiles", CONFIG_UINT, cache_max_package_files, "200000"),
        KEY("CachePrefetch", CONFIG_PREFETCH, cache_prefetch, "debugger"),
        KEY("CacheMaxSize", CONFIG_SIZE, cache_max_size, "0"),
        KEY("CachePartialExtractSize", CONFIG_SIZE, cache_partial_extract_size, "256M"),
        KEY("CacheGdbIndex", CONFIG_BOOL, cache_gdb_index, "yes"),
        KEY("SyncTimeout", CONFIG_SECONDS, sync_timeout, "300"),
        KEY("SyncMaxMetadataSize", CONFIG_SIZE, sync_max_metadata_size, "1G"),
        KEY("Listen", CONFIG_STRING, listen, "127.0.0.1:8080"),
        KEY("MaxQueuedTasks", CONFIG_UINT, max_queued_tasks, "100"),
        KEY("MaxConnections", CONFIG_UINT, max_connections, "512"),
        KEY("MaxConnectionsPerAddress", CONFIG_UINT, max_connections_per_address, "32"),
        KEY("ConnectionTimeout", CONFIG_SECONDS, connection_timeout, "30"),
        KEY("HTTPThreads", CONFIG_UINT, http_threads, "4"),
        KEY("HTTPWorkers", CONFIG_UINT, http_workers, "4"),
        KEY("UnpackWorkers", CONFIG_UINT, unpack_workers, "2"),
        KEY("RequestHeadTimeout", CONFIG_SECONDS, request_head_timeout, "10"),
        KEY("MinUploadRate", CONFIG_SIZE, min_upload_rate, "4K"),
        KEY("UploadRateWindow", CONFIG_SECONDS, upload_rate_window, "20"),
        KEY("PasswordFailuresPerAddress", CONFIG_UINT, password_failures_per_address, "30"),
        KEY("PasswordFailuresTotal", CONFIG_UINT, password_failures_total, "600"),
        KEY("MinStorageLeft", CONFIG_SIZE_MIB, min_storage_left, "1G"),
        KEY("MaxArchiveMembers", CONFIG_SIZE, max_archive_members, "32"),
        KEY("MaxDecompressMemory", CONFIG_SIZE, max_decompress_memory, "20M"),
        KEY("KeepFailedCrashFiles", CONFIG_BOOL, keep_failed_crash_files, "no"),
        KEY("DeleteTaskAfter", CONFIG_HOURS, delete_task_after, "120h"),
        KEY("DeleteFailedTaskAfter", CONFIG_HOURS, delete_failed_task_after, "24h"),
        KEY("TaskTimeout", CONFIG_SECONDS, task_timeout, "30min"),
        KEY("MaxOutputSize", CONFIG_SIZE, max_output_size, "64M"),
        KEY("MaxBacktraceFrames", CONFIG_UINT, max_backtrace_frames, "2048"),
        KEY("MaxBacktraceSize", CONFIG_SIZE, max_backtrace_size, "16M"),
        KEY("ReuseIdenticalUploads", CONFIG_BOOL, reuse_identical_uploads, "yes"),
        KEY("RetryMissingDebuginfo", CONFIG_HOURS, retry_missing_debuginfo, "168h"),
        KEY("RequireHTTPS", CONFIG_BOOL, require_https, "no"),
        KEY("AllowAPIDelete", CONFIG_BOOL, allow_api_delete, "no"),
        KEY("AllowInteractive", CONFIG_BOOL, allow_interactive, "no"),
        KEY("InteractiveAnyTask", CONFIG_BOOL, interactive_any_task, "no"),
        KEY("InteractiveExpiry", CONFIG_SECONDS, interactive_expiry, "24h"),
        KEY("InteractiveIdleTimeout", CONFIG_SECONDS, interactive_idle_timeout, "10min"),
        KEY("InteractiveMaxTime", CONFIG_SECONDS, interactive_max_time, "1h"),
        KEY("InteractiveOrigins", CONFIG_STRING, interactive_origins, ""),
        KEY("InteractiveLogSize", CONFIG_SIZE, interactive_log_size, "16M"),
        KEY("VmcoreModuleDebuginfo", CONFIG_BOOL, vmcore_module_debuginfo, "no"),
        KEY("AllowMetrics", CONFIG_BOOL, allow_metrics, "yes"),
        KEY("AllowTaskManager", CONFIG_BOOL, allow_task_manager, "no"),
        KEY("TaskManagerPassword", CONFIG_STRING, task_manager_password, ""),
        KEY("AllowRemoteTasks", CONFIG_BOOL, allow_remote_tasks, "no"),
        KEY("DropDir", CONFIG_OPTIONAL_PATH, drop_dir, ""),
        KEY("MaxDownloadSize", CONFIG_SIZE_MIB, max_download_size, "0"),
        KEY("DownloadTimeout", CONFIG_SECONDS, download_timeout, "6h"),
        KEY("DownloadStallTimeout", CONFIG_SECONDS, download_stall_timeout, "120"),
        KEY("DownloadRetries", CONFIG_UINT, download_retries, "5"),
        KEY("TLSCertificate", CONFIG_OPTIONAL_PATH, tls_certificate, ""),
        KEY("TLSKey", CONFIG_OPTIONAL_PATH, tls_key, ""),
        KEY("TrustedProxy", CONFIG_STRING, trusted_proxy, ""),
        KEY("SandboxPath", CONFIG_PATH, sandbox_path, LIBEXECDIR "/retrace-sandbox"),
        KEY("WebUIDir", CONFIG_PATH, webui_dir, DATADIR "/retrace-server/webui"),
        KEY("AllowDebuginfod", CONFIG_BOOL, allow_debuginfod, "no"),
        KEY("DebuginfodAllowFrom", CONFIG_STRING, debuginfod_allow_from, ""),
        KEY("DebuginfodRequestsPerAddress", CONFIG_UINT, debuginfod_requests_per_address, "1200"),
        KEY("DebuginfodRequestsTotal", CONFIG_UINT, debuginfod_requests_total, "12000"),
        KEY("HookDir", CONFIG_OPTIONAL_PATH, hook_dir, ""),
        KEY("HookTimeout", CONFIG_SECONDS, hook_timeout, "300"),
        KEY("HookRequired", CONFIG_STRING, hook_required, ""),
        KEY("DedupVmcores", CONFIG_BOOL, dedup_vmcores, "yes"),
        KEY("ArchiveTaskAfter", CONFIG_HOURS, archive_task_after, "0"),
        KEY("ArchiveDir", CONFIG_OPTIONAL_PATH, archive_dir, ""),
        KEY("TaskStore", CONFIG_STRING, task_store, ""),
        KEY("TaskStorePasswordFile", CONFIG_OPTIONAL_PATH, task_store_password_file, ""),
        KEY("TaskStoreConnections", CONFIG_UINT, task_store_connections, "4"),
        KEY("TaskLeaseTime", CONFIG_SECONDS, task_lease_time, "60"),
        KEY("TaskMaxAttempts", CONFIG_UINT, task_max_attempts, "3"),
};

static const char *const cache_prefetch_table[_CACHE_PREFETCH_MAX] = {
        [CACHE_PREFETCH_NONE] = "none",
        [CACHE_PREFETCH_DEBUGGER] = "debugger",
        [CACHE_PREFETCH_ALL] = "all",
};

DEFINE_STRING_TABLE_TO_STRING(cache_prefetch, CachePrefetch, _CACHE_PREFETCH_MAX)
DEFINE_STRING_TABLE_FROM_STRING(cache_prefetch, CachePrefetch, _CACHE_PREFETCH_MAX, _CACHE_PREFETCH_INVALID)

RetraceConfig *config_free(RetraceConfig *c)
{
        if (!c)
                return NULL;
        for (size_t i = 0; i < ELEMENTSOF(config_keys); i++)
                if (IN_SET(config_keys[i].type, CONFIG_PATH, CONFIG_OPTIONAL_PATH, CONFIG_STRING))
                        free(*(char **) ((char *) c + config_keys[i].offset));
        free(c->path);
        return mfree(c);
}

/* A number with a unit suffix goes to parser; a bare number counts in units of bare_factor. */
static int parse_with_bare_unit(const char *value, uint64_t bare_factor,
                                int (*parser)(const char *, uint64_t *), uint64_t *ret)
{
        uint64_t u;

        if (bare_factor > 1 && parse_uint64(value, &u) >= 0) {
                if (u > UINT64_MAX / bare_factor)
                        return -ERANGE;
                *ret = u * bare_factor;
                return 0;
        }
        return parser(value, ret);
}

/* Parses value for key into c; base is the directory relative paths are resolved against (NULL
 * for the embedded defaults, which are absolute). Returns -EINVAL for a bad value. */
static int config_set(RetraceConfig *c, const ConfigKey *k, const char *value, const char *base)
{
        void *field = (char *) c + k->offset;
        uint64_t u;
        unsigned v;
        int r;

        switch (k->type) {
        case CONFIG_PATH: {
                char *p;

                if (isempty(value))
                        return -EINVAL;
                if (value[0] != '/' && base)
                        p = path_join(base, value);
                else
                        p = strdup(value);
                if (!p)
                        return -ENOMEM;
                free(*(char **) field);
                *(char **) field = p;
                return 0;
        }
        case CONFIG_OPTIONAL_PATH:
        case CONFIG_STRING: {
                char *p;

                if (k->type == CONFIG_OPTIONAL_PATH && !isempty(value) && value[0] != '/' && base)
                        p = path_join(base, value);
                else
                        p = strdup(value);
                if (!p)
                        return -ENOMEM;
                free(*(char **) field);
                *(char **) field = p;
                return 0;
        }
        case CONFIG_BOOL: {
                bool b;

                r = parse_boolean(value, &b);
                if (r < 0)
                        return -EINVAL;
                *(bool *) field = b;
                return 0;
        }
        case CONFIG_PREFETCH: {
                CachePrefetch p = cache_prefetch_from_string(value);

                if (p < 0)
                        return -EINVAL;
                *(CachePrefetch *) field = p;
                return 0;
        }
        case CONFIG_UINT:
                r = parse_uint(value, &v);
                if (r < 0)
                        return -EINVAL;
                *(unsigned *) field = v;
                return 0;
        case CONFIG_SIZE:
        case CONFIG_SIZE_MIB:
                /* A bare number is MiB for the keys the old server measured in MiB. */
                r = parse_with_bare_unit(value, k->type == CONFIG_SIZE_MIB ? 1ULL << 20 : 1, parse_size, &u);
                if (r < 0)
                        return -EINVAL;
                *(uint64_t *) field = u;
                return 0;
        case CONFIG_SECONDS:
        case CONFIG_HOURS:
                /* A bare number is hours for the keys the old server measured in hours. */
                r = parse_with_bare_unit(value, k->type == CONFIG_HOURS ? 3600 : 1, parse_seconds, &u);
                if (r < 0)
                        return -EINVAL;
                *(uint64_t *) field = u;
                return 0;
        }
        return -EINVAL;
}

static const char *config_type_to_string(ConfigType t)
{
        switch (t) {
        case CONFIG_PATH:
                return "a path";
        case CONFIG_OPTIONAL_PATH:
                return "a path or nothing";
        case CONFIG_STRING:
                return "a string";
        case CONFIG_BOOL:
                return "yes or no";
        case CONFIG_PREFETCH:
                return "none, debugger or all";
        case CONFIG_SIZE_MIB:
                return "a size in MiB, or with a suffix such as 512K or 1G";
        case CONFIG_HOURS:
                return "a number of hours, or a duration such as 90min or 7d";
        case CONFIG_UINT:
                return "a non-negative integer";
        case CONFIG_SIZE:
                return "a size such as 512, 10K, 50M or 1G";
        case CONFIG_SECONDS:
                return "a duration such as 90, 15min, 2h or 7d";
        }
        return "?";
}

int config_new_default(RetraceConfig **ret)
{
        _cleanup_(config_freep) RetraceConfig *c = calloc(1, sizeof(RetraceConfig));
        int r;

        if (!c)
                return -ENOMEM;
        for (size_t i = 0; i < ELEMENTSOF(config_keys); i++) {
                r = config_set(c, &config_keys[i], config_keys[i].default_value, NULL);
                if (r < 0)
                        return r; /* a bad embedded default is a bug; tests catch it */
        }
        *ret = TAKE_PTR(c);
        return 0;
}

int config_apply_ini(RetraceConfig *c, const IniFile *ini, char **ret_error)
{
        _cleanup_free_ char *base = NULL;
        const char *slash = strrchr(ini->filename, '/');
        int r;

        base = slash ? strndup(ini->filename, slash == ini->filename ? 1 : (size_t) (slash - ini->filename))
                     : strdup(".");
        if (!base)
                return -ENOMEM;

        for (size_t i = 0; i < ini->n_sections; i++) {
                const IniSection *s = &ini->sections[i];

                if (!streq(s->name, "retrace") || s->argument)
                        return ini_error(ret_error, ini->filename, s->line,
                                         "unknown section [%s%s%s]; the only section is [retrace]", s->name,
                                         s->argument ? " " : "", strempty(s->argument));
                for (size_t j = 0; j < s->n_entries; j++) {
                        const IniEntry *e = &s->entries[j];
                        const ConfigKey *k = NULL;

                        for (size_t n = 0; n < ELEMENTSOF(config_keys); n++)
                                if (streq(config_keys[n].name, e->key))
                                        k = &config_keys[n];
                        if (!k)
                                return ini_error(ret_error, ini->filename, e->line,
                                                 "unknown key '%s' in [retrace]", e->key);
                        r = config_set(c, k, e->value, base);
                        if (r == -EINVAL)
                                return ini_error(ret_error, ini->filename, e->line,
                                                 "invalid value '%s' for %s: expected %s", e->value, e->key,
                                                 config_type_to_string(k->type));
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

int config_load(const char *explicit_path, RetraceConfig **ret, char **ret_error)
{
        _cleanup_(config_freep) RetraceConfig *c = NULL;
        _cleanup_(ini_file_freep) IniFile *ini = NULL;
        const char *path = explicit_path, *plugins;
        bool must_exist = true;
        int r;

        if (!path)
                path = getenv(RETRACE_CONFIG_ENV);
        if (isempty(path)) {
                path = RETRACE_CONFIG_INSTALLED;
                must_exist = false;
        }

        r = config_new_default(&c);
        if (r < 0)
                return r;

        r = ini_load(path, &ini, ret_error);
        if (r == -ENOENT && !must_exist)
                ini = NULL;
        else if (r < 0) {
                if (r != -EINVAL || !ret_error || !*ret_error)
                        (void) ini_error(ret_error, path, 0, "cannot read configuration: %s", strerror(-r));
                return r;
        } else {
                r = config_apply_ini(c, ini, ret_error);
                if (r < 0)
                        return r;
                c->path = strdup(path);
                if (!c->path)
                        return -ENOMEM;
        }

        plugins = getenv(RETRACE_PLUGIN_DIR_ENV);
        if (!isempty(plugins)) {
                char *p = strdup(plugins);

                if (!p)
                        return -ENOMEM;
                free(c->plugin_dir);
                c->plugin_dir = p;
        }

        *ret = TAKE_PTR(c);
        return 0;
}

void config_dump(const RetraceConfig *c, FILE *f)
{
        fprintf(f, "[retrace]\n");
        for (size_t i = 0; i < ELEMENTSOF(config_keys); i++) {
                const ConfigKey *k = &config_keys[i];
                const void *field = (const char *) c + k->offset;

                switch (k->type) {
                case CONFIG_PATH:
                case CONFIG_OPTIONAL_PATH:
                case CONFIG_STRING:
                        /* A secret is not printed, only whether it is set. */
                        if ((streq(k->name, "TaskManagerPassword") || streq(k->name, "TaskStore")) &&
                            !isempty(*(char *const *) field))
                                fprintf(f, "%s = (set)\n", k->name);
                        else
                                fprintf(f, "%s = %s\n", k->name, strempty(*(char *const *) field));
                        break;
                case CONFIG_BOOL:
                        fprintf(f, "%s = %s\n", k->name, *(const bool *) field ? "yes" : "no");
                        break;
                case CONFIG_SIZE_MIB:
                        fprintf(f, "%s = %" PRIu64 "B\n", k->name, *(const uint64_t *) field);
                        break;
                case CONFIG_HOURS:
                        fprintf(f, "%s = %" PRIu64 "s\n", k->name, *(const uint64_t *) field);
                        break;
                case CONFIG_PREFETCH:
                        fprintf(f, "%s = %s\n", k->name,
                                cache_prefetch_to_string(*(const CachePrefetch *) field));
                        break;
                case CONFIG_UINT:
                        fprintf(f, "%s = %u\n", k->name, *(const unsigned *) field);
                        break;
                case CONFIG_SIZE:
                case CONFIG_SECONDS:
                        fprintf(f, "%s = %" PRIu64 "\n", k->name, *(const uint64_t *) field);
                        break;
                }
        }
}
