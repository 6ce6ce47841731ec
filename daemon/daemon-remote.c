/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Remote tasks: the request (validated, stored in SaveDir/<id>/remote/request), the fetch (libcurl for
 * http/https/ftp with resumption, openat2() below DropDir), the digest and the unpack under the upload
 * limits; the progress of each for the status pages. */
#include "daemon-remote.h"

#include <ctype.h>
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gnutls/crypto.h>

#include "common-fd.h"
#include "common-file.h"
#include "common-log.h"
#include "common-macro.h"
#include "common-string.h"
#include "common-time.h"
#include "daemon-archive.h"
#include "daemon-pipeline-task.h"
#include "daemon-taskdir.h"

#define REQUEST_FILE        "request"
#define DOWNLOAD_FILE       "download"
#define PROGRESS_FILE       "progress"
#define DONE_FILE           "done"
#define PROGRESS_EVERY_USEC (250 * 1000LL)
#define MAX_REDIRECTS       5L
#define CONNECT_TIMEOUT_SEC 30L
#define LOW_SPEED_BYTES     1024L /* per second, over DownloadStallTimeout */
#define RETRY_MAX_DELAY_SEC 30U
#define READ_CHUNK          (256 * 1024)

static const char *const remote_digest_kind_table[_REMOTE_DIGEST_KIND_MAX] = {
        [REMOTE_DIGEST_NONE] = "none",
        [REMOTE_DIGEST_MD5] = "md5",
        [REMOTE_DIGEST_SHA256] = "sha256",
};

DEFINE_STRING_TABLE_TO_STRING(remote_digest_kind, RemoteDigestKind, _REMOTE_DIGEST_KIND_MAX)

DEFINE_TRIVIAL_CLEANUP_FUNC(CURLU *, curl_url_cleanup);

void remote_request_done(RemoteRequest *r)
{
        r->source = mfree(r->source);
}

static bool scheme_allowed(const char *source)
{
        static const char *const schemes[] = { "http://", "https://", "ftp://" };

        for (size_t i = 0; i < ELEMENTSOF(schemes); i++)
                if (strncasecmp(source, schemes[i], strlen(schemes[i])) == 0)
                        return true;
        return false;
}

/* A path under DropDir: relative, no ".." component, no empty component, printable. */
static bool drop_path_valid(const char *p)
{
        const char *c = p;

        if (isempty(p) || p[0] == '/')
                return false;
        while (*c) {
                size_t n = strcspn(c, "/");

                if (n == 0 || (n == 2 && c[0] == '.' && c[1] == '.'))
                        return false;
                c += n;
                if (*c == '/')
                        c++;
        }
        return true;
}

int remote_request_parse(const char *source, const char *digest, RemoteRequest *ret, char **ret_message)
{
        RemoteRequest r = {};
        const char *hex = NULL;

#define INVALID(...)                                        \
        do {                                                \
                if (asprintf(ret_message, __VA_ARGS__) < 0) \
                        *ret_message = NULL;                \
                return -EINVAL;                             \
        } while (0)

        if (isempty(source))
                INVALID("No source given: an http://, https:// or ftp:// URL, or a file under DropDir");
        if (strlen(source) > REMOTE_SOURCE_MAX)
                INVALID("The source is longer than %d bytes", REMOTE_SOURCE_MAX);
        for (const char *c = source; *c; c++)
                if ((unsigned char) *c <= ' ' || *c == 0x7f)
                        INVALID("The source must not contain spaces or control characters");
        if (scheme_allowed(source)) {
                _cleanup_(curl_url_cleanupp) CURLU *u = curl_url();
                char *host = NULL;

                if (!u)
                        return -ENOMEM;
                if (curl_url_set(u, CURLUPART_URL, source, 0) != CURLUE_OK)
                        INVALID("The URL %s cannot be parsed", source);
                if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || isempty(host)) {
                        curl_free(host);
                        INVALID("The URL %s has no host", source);
                }
                curl_free(host);
        } else if (strstr(source, "://"))
                INVALID("Only http://, https:// and ftp:// URLs are allowed");
        else if (!drop_path_valid(source))
                INVALID("A file of DropDir is given by a relative path without '..' (e.g. "
                        "case-1234/vmcore.xz), "
                        "not '%s'",
                        source);
        else
                r.drop = true;

        if (!isempty(digest)) {
                if ((hex = string_startswith(digest, "md5:")))
                        r.digest_kind = REMOTE_DIGEST_MD5;
                else if ((hex = string_startswith(digest, "sha256:")))
                        r.digest_kind = REMOTE_DIGEST_SHA256;
                else if (strlen(digest) == 32 || strlen(digest) == 64) {
                        hex = digest;
                        r.digest_kind = strlen(digest) == 32 ? REMOTE_DIGEST_MD5 : REMOTE_DIGEST_SHA256;
                }
                if (!hex || strlen(hex) != (r.digest_kind == REMOTE_DIGEST_MD5 ? 32U : 64U) ||
                    !string_in_charset(hex, "0123456789abcdefABCDEF"))
                        INVALID("The digest must be md5:HEX (32 digits) or sha256:HEX (64 digits)");
                for (size_t i = 0; hex[i]; i++)
                        r.digest[i] = (char) tolower((unsigned char) hex[i]);
        }
