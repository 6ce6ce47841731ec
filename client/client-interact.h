/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <curl/curl.h>

/* Attaches this terminal (raw mode; SIGWINCH sends the new size) to task's interactive session at
 * base_url with a token from POST /<task>/interact, until the server closes it or stdin ends. curl
 * carries the TLS options of the caller; it is used for this one connection. */
int client_interact(CURL *curl, const char *base_url, const char *task, const char *token);
