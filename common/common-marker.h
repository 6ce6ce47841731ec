/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* The debuggers' command scripts put a marker line "@@retrace:NAME@@" before each part of their
 * output (gdb by `echo`, crash as an unknown command it complains about), so that the output can be
 * taken apart. One format and one reader for both. */
#define OUTPUT_MARKER_PREFIX   "@@retrace:"
#define OUTPUT_MARKER_SUFFIX   "@@"
#define OUTPUT_MARKER_NAME_MAX 32

/* Pure: whether the line (n bytes, no newline) carries a marker, and its name (NUL-terminated, at
 * most OUTPUT_MARKER_NAME_MAX - 1 bytes) into ret_name. whole_line: the line must be exactly the
 * marker (gdb echoes it on a line of its own; a debuggee's string that merely contains one is then
 * never taken for it); else the marker may stand anywhere in the line (crash prints it inside its
 * complaint). */
bool output_marker_parse(const char *line, size_t n, bool whole_line,
                         char ret_name[static OUTPUT_MARKER_NAME_MAX]);
