/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "common-marker.h"

#include <string.h>

#include "common-macro.h"

bool output_marker_parse(const char *line, size_t n, bool whole_line,
                         char ret_name[static OUTPUT_MARKER_NAME_MAX])
{
        const char *start, *name, *stop;
        size_t len;

        if (whole_line)
                start = n >= STRLEN(OUTPUT_MARKER_PREFIX) &&
                                        memcmp(line, OUTPUT_MARKER_PREFIX, STRLEN(OUTPUT_MARKER_PREFIX)) == 0
                                ? line
                                : NULL;
        else
                start = memmem(line, n, OUTPUT_MARKER_PREFIX, STRLEN(OUTPUT_MARKER_PREFIX));
        if (!start)
                return false;
        name = start + STRLEN(OUTPUT_MARKER_PREFIX);
        stop = memmem(name, (size_t) (line + n - name), OUTPUT_MARKER_SUFFIX, STRLEN(OUTPUT_MARKER_SUFFIX));
        if (!stop || (whole_line && stop + STRLEN(OUTPUT_MARKER_SUFFIX) != line + n))
                return false;
        len = (size_t) (stop - name);
        if (len == 0 || len >= OUTPUT_MARKER_NAME_MAX)
                return false;
        memcpy(ret_name, name, len);
        ret_name[len] = '\0';
        return true;
}