#undef INVALID
        r.source = strdup(source);
        if (!r.source)
                return -ENOMEM;
        *ret = r;
        return 0;
}

int remote_request_format(const RemoteRequest *r, char **ret)
{
        if (r->digest_kind == REMOTE_DIGEST_NONE)
                return asprintf(ret, "source %s\n", r->source) < 0 ? -ENOMEM : 0;
        return asprintf(ret, "source %s\ndigest %s:%s\n", r->source,
                        remote_digest_kind_to_string(r->digest_kind), r->digest) < 0
                       ? -ENOMEM
                       : 0;
}

int remote_request_from_text(const char *text, RemoteRequest *ret)
{
        _cleanup_strv_free_ char **lines = NULL;
        const char *source = NULL, *digest = NULL;
        _cleanup_free_ char *message = NULL;
        int r;

        r = strv_split(text, "\n", &lines);
        if (r < 0)
                return r;
        STRV_FOREACH (l, lines) {
                const char *v;

                if ((v = string_startswith(*l, "source ")))
                        source = v;
                else if ((v = string_startswith(*l, "digest ")))
                        digest = v;
        }
        return remote_request_parse(source, digest, ret, &message);
}

char *remote_source_redacted(const RemoteRequest *r)
{
        _cleanup_(curl_url_cleanupp) CURLU *u = NULL;
        char *url = NULL, *copy;

        if (r->drop)
                return strdup(r->source);
        u = curl_url();
        if (!u || curl_url_set(u, CURLUPART_URL, r->source, 0) != CURLUE_OK ||
            curl_url_set(u, CURLUPART_PASSWORD, NULL, 0) != CURLUE_OK ||
            curl_url_get(u, CURLUPART_URL, &url, 0) != CURLUE_OK)
                return strdup("(the URL)");
        copy = strdup(url);
        curl_free(url);
        return copy;
}

int remote_drop_open(const char *drop_dir, const char *path, int *ret_fd)
{
        struct open_how how = {
                .flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK,
                /* Nothing outside DropDir: no "..", absolute symlinks or ones pointing out, no
                 * /proc magic links, no other mount. */
                .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV,
        };
        _cleanup_close_ int dir_fd = -EBADF, fd = -EBADF;
        struct stat st;
        int flags;

        if (isempty(drop_dir))
                return -ENOENT;
        if (!drop_path_valid(path))
                return -EXDEV;
        dir_fd = open(drop_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (dir_fd < 0)
                return -errno;
        fd = fd_openat2(dir_fd, path, &how);
        if (fd < 0)
                return errno == ENOSYS ? -EOPNOTSUPP : errno == ELOOP ? -EXDEV : -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (S_ISDIR(st.st_mode))
                return -EISDIR;
        if (!S_ISREG(st.st_mode))
                return -EPERM;
        flags = fcntl(fd, F_GETFL);
        if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0)
                return -errno;
        *ret_fd = TAKE_FD(fd);
        return 0;
}

