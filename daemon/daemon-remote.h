/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* Tasks from a URL (http, https, ftp) or from a file under DropDir: the task manager creates the task
 * with a request in SaveDir/<id>/remote/, and the task's worker fetches the crash data before the
 * pipeline's first stage (status "Downloading remote resources"), checks an optional digest
 * ("Calculating md5sum") and unpacks it under the upload limits ("Post-processing downloaded file").
 * The download runs in the daemon, never in the sandbox; it resumes after a cut connection. */

#include <stdbool.h>
#include <stdint.h>

#include "common-config.h"
#include "daemon-crashdata.h"

#define REMOTE_SOURCE_MAX 2048 /* bytes of a URL or a DropDir path */

typedef enum RemoteDigestKind {
        REMOTE_DIGEST_NONE,
        REMOTE_DIGEST_MD5,
        REMOTE_DIGEST_SHA256,
        _REMOTE_DIGEST_KIND_MAX,
        _REMOTE_DIGEST_KIND_INVALID = -EINVAL,
} RemoteDigestKind;

const char *remote_digest_kind_to_string(RemoteDigestKind k);

typedef struct RemoteRequest {
        char *source; /* the URL, or the path relative to DropDir */
        bool drop;    /* source is a path under DropDir */
        RemoteDigestKind digest_kind;
        char digest[65]; /* lower-case hex, "" without a digest */
} RemoteRequest;

void remote_request_done(RemoteRequest *r);

/* Validates a source (an http://, https:// or ftp:// URL, or a relative path without ".." under
 * DropDir) and an optional digest ("md5:HEX", "sha256:HEX", or bare hex of 32 or 64 digits). Pure.
 * -EINVAL with *ret_message saying what is wrong. */
int remote_request_parse(const char *source, const char *digest, RemoteRequest *ret, char **ret_message);
/* The request file's text ("source …\ndigest KIND:HEX\n") and back. */
int remote_request_format(const RemoteRequest *r, char **ret);
int remote_request_from_text(const char *text, RemoteRequest *ret);

/* Opens path below drop_dir for reading, refusing anything that leaves it (an absolute path, "..",
 * a symlink pointing out, another mount) and anything but a regular file. -EXDEV for an escape,
 * -ENOENT, -EISDIR/-EPERM for a directory or special file, -EOPNOTSUPP when the kernel lacks
 * openat2(). */
int remote_drop_open(const char *drop_dir, const char *path, int *ret_fd);

/* A URL with any password left out, for logs. */
char *remote_source_redacted(const RemoteRequest *r);

/* What a remote task's fetch is doing, for /<id>/status and the task manager's list. */
typedef struct RemoteProgress {
        char phase[16];       /* "download", "digest" or "unpack" */
        uint64_t done, total; /* bytes; total 0 when not known */
} RemoteProgress;

/* Reads SaveDir/<id>/remote/progress; -ENOENT when the task fetches nothing now. */
int remote_progress_read(int save_dir_fd, uint64_t id, RemoteProgress *ret);

/* A text like "12.5 MiB of 40.0 MiB (31%)" for a progress. */
int remote_progress_text(const RemoteProgress *p, char **ret);

struct TaskRun;
/* Fetches a remote task's crash data into its crash/ (nothing for other tasks, or when an earlier run
 * fetched it completely). 0 on success, -ECANCELED when the task was cancelled, else a failure with
 * *ret_failure naming the cause. */
int remote_task_fetch(struct TaskRun *t, TaskType type, char **ret_failure);
