/* SPDX-License-Identifier: GPL-2.0-or-later */
/* retrace-server.conf: the INI parser and the configuration keys, on any input. */
#include <stdlib.h>

#include "common-config.h"
#include "common-ini.h"
#include "common-macro.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        _cleanup_(config_freep) RetraceConfig *c = NULL;
        _cleanup_(ini_file_freep) IniFile *ini = NULL;
        _cleanup_free_ char *error = NULL, *error2 = NULL;

        if (ini_parse("/etc/retrace-server/retrace-server.conf", (const char *) data, size, &ini, &error) <
            0) {
                if (!error)
                        abort(); /* a syntax error names file and line */
                return 0;
        }
        if (config_new_default(&c) < 0)
                abort();
        (void) config_apply_ini(c, ini, &error2);
        return 0;
}