/* ---------------------------------------------------------------- progress */

int remote_progress_read(int save_dir_fd, uint64_t id, RemoteProgress *ret)
{
        _cleanup_close_ int dfd = -EBADF;
        _cleanup_free_ char *text = NULL;
        RemoteProgress p = {};
        char phase[16];
        int r;

        r = task_dir_open_part(save_dir_fd, id, TASK_PART_REMOTE, false, &dfd);
        if (r < 0)
                return r;
        r = file_read_at(dfd, PROGRESS_FILE, 128, &text, NULL);
        if (r < 0)
                return r;
        if (sscanf(text, "%15s %" SCNu64 " %" SCNu64, phase, &p.done, &p.total) != 3)
                return -EBADMSG;
        (void) string_copy(p.phase, sizeof(p.phase), phase);
        *ret = p;
        return 0;
}

static void format_size(char *buf, size_t n, uint64_t bytes)
{
        if (bytes >= (1ULL << 30))
                (void) snprintf(buf, n, "%.1f GiB", (double) bytes / (double) (1ULL << 30));
        else
                (void) snprintf(buf, n, "%.1f MiB", (double) bytes / (double) (1ULL << 20));
}

int remote_progress_text(const RemoteProgress *p, char **ret)
{
        char done[32], total[32];

        format_size(done, sizeof(done), p->done);
        if (p->total == 0)
                return asprintf(ret, "%s", done) < 0 ? -ENOMEM : 0;
        format_size(total, sizeof(total), p->total);
        return asprintf(ret, "%s of %s (%u%%)", done, total,
                        (unsigned) (MIN(p->done, p->total) * 100 / p->total)) < 0
                       ? -ENOMEM
                       : 0;
}

typedef struct Fetch {
        TaskRun *t;
        int remote_fd;
        const char *phase;
        int64_t last_usec;
        /* the download */
        CURL *curl;
        int fd;
        uint64_t offset; /* bytes on disk when this attempt began */
        uint64_t received;
        uint64_t max;
        int error; /* why the write callback stopped the transfer */
        char curl_error[CURL_ERROR_SIZE];
} Fetch;

/* Writes remote/progress (atomically, without fsync: it only informs), at most 4 times a second unless
 * force. */
