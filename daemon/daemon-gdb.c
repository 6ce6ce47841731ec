/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "daemon-gdb.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common-macro.h"
#include "common-parse.h"
#include "common-string.h"

#define MARKER_PREFIX "@@retrace:"
#define MARKER_SUFFIX "@@"

/* Section name → gdb commands that produce it. */
static const struct {
        const char *name;
        const char *commands[3];
} sections[] = {
        { "crash_thread", { "backtrace full" } },
        { "threads", { "thread apply all -ascending backtrace full" } },
        { "sharedlibs", { "info sharedlibrary" } },
        /* struct abort_msg_s { unsigned size; char msg[]; }: read without needing glibc's debuginfo. */
        { "abort_message", { "printf \"%s\", (char *) (*(unsigned long *) &__abort_msg + 4)" } },
        { "registers", { "info registers" } },
        { "instruction", { "x/i $pc" } },
        { "disassembly", { "disassemble $pc-48,$pc+48" } },
        { "signal", { "print $_siginfo.si_signo" } },
        { "fault_address", { "print/x (unsigned long) $_siginfo._sifields._sigfault.si_addr" } },
        { "pc", { "print/x $pc" } },
        { "sp", { "print/x $sp" } },
};

int gdb_build_argv(const char *gdb, const char *executable, const char *core, char ***ret_argv)
{
        static const char *const settings[] = {
                "set auto-load off",
                "set debuginfod enabled off",
                "set pagination off",
                "set width 0",
                "set height 0",
                "set confirm off",
                "set print frame-info auto",
                "set startup-with-shell off",
        };
        _cleanup_strv_free_ char **argv = NULL;
        int r;

#define ADD(s)                               \
        do {                                 \
                r = strv_extend(&argv, (s)); \
                if (r < 0)                   \
                        return r;            \
        } while (0)

        ADD(gdb);
        ADD("-batch");
        ADD("-nx");
        for (size_t i = 0; i < ELEMENTSOF(settings); i++) {
                ADD("-iex");
                ADD(settings[i]);
        }
        for (size_t i = 0; i < ELEMENTSOF(sections); i++) {
                _cleanup_free_ char *marker = NULL;

                if (asprintf(&marker, "echo \\n" MARKER_PREFIX "%s" MARKER_SUFFIX "\\n", sections[i].name) <
                    0)
                        return -ENOMEM;
                ADD("-ex");
                ADD(marker);
                for (size_t k = 0; k < ELEMENTSOF(sections[i].commands) && sections[i].commands[k]; k++) {
                        ADD("-ex");
                        ADD(sections[i].commands[k]);
                }
        }
        ADD(executable);
        ADD(core);
#undef ADD
        *ret_argv = TAKE_PTR(argv);
        return 0;
}

GdbResult *gdb_result_free(GdbResult *r)
{
        if (!r)
                return NULL;
        free(r->preamble);
        free(r->crash_thread);
        free(r->threads);
        free(r->sharedlibs);
        free(r->abort_message);
        free(r->registers);
        free(r->instruction);
        free(r->disassembly);
        return mfree(r);
}

/* Trims blank lines around a section and returns a copy (NULL for an empty one). */
static char *section_dup(const char *begin, const char *end)
{
        while (begin < end && strchr("\n\r", *begin))
                begin++;
        while (end > begin && strchr("\n\r ", end[-1]))
                end--;
        return end > begin ? strndup(begin, (size_t) (end - begin)) : NULL;
}

/* "$1 = 11" or "$2 = 0x7ffff7dd5149" → the number. */
static bool parse_value(const char *text, uint64_t *ret)
{
        const char *eq;
        uint64_t v;
        char *end;

        if (!text || text[0] != '$' || !(eq = strstr(text, " = ")))
                return false;
        errno = 0;
        v = strtoull(eq + 3, &end, 0);
        if (errno != 0 || end == eq + 3 || !strchr("\n", *end))
                return false;
        *ret = v;
        return true;
}

