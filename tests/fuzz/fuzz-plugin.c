/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Distribution plugin files: parsing, and the release parsers run over an os-release line. */
#include <stdlib.h>

#include "cache-plugin.h"
#include "common-ini.h"
#include "common-macro.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        _cleanup_(plugin_freep) Plugin *p = NULL;
        _cleanup_(ini_file_freep) IniFile *ini = NULL;
        _cleanup_free_ char *error = NULL, *version = NULL, *guess = NULL;

        if (ini_parse("/usr/share/retrace-server/plugins/fuzz.conf", (const char *) data, size, &ini,
                      &error) < 0)
                return 0;
        if (plugin_parse(ini, "/usr/share/retrace-server/plugins", &p, &error) < 0) {
                if (!error)
                        abort(); /* a refused plugin says why */
                return 0;
        }
        (void) plugin_match_release(p, "Fedora release 38 (Thirty Eight)", &version);
        (void) plugin_guess_release(p, "1.fc38", &guess);
        return 0;
}