static void fetch_progress(Fetch *f, uint64_t done, uint64_t total, bool force)
{
        char text[96];
        int64_t now = now_monotonic_usec();
        int n, fd;

        if (!force && now - f->last_usec < PROGRESS_EVERY_USEC)
                return;
        f->last_usec = now;
        n = snprintf(text, sizeof(text), "%s %" PRIu64 " %" PRIu64 "\n", f->phase, done, total);
        fd = openat(f->remote_fd, PROGRESS_FILE ".tmp",
                    O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
                return;
        if (fd_write_all(fd, text, (size_t) n) >= 0)
                (void) renameat(f->remote_fd, PROGRESS_FILE ".tmp", f->remote_fd, PROGRESS_FILE);
        safe_close(fd);
}

static int fetch_stage(Fetch *f, const char *stage, const char *phase)
{
        f->phase = phase;
        f->last_usec = 0;
        task_log(f->t, 'I', "%s", stage);
        return task_store_set_stage(f->t->p->store, f->t->id, stage);
}

/* ---------------------------------------------------------------- download */

static size_t fetch_write(char *data, size_t size, size_t nmemb, void *userdata)
{
        Fetch *f = userdata;
        size_t len = size * nmemb;
        uint64_t free_bytes = 0;
        int r;

        if (f->offset + f->received + len > f->max) {
                f->error = -EFBIG;
                return 0;
        }
        /* Reserved in the accountant of uploads: the floor of free space (MinStorageLeft) holds for
         * downloads too, with the uploads being unpacked at the same time. */
        r = unpack_budget_reserve(&unpack_budget_shared, f->remote_fd, f->t->p->config->min_storage_left,
                                  len, &free_bytes);
        if (r < 0) {
                f->error = r;
                return 0;
        }
        r = fd_write_all(f->fd, data, len);
        unpack_budget_release(&unpack_budget_shared, len);
        if (r < 0) {
                f->error = r;
                return 0;
        }
        f->received += len;
        return len;
}

static int fetch_xferinfo(void *userdata, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                          curl_off_t ulnow)
{
        Fetch *f = userdata;

        if (task_job_cancelled(f->t->job))
                return 1;
        fetch_progress(f, f->offset + (uint64_t) MAX(dlnow, 0),
                       dltotal > 0 ? f->offset + (uint64_t) dltotal : 0, false);
        return 0;
}

/* Whether a transfer that ended with code (and HTTP status, when any) may be tried again, resuming. */
static bool fetch_retryable(CURLcode code, long status)
{
        switch (code) {
        case CURLE_PARTIAL_FILE:
        case CURLE_RECV_ERROR:
        case CURLE_SEND_ERROR:
        case CURLE_GOT_NOTHING:
        case CURLE_OPERATION_TIMEDOUT:
        case CURLE_COULDNT_CONNECT:
        case CURLE_HTTP2:
        case CURLE_HTTP2_STREAM:
        case CURLE_FTP_ACCEPT_TIMEOUT:
        case CURLE_FTP_CANT_GET_HOST:
        case CURLE_FTP_WEIRD_PASV_REPLY:
        case CURLE_SSL_CONNECT_ERROR:
                return true;
        case CURLE_HTTP_RETURNED_ERROR:
                return status >= 500 || status == 408 || status == 429;
        default:
                return false;
        }
}

static int fetch_setup(Fetch *f, const RemoteRequest *req, int64_t deadline_usec)
{
        const RetraceConfig *cfg = f->t->p->config;
        int64_t left_ms = (deadline_usec - now_monotonic_usec()) / 1000;

        curl_easy_reset(f->curl);
        if (left_ms <= 0)
                return -ETIMEDOUT;
        f->curl_error[0] = 0;
#define SET(opt, val)                                                \
        do {                                                         \
                if (curl_easy_setopt(f->curl, opt, val) != CURLE_OK) \
                        return -EINVAL;                              \
        } while (0)
        SET(CURLOPT_URL, req->source);
        /* http, https and ftp only, for the first request and every redirect. */
        SET(CURLOPT_PROTOCOLS_STR, "http,https,ftp");
        SET(CURLOPT_REDIR_PROTOCOLS_STR, "http,https,ftp");
        SET(CURLOPT_FOLLOWLOCATION, 1L);
        SET(CURLOPT_MAXREDIRS, MAX_REDIRECTS);
        SET(CURLOPT_FAILONERROR, 1L);
        SET(CURLOPT_NOSIGNAL, 1L);
        SET(CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT_SEC);
        SET(CURLOPT_TIMEOUT_MS, (long) MIN(left_ms, (int64_t) LONG_MAX));
        SET(CURLOPT_LOW_SPEED_LIMIT, LOW_SPEED_BYTES);
        SET(CURLOPT_LOW_SPEED_TIME, (long) MAX(cfg->download_stall_timeout, 1U));
        SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t) f->max);
        SET(CURLOPT_RESUME_FROM_LARGE, (curl_off_t) f->offset);
        SET(CURLOPT_USERAGENT, "retrace-server");
        SET(CURLOPT_ERRORBUFFER, f->curl_error);
        SET(CURLOPT_WRITEFUNCTION, fetch_write);
        SET(CURLOPT_WRITEDATA, f);
        SET(CURLOPT_NOPROGRESS, 0L);
        SET(CURLOPT_XFERINFOFUNCTION, fetch_xferinfo);
        SET(CURLOPT_XFERINFODATA, f);
#undef SET
        return 0;
}

/* Downloads the request's URL into remote/download, resuming from what an earlier attempt (or an
 * earlier run of the task) left there. */
