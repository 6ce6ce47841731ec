/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <jansson.h>

#include "common-macro.h"

/* All JSON is produced and read with jansson. Strings that come from outside (crash files, the
 * debugger's output, package names from RPM headers) are not always UTF-8: json_string_safe() keeps
 * every valid UTF-8 sequence and replaces each invalid byte with U+FFFD, so that what we write is
 * always valid JSON and valid UTF-8. NULL gives JSON null. */
json_t *json_string_safe(const char *s);

/* Serializes v (with its members in insertion order) and frees it; compact unless pretty. A newline
 * ends the text. */
int json_dump_take(json_t *v, int pretty, char **ret);
/* jansson itself defines json_decrefp() for _cleanup_(json_decrefp). */
