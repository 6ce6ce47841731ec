/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "common-osrelease.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

char *os_release_value(const char *text, const char *key)
{
        size_t kl = strlen(key);

        for (const char *line = text; line && *line;) {
                const char *nl = strchr(line, '\n');
                size_t n = nl ? (size_t) (nl - line) : strlen(line);

                if (n > kl && strncmp(line, key, kl) == 0 && line[kl] == '=') {
                        const char *v = line + kl + 1;
                        size_t vl = n - kl - 1;

                        if (vl >= 2 && (v[0] == '"' || v[0] == '\'') && v[vl - 1] == v[0]) {
                                v++;
                                vl -= 2;
                        }
                        return strndup(v, vl);
                }
                line = nl ? nl + 1 : NULL;
        }
        return NULL;
}

void os_release_slugify(char *s)
{
        for (; s && *s; s++)
                *s = *s == ' ' ? '-' : (char) tolower((unsigned char) *s);
}
