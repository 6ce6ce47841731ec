/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "sandbox-error.h"

#include <stdarg.h>
#include <stdlib.h>

int sandbox_error_set(SandboxError *e, int error, const char *format, ...)
{
        va_list ap;

        error = abs(error);
        if (error == 0)
                error = EIO;
        if (e) {
                e->error = error;
                va_start(ap, format);
                (void) vsnprintf(e->message, sizeof(e->message), format, ap);
                va_end(ap);
        }
        return -error;
}