static int fetch_download(Fetch *f, const RemoteRequest *req, char **ret_failure)
{
        const RetraceConfig *cfg = f->t->p->config;
        _cleanup_free_ char *shown = remote_source_redacted(req);
        int64_t deadline = now_monotonic_usec() + (int64_t) cfg->download_timeout * 1000000;
        unsigned attempt = 0, delay = 1;
        struct stat st;
        int r;

        f->fd = openat(f->remote_fd, DOWNLOAD_FILE, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (f->fd < 0)
                return task_failf(ret_failure, -errno, "Cannot create the download file: %s",
                                  strerror(errno));
        f->curl = curl_easy_init();
        if (!f->curl)
                return task_failf(ret_failure, -ENOMEM, "Cannot start a download (libcurl)");
        for (;;) {
                CURLcode code;
                long status = 0;

                if (fstat(f->fd, &st) < 0 || lseek(f->fd, 0, SEEK_END) < 0)
                        return task_failf(ret_failure, -errno, "Cannot read the download file");
                f->offset = (uint64_t) st.st_size;
                f->received = 0;
                f->error = 0;
                if (attempt == 0 && f->offset > 0)
                        task_log(f->t, 'I', "Resuming the download of %s at byte %" PRIu64, shown,
                                 f->offset);
                r = fetch_setup(f, req, deadline);
                if (r == -ETIMEDOUT)
                        return task_failf(ret_failure, r,
                                          "The download of %s took longer than DownloadTimeout (%" PRIu64
                                          " s)",
                                          shown, cfg->download_timeout);
                if (r < 0)
                        return task_failf(ret_failure, r, "Cannot set up the download (libcurl)");
                code = curl_easy_perform(f->curl);
                (void) curl_easy_getinfo(f->curl, CURLINFO_RESPONSE_CODE, &status);
                if (code == CURLE_OK) {
                        fetch_progress(f, f->offset + f->received, f->offset + f->received, true);
                        task_log(f->t, 'I', "Downloaded %" PRIu64 " bytes from %s", f->offset + f->received,
                                 shown);
                        return 0;
                }
                if (code == CURLE_ABORTED_BY_CALLBACK && task_job_cancelled(f->t->job))
                        return -ECANCELED;
                if (f->error == -EFBIG || code == CURLE_FILESIZE_EXCEEDED)
                        return task_failf(ret_failure, -EFBIG,
                                          "%s is larger than the limit of %" PRIu64
                                          " MiB for downloads (MaxDownloadSize)",
                                          shown, f->max >> 20);
                if (f->error == -ENOSPC)
                        return task_failf(
                                ret_failure, -ENOSPC,
                                "The server is low on disk space: the download would leave less than "
                                "%" PRIu64 " MiB free in SaveDir (MinStorageLeft)",
                                cfg->min_storage_left >> 20);
                if (f->error < 0)
                        return task_failf(ret_failure, f->error, "Cannot write the download: %s",
                                          strerror(-f->error));
                if (++attempt > cfg->download_retries)
                        return task_failf(ret_failure, -EIO,
                                          "The download of %s failed after %u attempts: %s", shown, attempt,
                                          f->curl_error[0] ? f->curl_error : curl_easy_strerror(code));
                /* The server cannot resume (no ranges, or a range past its end): start over. */
                if (code == CURLE_RANGE_ERROR || code == CURLE_BAD_DOWNLOAD_RESUME ||
                    (code == CURLE_HTTP_RETURNED_ERROR && status == 416)) {
                        task_log(f->t, 'W', "%s cannot be resumed at byte %" PRIu64 ": downloading it again",
                                 shown, f->offset);
                        if (ftruncate(f->fd, 0) < 0)
                                return task_failf(ret_failure, -errno, "Cannot truncate the download");
                        continue;
                }
                if (!fetch_retryable(code, status))
                        return task_failf(ret_failure, -EIO, "The download of %s failed: %s", shown,
                                          f->curl_error[0] ? f->curl_error : curl_easy_strerror(code));
                task_log(f->t, 'W',
                         "The download of %s stopped after %" PRIu64
                         " bytes (%s); resuming in %u s (attempt %u of %u)",
                         shown, f->offset + f->received,
                         f->curl_error[0] ? f->curl_error : curl_easy_strerror(code), delay, attempt + 1,
                         cfg->download_retries + 1);
                for (unsigned i = 0; i < delay * 10; i++) {
                        if (task_job_cancelled(f->t->job))
                                return -ECANCELED;
                        (void) usleep(100 * 1000);
                }
                delay = MIN(delay * 2, RETRY_MAX_DELAY_SEC);
        }
}

/* ---------------------------------------------------------------- digest */

static int fetch_digest(Fetch *f, const RemoteRequest *req, int fd, char **ret_failure)
{
        gnutls_digest_algorithm_t algo =
                req->digest_kind == REMOTE_DIGEST_MD5 ? GNUTLS_DIG_MD5 : GNUTLS_DIG_SHA256;
        _cleanup_free_ uint8_t *buf = malloc(READ_CHUNK);
        gnutls_hash_hd_t h;
        uint8_t out[32];
        char hex[65];
        uint64_t done = 0;
        struct stat st;
        size_t n = gnutls_hash_get_len(algo);

        if (!buf)
                return -ENOMEM;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (gnutls_hash_init(&h, algo) < 0)
                return task_failf(ret_failure, -ENOMEM, "Cannot compute a %s digest",
                                  remote_digest_kind_to_string(req->digest_kind));
        for (;;) {
                ssize_t k = pread(fd, buf, READ_CHUNK, (off_t) done);

                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0) {
                        int r = -errno;
                        gnutls_hash_deinit(h, NULL);
                        return task_failf(ret_failure, r, "Cannot read the downloaded file: %s",
                                          strerror(-r));
                }
                if (k == 0)
                        break;
                (void) gnutls_hash(h, buf, (size_t) k);
                done += (uint64_t) k;
                fetch_progress(f, done, (uint64_t) st.st_size, false);
                if (task_job_cancelled(f->t->job)) {
                        gnutls_hash_deinit(h, NULL);
                        return -ECANCELED;
                }
        }
        gnutls_hash_deinit(h, out);
        for (size_t i = 0; i < n; i++)
                (void) snprintf(hex + 2 * i, 3, "%02x", out[i]);
        if (!streq(hex, req->digest))
                return task_failf(
                        ret_failure, -EBADMSG,
                        "The %s digest of the downloaded file is %s, expected %s: the file is not the "
                        "one meant (or was damaged on the way)",
                        remote_digest_kind_to_string(req->digest_kind), hex, req->digest);
        task_log(f->t, 'I', "The %s digest %s matches", remote_digest_kind_to_string(req->digest_kind), hex);
        return 0;
}

