/* SPDX-License-Identifier: GPL-2.0-or-later */
/* gdb's output comes from a process that read an attacker-controlled core: parsing it and turning
 * it into the backtrace and exploitability texts must hold up against anything. */
#include <stdlib.h>
#include <string.h>

#include "common-macro.h"
#include "daemon-exploitable.h"
#include "daemon-gdb.h"
#include "daemon-gdb-frames.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        _cleanup_(gdb_result_freep) GdbResult *r = NULL;
        _cleanup_free_ char *bt = NULL, *ex = NULL, *copy = NULL;
        ExploitInput in;

        copy = strndup((const char *) data, size); /* gdb output is text: stop at a NUL as readers do */
        if (!copy)
                return 0;
        if (gdb_result_parse(copy, strlen(copy), &r) < 0)
                return 0;
        if (gdb_result_format_backtrace(r, &bt) < 0 || !bt)
                abort();
        {
                _cleanup_free_ char *json = NULL;
                GdbFrame f;

                /* every line as a frame line; the threads and the JSON result */
                for (const char *l = copy; *l;) {
                        size_t n = strcspn(l, "\n");

                        if (gdb_frame_parse(l, n, &f) >= 0)
                                gdb_frame_done(&f);
                        l += n + (l[n] == '\n');
                }
                r->max_frames = 3;
                if (gdb_backtrace_json(r, NULL, r->signal, 3, copy, &json) < 0 || !json)
                        abort();
        }
        gdb_result_exploit_input(r, &in);
        if (exploit_format(&in, &ex) < 0 || !strstr(ex, "Exploitable rating (0-9 scale): "))
                abort();
        return 0;
}
