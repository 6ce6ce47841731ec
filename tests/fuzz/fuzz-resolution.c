/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What resolution reads from outside: a module's .note.package JSON (from the uploaded core) and
 * gdb's backtrace text (from the sandbox) when counting the crashing thread's frames. */
#include <stdlib.h>
#include <string.h>

#include "cache-elf.h"
#include "common-macro.h"
#include "daemon-resolution.h"
#include "fuzz.h"

static void count_frame(uint64_t address, const char *from, size_t from_len, void *userdata)
{
        const char *text = userdata;

        /* "from" must lie inside the text it came from. */
        if (from && (from < text || from + from_len > text + strlen(text)))
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        _cleanup_free_ char *text = NULL;
        PackageNote n = {};
        FrameQuality q;

        if (package_note_parse((const char *) data, size, &n) >= 0) {
                if (!n.name || !n.version)
                        abort();
                package_note_done(&n);
        }
        text = strndup((const char *) data, size);
        if (!text)
                return 0;
        gdb_backtrace_quality(text, &q, count_frame, text);
        if (q.named + q.unnamed != q.frames || q.with_lines > q.named)
                abort();
        return 0;
}