/* ---------------------------------------------------------------- unpack */

static int unpack_progress(void *userdata, uint64_t done, uint64_t total)
{
        Fetch *f = userdata;

        if (task_job_cancelled(f->t->job))
                return -ECANCELED;
        fetch_progress(f, done, total, false);
        return 0;
}

/* Whether the file starts like a compressed stream or a tar archive (the rest is a bare dump). */
static bool file_is_packed(int fd)
{
        uint8_t head[512];
        ssize_t n = pread(fd, head, sizeof(head), 0);

        if (n >= 6 && memcmp(head,
                             "\xfd"
                             "7zXZ\0",
                             6) == 0)
                return true;
        if (n >= 2 && head[0] == 0x1f && head[1] == 0x8b)
                return true;
        if (n >= 4 && memcmp(head, "\x28\xb5\x2f\xfd", 4) == 0)
                return true;
        return n >= 262 && memcmp(head + 257, "ustar", 5) == 0;
}

static int fetch_unpack(Fetch *f, TaskType type, int fd, bool downloaded, char **ret_failure)
{
        const RetraceConfig *cfg = f->t->p->config;
        ArchiveLimits limits = { .max_unpacked = cfg->max_unpacked_size,
                                 .max_entries = cfg->max_archive_members,
                                 .max_decoder_memory = cfg->max_decompress_memory,
                                 .budget = &unpack_budget_shared,
                                 .min_free = cfg->min_storage_left,
                                 .progress = unpack_progress,
                                 .progress_userdata = f };
        _cleanup_free_ char *message = NULL;
        const char *missing, *foreign;
        bool vmcore = task_type_is_vmcore(type);
        struct stat st;
        int r;

        if (fstat(fd, &st) < 0)
                return -errno;
        /* A bare dump, downloaded: it becomes the crash file as it is, without a copy. */
        if (vmcore && downloaded && !file_is_packed(fd)) {
                if ((uint64_t) st.st_size > cfg->max_unpacked_size)
                        return task_failf(ret_failure, -EFBIG,
                                          "The vmcore is larger than the limit of %" PRIu64
                                          " MiB (MaxUnpackedSize)",
                                          cfg->max_unpacked_size >> 20);
                if (renameat(f->remote_fd, DOWNLOAD_FILE, f->t->crash_fd, "vmcore") < 0 ||
                    fchmod(fd, 0644) < 0)
                        return task_failf(ret_failure, -errno, "Cannot move the download into the task: %s",
                                          strerror(errno));
                task_log(f->t, 'I', "The download is a bare vmcore of %" PRIu64 " bytes",
                         (uint64_t) st.st_size);
        } else {
                if (lseek(fd, 0, SEEK_SET) < 0)
                        return -errno;
                r = archive_unpack_remote(fd, f->t->crash_fd, &limits, vmcore ? "vmcore" : NULL, &message);
                if (r == -ECANCELED || task_job_cancelled(f->t->job))
                        return -ECANCELED;
                if (r < 0)
                        return task_failf(
                                ret_failure, r, "Cannot unpack the downloaded file: %s%s",
                                message ?: strerror(-r),
                                r == -EBADMSG && !vmcore
                                        ? " (a coredump task needs a tar archive of its crash files, "
                                          "as uploads have, plain or compressed with gzip, xz or zstd)"
                                        : "");
        }
        fetch_progress(f, (uint64_t) st.st_size, (uint64_t) st.st_size, true);
        missing = crash_files_find_missing(type, f->t->crash_fd);
        if (missing)
                return task_failf(ret_failure, -ENOENT, "The downloaded crash data lack the file '%s'",
                                  missing);
        foreign = crash_files_find_foreign(type, f->t->crash_fd);
        if (foreign)
                return task_failf(ret_failure, -EINVAL, "A %s task may not carry the file '%s'",
                                  vmcore ? "vmcore" : "coredump", foreign);
        if (!vmcore) {
                _cleanup_free_ char *text = NULL;
                const char *why = NULL;
                size_t len = 0;

                r = file_read_at(f->t->crash_fd, "executable", crash_file_lookup("executable")->max_size,
                                 &text, &len);
                if (r >= 0 && crash_executable_check(text, len, &why) < 0)
                        return task_failf(ret_failure, -EINVAL, "The file 'executable' %s", why);
        }
        return 0;
}

