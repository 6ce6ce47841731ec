/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A vmcore is an uploaded file: its header parser (ELF notes, kdump headers, the banner scan) and the
 * parser of what crash printed about it must hold up against anything. */
#include <stdlib.h>
#include <string.h>

#include "common-macro.h"
#include "common-string.h"
#include "daemon-crash.h"
#include "daemon-vmcore.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        _cleanup_(vmcore_info_freep) VmcoreInfo *v = NULL;
        _cleanup_(crash_result_freep) CrashResult *r = NULL;
        _cleanup_free_ char *rel = NULL, *bid = NULL, *banner = NULL, *bt = NULL;

        if (vmcore_info_parse(data, size, &v) >= 0 && v->format >= _VMCORE_FORMAT_MAX)
                abort();
        (void) vmcoreinfo_parse((const char *) data, size, &rel, &bid);
        (void) vmcore_find_banner(data, size, &banner);
        if (crash_result_parse((const char *) data, size, 20, &r) >= 0) {
                char *files[] = { (char *) "/usr/lib/debug/lib/modules/6.1/kernel/pvpanic.ko",
                                  (char *) "/usr/lib/debug/lib/modules/6.1/kernel/a-b.ko.debug", NULL };
                _cleanup_strv_free_ char **loads = NULL;
                _cleanup_free_ char *script = NULL;

                if (crash_result_format(r, CRASH_MODE_FULL, &bt) < 0 || !bt)
                        abort();
                (void) crash_result_usable(r, CRASH_MODE_MINIMAL);
                /* The module list crash printed picks what goes into the next command script. */
                if (r->mod && crash_module_loads(r->mod, files, &loads) >= 0 &&
                    crash_build_script(CRASH_MODE_FULL, loads, &script) < 0 && loads)
                        abort();
        }
        return 0;
}
