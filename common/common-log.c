/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "common-log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common-parse.h"

static int max_level = LOG_INFO;
static const char *program;

void log_set_max_level(int level)
{
        max_level = level;
}

void log_set_program(const char *name)
{
        program = name;
}

int log_level_from_string(const char *s)
{
        static const char *const names[] = {
                [LOG_EMERG] = "emerg", [LOG_ALERT] = "alert",     [LOG_CRIT] = "crit",
                [LOG_ERR] = "err",     [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice",
                [LOG_INFO] = "info",   [LOG_DEBUG] = "debug",
        };
        unsigned u;

        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (streq(s, names[i]))
                        return (int) i;
        if (streq(s, "error"))
                return LOG_ERR;
        if (parse_uint(s, &u) >= 0 && u <= LOG_DEBUG)
                return (int) u;
        return -EINVAL;
}

int log_internal(int level, int error, const char *file, int line, const char *format, ...)
{
        int saved = errno;
        va_list ap;

        error = abs(error);
        if (level <= max_level) {
                /* Let "%m" in format refer to the error passed in, not to whatever errno is now. */
                errno = error;
                if (program)
                        fprintf(stderr, "%s: ", program);
                if (max_level >= LOG_DEBUG)
                        fprintf(stderr, "(%s:%d) ", file, line);
                va_start(ap, format);
                vfprintf(stderr, format, ap);
                va_end(ap);
                fputc('\n', stderr);
        }
        errno = saved;
        return error ? -error : -EIO;
}
