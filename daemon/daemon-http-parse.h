/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

/* Is the peer address sa the address text (IPv4 or IPv6 in text form)? */
bool address_matches(const struct sockaddr *sa, const char *text);
/* Is a Content-Type header value (parameters after ';' ignored, any case) one PROTOCOL.md accepts
 * for uploads? NULL is not. */
bool content_type_accepted(const char *value);
/* Splits "/…/<id>[/<action>]" into id and action (a static string); false when the path is not a
 * task path. Sets *ret_manager when the id follows a "manager" segment. */
bool parse_task_path(const char *url, uint64_t *ret_id, const char **ret_action, bool *ret_manager);
/* "ADDR:PORT" or "[ADDR6]:PORT" → a socket address; -EINVAL when malformed. */
int parse_listen(const char *text, struct sockaddr_storage *ret, bool *ret_ipv6);