static int result_set(GdbResult *r, const char *name, char *text)
{
        _cleanup_free_ char *t = text;
        uint64_t v;

        if (streq(name, "signal")) {
                if (parse_value(t, &v) && v < 128)
                        r->signal = (int) v;
        } else if (streq(name, "fault_address"))
                r->have_fault_address = parse_value(t, &r->fault_address);
        else if (streq(name, "pc"))
                r->have_pc = parse_value(t, &r->pc);
        else if (streq(name, "sp"))
                r->have_sp = parse_value(t, &r->sp);
        else if (streq(name, "abort_message")) {
                /* Errors ("Cannot access memory …", "No symbol …") mean there is no message. */
                if (t && !r->abort_message && !string_startswith(t, "Cannot access memory") &&
                    !string_startswith(t, "No symbol") && !strstr(t, "has unknown type"))
                        r->abort_message = TAKE_PTR(t);
        } else {
                char **field = streq(name, "crash_thread")  ? &r->crash_thread
                               : streq(name, "threads")     ? &r->threads
                               : streq(name, "sharedlibs")  ? &r->sharedlibs
                               : streq(name, "registers")   ? &r->registers
                               : streq(name, "instruction") ? &r->instruction
                               : streq(name, "disassembly") ? &r->disassembly
                                                            : NULL;
                if (field && !*field)
                        *field = TAKE_PTR(t);
        }
        return 0;
}

int gdb_result_parse(const char *out, size_t len, GdbResult **ret)
{
        _cleanup_(gdb_result_freep) GdbResult *r = calloc(1, sizeof(GdbResult));
        const char *p = out, *end = out + len, *section_start = out;
        char name[32] = "";
        bool first = true;

        if (!r)
                return -ENOMEM;
        while (p < end) {
                const char *eol = memchr(p, '\n', (size_t) (end - p));
                const char *line_end = eol ? eol : end;
                size_t n = (size_t) (line_end - p);

                if (n > STRLEN(MARKER_PREFIX MARKER_SUFFIX) &&
                    memcmp(p, MARKER_PREFIX, STRLEN(MARKER_PREFIX)) == 0 &&
                    memcmp(line_end - STRLEN(MARKER_SUFFIX), MARKER_SUFFIX, STRLEN(MARKER_SUFFIX)) == 0 &&
                    n - STRLEN(MARKER_PREFIX MARKER_SUFFIX) < sizeof(name)) {
                        char *text = section_dup(section_start, p);
                        int k;

                        if (first)
                                r->preamble = text;
                        else {
                                k = result_set(r, name, text);
                                if (k < 0)
                                        return k;
                        }
                        first = false;
                        memcpy(name, p + STRLEN(MARKER_PREFIX), n - STRLEN(MARKER_PREFIX MARKER_SUFFIX));
                        name[n - STRLEN(MARKER_PREFIX MARKER_SUFFIX)] = '\0';
                        section_start = line_end;
                }
                p = eol ? eol + 1 : end;
        }
        if (first)
                r->preamble = section_dup(out, end);
        else {
                int k = result_set(r, name, section_dup(section_start, end));
                if (k < 0)
                        return k;
        }
        *ret = TAKE_PTR(r);
        return 0;
}

int gdb_result_format_backtrace(const GdbResult *r, char **ret)
{
        _cleanup_free_ char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);

        if (!f)
                return -ENOMEM;
        if (r->preamble)
                fprintf(f, "%s\n\n", r->preamble);
        fprintf(f, "Crashing thread:\n%s\n",
                r->crash_thread ?: "(no backtrace: gdb could not read the stack)");
        if (r->threads)
                fprintf(f, "\nAll threads:\n%s\n", r->threads);
        if (r->abort_message)
                fprintf(f, "\nAbort message:\n%s\n", r->abort_message);
        if (r->sharedlibs)
                fprintf(f, "\nShared libraries:\n%s\n", r->sharedlibs);
        if (r->registers)
                fprintf(f, "\nRegisters:\n%s\n", r->registers);
        if (r->disassembly)
                fprintf(f, "\nDisassembly around the crashing instruction:\n%s\n", r->disassembly);
        if (fclose(f) != 0)
                return -ENOMEM;
        *ret = TAKE_PTR(buf);
        return 0;
}

void gdb_result_exploit_input(const GdbResult *r, ExploitInput *ret)
{
        *ret = (ExploitInput){
                .signal = r->signal,
                .have_fault_address = r->have_fault_address,
                .fault_address = r->fault_address,
                .have_pc = r->have_pc,
                .pc = r->pc,
                .have_sp = r->have_sp,
                .sp = r->sp,
                .instruction = r->instruction,
                .abort_message = r->abort_message,
        };
}
