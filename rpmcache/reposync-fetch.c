/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "reposync-fetch.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common-fd.h"
#include "common-macro.h"
#include "common-string.h"

extern char **environ;

int fetch_url_join(const char *mirror, const char *location, char **ret)
{
        size_t n = strlen(mirror);
        const char *prefix = "";

        while (n > 1 && mirror[n - 1] == '/')
                n--;
        if (mirror[0] == '/')
                prefix = "file://";
        if (asprintf(ret, "%s%.*s/%s", prefix, (int) n, mirror, location) < 0)
                return -ENOMEM;
        return 0;
}

typedef struct Transfer {
        int fd;
        uint64_t bytes;
        uint64_t max_size;
        int error;
        FetchProgress progress;
        void *userdata;
} Transfer;

static size_t write_cb(char *data, size_t size, size_t nmemb, void *userdata)
{
        Transfer *t = userdata;
        size_t n = size * nmemb;
        int r;

        if (t->bytes + n > t->max_size) {
                t->error = -EFBIG;
                return 0;
        }
        r = fd_write_all(t->fd, data, n);
        if (r < 0) {
                t->error = r;
                return 0;
        }
        t->bytes += n;
        if (t->progress)
                t->progress(t->bytes, t->userdata);
        return n;
}

static int fetch_curl(const char *url, int fd, uint64_t max_size, uint64_t stall, FetchProgress progress,
                      void *userdata, char **ret_error)
{
        static bool initialized = false;
        Transfer t = { .fd = fd, .max_size = max_size, .progress = progress, .userdata = userdata };
        char curl_error[CURL_ERROR_SIZE] = "";
        long status = 0;
        CURLcode rc;
        CURL *h;

        if (!initialized) {
                if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
                        return -EIO;
                initialized = true;
        }
        h = curl_easy_init();
        if (!h)
                return -ENOMEM;
        (void) curl_easy_setopt(h, CURLOPT_URL, url);
        (void) curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_cb);
        (void) curl_easy_setopt(h, CURLOPT_WRITEDATA, &t);
        (void) curl_easy_setopt(h, CURLOPT_ERRORBUFFER, curl_error);
        (void) curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
        (void) curl_easy_setopt(h, CURLOPT_MAXREDIRS, 5L);
        (void) curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https,ftp,file");
        (void) curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https,ftp");
        (void) curl_easy_setopt(h, CURLOPT_FAILONERROR, 1L);
        (void) curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, (long) stall);
        (void) curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
        (void) curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, (long) stall);
        (void) curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        (void) curl_easy_setopt(h, CURLOPT_USERAGENT, "retrace-server-reposync");
        rc = curl_easy_perform(h);
        (void) curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_cleanup(h);
        if (rc == CURLE_OK)
                return 0;
        if (t.error == -EFBIG) {
                string_set_printf(ret_error, "%s is larger than the configured limit", url);
                return -EFBIG;
        }
        if (t.error < 0) {
                string_set_printf(ret_error, "cannot save the download of %s: %s", url, strerror(-t.error));
                return t.error;
        }
        string_set_printf(ret_error, "%s: %s", url, curl_error[0] ? curl_error : curl_easy_strerror(rc));
        if (rc == CURLE_REMOTE_FILE_NOT_FOUND || rc == CURLE_FILE_COULDNT_READ_FILE || status == 404)
                return -ENOENT;
        return -EIO;
}

/* rsync://: the rsync program fetches the single file; no --delete, ever. */
static int fetch_rsync(const char *url, const char *path, uint64_t max_size, uint64_t stall,
                       char **ret_error)
{
        char max_arg[64], timeout_arg[64];
        char *argv[] = { (char *) "rsync",
                         (char *) "--quiet",
                         (char *) "--no-motd",
                         (char *) "--copy-links",
                         max_arg,
                         timeout_arg,
                         (char *) url,
                         (char *) path,
                         NULL };
        posix_spawn_file_actions_t fa;
        pid_t pid;
        int status, r;

        (void) snprintf(max_arg, sizeof(max_arg), "--max-size=%" PRIu64, max_size);
        (void) snprintf(timeout_arg, sizeof(timeout_arg), "--timeout=%" PRIu64, stall);
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
        r = posix_spawnp(&pid, "rsync", &fa, NULL, argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        if (r != 0) {
                string_set_printf(ret_error, "cannot run rsync for %s: %s (install rsync)", url,
                                  strerror(r));
                return -r;
        }
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR)
                        return -errno;
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
                struct stat st;

                /* --max-size makes rsync skip a large file silently: a missing result is the sign. */
                if (stat(path, &st) < 0 || st.st_size == 0) {
                        string_set_printf(ret_error,
                                          "rsync did not fetch %s (missing or larger than the limit)", url);
                        return -ENOENT;
                }
                return 0;
        }
        string_set_printf(ret_error, "rsync failed to fetch %s", url);
        return -EIO;
}

int fetch_to_path(const char *url, const char *path, uint64_t max_size, uint64_t stall_timeout_sec,
                  FetchProgress progress, void *userdata, char **ret_error)
{
        _cleanup_close_ int fd = -EBADF;
        int r;

        if (string_startswith(url, "rsync://")) {
                (void) unlink(path);
                return fetch_rsync(url, path, max_size, stall_timeout_sec, ret_error);
        }
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0)
                return -errno;
        r = fetch_curl(url, fd, max_size, stall_timeout_sec, progress, userdata, ret_error);
        if (r < 0)
                return r;
        if (fsync(fd) < 0 || close(TAKE_FD(fd)) < 0) {
                r = -errno;
                string_set_printf(ret_error, "cannot write %s: %s", path, strerror(-r));
                return r;
        }
        return 0;
}
