/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdint.h>

/* Turns a mirror (URL or absolute local directory) and a relative location into a URL. */
int fetch_url_join(const char *mirror, const char *location, char **ret);

typedef void (*FetchProgress)(uint64_t bytes_now, void *userdata);

/* Downloads url into path (created or truncated): http(s), ftp and file through libcurl, rsync://
 * through the rsync program. Fails with -EFBIG beyond max_size and when a transfer stalls for
 * stall_timeout_sec. *ret_error says what went wrong in words. */
int fetch_to_path(const char *url, const char *path, uint64_t max_size, uint64_t stall_timeout_sec,
                  FetchProgress progress, void *userdata, char **ret_error);
