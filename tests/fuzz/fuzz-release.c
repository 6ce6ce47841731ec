/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Release detection over an upload's os_release, os_info and package files, with the plugins of the
 * source tree (plugins/). The input holds the three files separated by NUL bytes. */
#include <stdlib.h>
#include <string.h>

#include "common-config.h"
#include "common-macro.h"
#include "daemon-pipeline.h"
#include "fuzz.h"

static Pipeline *pipeline_get(void)
{
        static RetraceConfig config;
        static Pipeline p;
        static bool loaded;

        if (!loaded) {
                config.plugin_dir = (char *) FUZZ_PLUGIN_DIR;
                p.config = &config;
                if (pipeline_load_plugins(&p, NULL) < 0 || p.n_plugins == 0)
                        abort();
                loaded = true;
        }
        return &p;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        _cleanup_free_ char *buf = malloc(size + 3), *release = NULL;
        const char *parts[3] = {};
        const Plugin *plugin = NULL;
        char *p;

        if (!buf)
                return 0;
        memcpy(buf, data, size);
        buf[size] = buf[size + 1] = buf[size + 2] = '\0';
        p = buf;
        for (size_t i = 0; i < 3 && p <= buf + size; i++) {
                parts[i] = *p ? p : NULL;
                p += strlen(p) + 1;
        }
        if (pipeline_detect_release(pipeline_get(), parts[0], parts[1], parts[2], "x86_64", &plugin,
                                    &release) >= 0 &&
            (!plugin || !release))
                abort();
        return 0;
}
