/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Is the peer address sa the address text (IPv4 or IPv6 in text form)? */
bool address_matches(const struct sockaddr *sa, const char *text);
/* Is the peer address sa inside one of ranges ("ADDR[/PREFIX]" separated by spaces or commas, IPv4
 * or IPv6; an IPv4-mapped IPv6 peer counts as its IPv4 address)? An empty list holds every address.
 * -EINVAL when a range is malformed. */
int address_in_ranges(const struct sockaddr *sa, const char *ranges);
/* Checks a range list as address_in_ranges() reads it, for the configuration. */
bool address_ranges_valid(const char *ranges);
/* Splits a debuginfod path "/buildid/<hex>/<kind>[/<rest>]": the build-id (copied lower-case into
 * ret_build_id), the kind (a static string: debuginfo, executable, source, section) and what follows
 * it ("/<path>" for source, "<name>" for section, NULL otherwise). false when url is not one. */
bool parse_debuginfod_path(const char *url, char ret_build_id[static 129], const char **ret_kind,
                           const char **ret_rest);
/* Is a Content-Type header value (parameters after ';' ignored, any case) one PROTOCOL.md accepts
 * for uploads? NULL is not. */
bool content_type_accepted(const char *value);
/* Splits "/…/<id>[/<action>]" into id and action (a static string); false when the path is not a
 * task path. Sets *ret_manager when the id follows a "manager" segment. */
bool parse_task_path(const char *url, uint64_t *ret_id, const char **ret_action, bool *ret_manager);
/* "ADDR:PORT" or "[ADDR6]:PORT" → a socket address; -EINVAL when malformed. */
int parse_listen(const char *text, struct sockaddr_storage *ret, bool *ret_ipv6);
/* The client a trusted reverse proxy names in X-Forwarded-For: the last entry (the one the proxy
 * itself added; earlier ones are the client's say), an IPv4 or IPv6 address. -EINVAL when absent or
 * malformed. */
int parse_forwarded_for(const char *value, struct sockaddr_storage *ret);

/* Interactive sessions: "/<id>/interact", "/<id>/interact/log" or "/<id>/interact/status" (under any
 * prefix); *ret_sub is "", "log" or "status". */
bool parse_interact_path(const char *url, uint64_t *ret_id, const char **ret_sub);
/* A session's text message {"resize": [cols, rows]}: both 1..1000 (-ERANGE), anything else -EINVAL. */
int parse_resize_message(const char *msg, size_t len, unsigned *ret_cols, unsigned *ret_rows);
