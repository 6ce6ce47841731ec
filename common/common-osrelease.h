/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* os-release(5) text: the value of KEY ("ID", "NAME", "VERSION_ID", …) of the first line "KEY=…",
 * with one pair of surrounding quotes removed; NULL when absent (or out of memory). Pure. */
char *os_release_value(const char *text, const char *key);

/* A distribution name as a release id's first part, in place: lower case, spaces → "-"
 * ("CentOS Stream" → "centos-stream"). */
void os_release_slugify(char *name);