/* ---------------------------------------------------------------- the whole fetch */

/* Removes the files of crash/ (what an interrupted earlier fetch left). */
static int crash_dir_clear(int crash_fd)
{
        _cleanup_closedir_ DIR *d = NULL;
        struct dirent *de;
        int r;

        r = dir_open_at(crash_fd, ".", &d);
        if (r < 0)
                return r;
        while ((de = readdir(d)))
                if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
                        (void) unlinkat(crash_fd, de->d_name, 0);
        return 0;
}

int remote_task_fetch(TaskRun *t, TaskType type, char **ret_failure)
{
        const RetraceConfig *cfg = t->p->config;
        _cleanup_(remote_request_done) RemoteRequest req = {};
        _cleanup_close_ int remote_fd = -EBADF, drop_fd = -EBADF;
        _cleanup_free_ char *text = NULL, *shown = NULL;
        Fetch f = { .t = t, .fd = -EBADF };
        int r, input_fd;

        r = task_dir_open_part(t->save_dir_fd, t->id, TASK_PART_REMOTE, false, &remote_fd);
        if (r == -ENOENT)
                return 0; /* an upload */
        if (r < 0)
                return task_failf(ret_failure, r, "Cannot open the remote request: %s", strerror(-r));
        /* Fetched completely by an earlier run (a restart of the task keeps its crash files). */
        if (faccessat(remote_fd, DONE_FILE, F_OK, AT_SYMLINK_NOFOLLOW) >= 0 &&
            !crash_files_find_missing(type, t->crash_fd))
                return 0;
        r = file_read_at(remote_fd, REQUEST_FILE, REMOTE_SOURCE_MAX + 256, &text, NULL);
        if (r >= 0)
                r = remote_request_from_text(text, &req);
        if (r < 0)
                return task_failf(ret_failure, r, "Cannot read the remote request: %s", strerror(-r));
        shown = remote_source_redacted(&req);
        if (!cfg->allow_remote_tasks)
                return task_failf(
                        ret_failure, -EPERM,
                        "Tasks from a URL or DropDir are not enabled any more (AllowRemoteTasks = no)");
        (void) unlinkat(remote_fd, DONE_FILE, 0);
        (void) crash_dir_clear(t->crash_fd);
        f.remote_fd = remote_fd;
        f.max = cfg->max_download_size ?: cfg->max_packed_size;

        r = fetch_stage(&f, "Downloading remote resources", "download");
        if (r < 0)
                return task_failf(ret_failure, r, "The task store cannot be written: %s", strerror(-r));
        if (req.drop) {
                struct stat st;

                r = remote_drop_open(cfg->drop_dir, req.source, &drop_fd);
                if (r == -EXDEV)
                        return task_failf(ret_failure, r, "%s leads outside DropDir: refused", req.source);
                if (r < 0)
                        return task_failf(ret_failure, r, "Cannot open %s in DropDir %s: %s", req.source,
                                          strna(cfg->drop_dir), strerror(-r));
                if (fstat(drop_fd, &st) < 0)
                        return -errno;
                if ((uint64_t) st.st_size > f.max)
                        return task_failf(ret_failure, -EFBIG,
                                          "%s is larger than the limit of %" PRIu64 " MiB (MaxDownloadSize)",
                                          req.source, f.max >> 20);
                task_log(t, 'I', "Reading %s (%" PRIu64 " bytes) from DropDir", req.source,
                         (uint64_t) st.st_size);
                fetch_progress(&f, (uint64_t) st.st_size, (uint64_t) st.st_size, true);
                input_fd = drop_fd;
        } else {
                task_log(t, 'I', "Downloading %s", shown);
                r = fetch_download(&f, &req, ret_failure);
                if (f.curl)
                        curl_easy_cleanup(f.curl);
                if (r < 0) {
                        safe_close(f.fd);
                        /* A cut download stays for a restart to resume, unless failed tasks keep no
                         * crash data. */
                        if (r != -ECANCELED && !cfg->keep_failed_crash_files)
                                (void) unlinkat(remote_fd, DOWNLOAD_FILE, 0);
                        (void) unlinkat(remote_fd, PROGRESS_FILE, 0);
                        return r;
                }
                input_fd = f.fd;
        }

        if (req.digest_kind != REMOTE_DIGEST_NONE) {
                r = fetch_stage(&f, "Calculating md5sum", "digest");
                if (r >= 0)
                        r = fetch_digest(&f, &req, input_fd, ret_failure);
                if (r < 0)
                        goto fail;
        }
        r = fetch_stage(&f, "Post-processing downloaded file", "unpack");
        if (r >= 0)
                r = fetch_unpack(&f, type, input_fd, !req.drop, ret_failure);
        if (r < 0)
                goto fail;
        (void) unlinkat(remote_fd, DOWNLOAD_FILE, 0);
        (void) unlinkat(remote_fd, PROGRESS_FILE, 0);
        safe_close(f.fd);
        r = file_write_atomic_at(remote_fd, DONE_FILE, "", 0, 0600);
        if (r < 0)
                task_log(t, 'W', "Cannot mark the fetch as complete: %s", strerror(-r));
        return 0;
fail:
        safe_close(f.fd);
        (void) unlinkat(remote_fd, PROGRESS_FILE, 0);
        if (r != -ECANCELED) {
                (void) crash_dir_clear(t->crash_fd);
                if (!cfg->keep_failed_crash_files)
                        (void) unlinkat(remote_fd, DOWNLOAD_FILE, 0);
        }
        return r;
}
