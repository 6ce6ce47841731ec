/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common-ini.h"
#include "common-macro.h"

/* retrace-server.conf, shared by every program. One [retrace] section; key names follow the old
 * server where it had them (RepoDir, SaveDir, MaxParallelTasks, …). Relative paths are relative
 * to the directory of the file that sets them. The daemon adds its keys to the table in
 * common-config.c and the fields here. */
/* What a sync extracts into the object store; everything else is extracted when a task needs it. */
typedef enum CachePrefetch {
        CACHE_PREFETCH_NONE,     /* index only */
        CACHE_PREFETCH_DEBUGGER, /* the plugin's gdb_package and its closure */
        CACHE_PREFETCH_ALL,      /* every package, right after its download */
        _CACHE_PREFETCH_MAX,
        _CACHE_PREFETCH_INVALID = -EINVAL,
} CachePrefetch;

const char *cache_prefetch_to_string(CachePrefetch p);
CachePrefetch cache_prefetch_from_string(const char *s);

typedef struct RetraceConfig {
        char *path; /* the file that was read; NULL when only the embedded defaults apply */

        char *repo_dir;   /* RepoDir: downloaded RPMs (by sha256) and per-release sync state */
        char *cache_dir;  /* CacheDir: package index, file objects, assembled roots */
        char *plugin_dir; /* PluginDir: distribution plugins (*.conf) */
        char *save_dir;   /* SaveDir: tasks */

        unsigned max_parallel_tasks; /* MaxParallelTasks */
        uint64_t max_packed_size;    /* MaxPackedSize: bytes uploaded per task */
        uint64_t max_unpacked_size;  /* MaxUnpackedSize: bytes unpacked per task */

        unsigned cache_keep_roots;        /* CacheKeepRoots: assembled roots kept (least recently used go) */
        uint64_t cache_max_rpm_size;      /* CacheMaxRpmSize: largest RPM downloaded or imported */
        uint64_t cache_max_file_size;     /* CacheMaxFileSize: largest single file unpacked from an RPM */
        unsigned cache_max_package_files; /* CacheMaxPackageFiles: most files in one RPM */
        CachePrefetch cache_prefetch;     /* CachePrefetch: what a sync extracts (the rest on demand) */
        uint64_t cache_max_size; /* CacheMaxSize: objects + roots kept (LRU eviction); 0: no limit */
        uint64_t cache_partial_extract_size; /* CachePartialExtractSize: debuginfo packages larger than this
                                              * (installed) are extracted file by file; 0: never */
        bool cache_gdb_index;  /* CacheGdbIndex: build gdb indexes of debug files lacking one, for tasks */
        uint64_t sync_timeout; /* SyncTimeout: seconds a download may stall */
        uint64_t sync_max_metadata_size; /* SyncMaxMetadataSize: largest repomd.xml or primary file */

        /* HTTP connections and password checks (daemon-http*.c). */
        unsigned max_connections;             /* MaxConnections: open HTTP connections in all */
        unsigned max_connections_per_address; /* MaxConnectionsPerAddress: from one client address */
        uint64_t connection_timeout;          /* ConnectionTimeout: seconds a connection may stay silent */
        unsigned http_threads;                /* HTTPThreads: threads serving connections */
        unsigned http_workers;         /* HTTPWorkers: threads answering requests off the event loops */
        unsigned unpack_workers;       /* UnpackWorkers: uploads unpacked into tasks at once */
        uint64_t request_head_timeout; /* RequestHeadTimeout: seconds to receive a request head */
        uint64_t min_upload_rate;      /* MinUploadRate: bytes per second a body must keep up */
        uint64_t upload_rate_window;   /* UploadRateWindow: seconds MinUploadRate is measured over */
        unsigned password_failures_per_address; /* PasswordFailuresPerAddress: per minute */
        unsigned password_failures_total;       /* PasswordFailuresTotal: per minute, all addresses */

        /* The daemon. */
        char *listen;                   /* Listen: ADDR:PORT */
        unsigned max_queued_tasks;      /* MaxQueuedTasks: tasks waiting beyond MaxParallelTasks */
        uint64_t min_storage_left;      /* MinStorageLeft: free bytes kept in SaveDir */
        uint64_t max_archive_members;   /* MaxArchiveMembers: entries in one upload */
        uint64_t max_decompress_memory; /* MaxDecompressMemory: memory of one upload's xz decoder */
        bool keep_failed_crash_files;   /* KeepFailedCrashFiles: a failed task keeps its crash files */
        uint64_t delete_task_after;     /* DeleteTaskAfter: seconds a finished task is kept (0: forever) */
        uint64_t delete_failed_task_after; /* DeleteFailedTaskAfter: the same for failed tasks */
        uint64_t task_timeout;             /* TaskTimeout: seconds one retrace may take */
        uint64_t max_output_size;          /* MaxOutputSize: bytes of debugger output kept */
        uint64_t max_backtrace_frames;     /* MaxBacktraceFrames: frames per thread in a backtrace */
        uint64_t max_backtrace_size;       /* MaxBacktraceSize: bytes of the backtrace file */
        bool reuse_identical_uploads;      /* ReuseIdenticalUploads: identical crash files reuse a result */
        uint64_t retry_missing_debuginfo;  /* RetryMissingDebuginfo: seconds a task waits for build-ids */
        bool require_https;                /* RequireHTTPS */
        bool allow_api_delete;             /* AllowAPIDelete */
        bool allow_interactive;            /* AllowInteractive */
        bool interactive_any_task;         /* InteractiveAnyTask: sessions on finished tasks of any type */
        uint64_t interactive_expiry;       /* InteractiveExpiry: seconds after its end a task allows them */
        uint64_t interactive_idle_timeout; /* InteractiveIdleTimeout: seconds a session may stay silent */
        uint64_t interactive_max_time;     /* InteractiveMaxTime: seconds one session may last */
        char *interactive_origins;         /* InteractiveOrigins: browser origins allowed besides Host's */
        uint64_t interactive_log_size;     /* InteractiveLogSize: bytes of a task's session log */
        bool vmcore_module_debuginfo;      /* VmcoreModuleDebuginfo */
        bool allow_metrics;                /* AllowMetrics */
        bool allow_task_manager;           /* AllowTaskManager */
        char *task_manager_password;       /* TaskManagerPassword: "sha256:HEX" or the password itself */
        /* Tasks from a URL or DropDir (daemon-remote.c). */
        bool allow_remote_tasks;         /* AllowRemoteTasks: the task manager may create them */
        char *drop_dir;                  /* DropDir: files tasks may be created from ("": none) */
        uint64_t max_download_size;      /* MaxDownloadSize: bytes fetched per task (0: MaxPackedSize) */
        uint64_t download_timeout;       /* DownloadTimeout: seconds one task's download may take */
        uint64_t download_stall_timeout; /* DownloadStallTimeout: seconds below 1 KiB/s before a retry */
        unsigned download_retries;       /* DownloadRetries: resumptions after a cut connection */
        char *tls_certificate;           /* TLSCertificate: PEM file; with TLSKey, serve HTTPS */
        char *tls_key;                   /* TLSKey */
        char *trusted_proxy;             /* TrustedProxy: address whose X-Forwarded-Proto counts */
        char *sandbox_path;              /* SandboxPath: the retrace-sandbox helper */
        char *webui_dir;                 /* WebUIDir: the Web UI's static files */
        bool allow_debuginfod;           /* AllowDebuginfod: answer debuginfod's /buildid/ requests */
        char *debuginfod_allow_from;     /* DebuginfodAllowFrom: address ranges it answers ("": all) */
        unsigned debuginfod_requests_per_address; /* DebuginfodRequestsPerAddress: per minute */
        unsigned debuginfod_requests_total;       /* DebuginfodRequestsTotal: per minute, all addresses */

        /* Site hooks and task cleanup (daemon-hooks.c, daemon-archive-tasks.c; docs/hooks.md). */
        char *hook_dir;              /* HookDir: HookDir/<stage>/ holds the hooks of a stage ("": none) */
        uint64_t hook_timeout;       /* HookTimeout: seconds one hook may run */
        char *hook_required;         /* HookRequired: stages whose failing hooks fail the task */
        bool dedup_vmcores;          /* DedupVmcores: identical vmcores of tasks are hard-linked */
        uint64_t archive_task_after; /* ArchiveTaskAfter: seconds after its end a task is archived (0: never)
                                      */
        char *archive_dir;           /* ArchiveDir: where archived tasks go */

        /* The shared task store (several daemons, daemon-store-pg.c). */
        char *task_store; /* TaskStore: a PostgreSQL connection string; "": sqlite in SaveDir */
        char *task_store_password_file;  /* TaskStorePasswordFile: the PostgreSQL password's file */
        unsigned task_store_connections; /* TaskStoreConnections: connections each daemon keeps */
        uint64_t task_lease_time;        /* TaskLeaseTime: seconds a claim lasts unless renewed */
        unsigned task_max_attempts;      /* TaskMaxAttempts: leases that may expire before a task fails */
} RetraceConfig;

#define RETRACE_CONFIG_ENV     "RETRACE_SERVER_CONFIG_PATH"
#define RETRACE_PLUGIN_DIR_ENV "RETRACE_SERVER_PLUGIN_DIR"

RetraceConfig *config_free(RetraceConfig *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(RetraceConfig *, config_free);

/* The embedded defaults only. */
int config_new_default(RetraceConfig **ret);
/* Applies the [retrace] section of a parsed file over c (pure: no file system access). Unknown
 * sections or keys and bad values fail with "FILE:LINE: …" naming the key. */
int config_apply_ini(RetraceConfig *c, const IniFile *ini, char **ret_error);
/* Finds and reads the configuration: explicit (from --config) if not NULL, else
 * $RETRACE_SERVER_CONFIG_PATH, else the installed file (embedded defaults when that one is
 * missing). Then $RETRACE_SERVER_PLUGIN_DIR overrides PluginDir. On failure *ret_error says
 * which file and what is wrong when that is known. */
int config_load(const char *explicit_path, RetraceConfig **ret, char **ret_error);
/* Prints every key with its value in INI syntax (for --dump-config and the docs). */
void config_dump(const RetraceConfig *c, FILE *f);
