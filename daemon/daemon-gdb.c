/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "daemon-gdb.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common-macro.h"
#include "common-marker.h"
#include "common-parse.h"
#include "common-string.h"
#include "daemon-gdb-frames.h"

/* Section name → gdb commands that produce it; "%u" is the frame limit per thread. */
static const struct {
        const char *name;
        const char *commands[3];
} sections[] = {
        /* The crashing thread's frames are its block of "threads" (thread_block()): a `backtrace full`
         * of it of its own would print the same frames and locals once more. */
        { "current_thread", { "thread" } },
        { "threads", { "thread apply all -ascending backtrace full %u" } },
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
        /* The crashing thread's frames once more, with the absolute source paths (comp_dir joined with
         * the file name as the DWARF has them) for the source context; last, as the setting stays. */
        { "crash_sources", { "set filename-display absolute", "backtrace %u" } },
};

int gdb_build_argv(const char *gdb, const char *executable, const char *core, char ***ret_argv)
{
        const GdbOptions defaults = { .max_frames = GDB_DEFAULT_MAX_FRAMES };

        return gdb_build_argv_full(gdb, executable, core, &defaults, ret_argv);
}

#define REFUSE(cmd)                                                                                     \
        "define " cmd "\n"                                                                              \
        "echo Refused: '" cmd "' is not available in interactive sessions (no shell, no scripting, no " \
        "programs)\\n\n"                                                                                \
        "end\n"

const char gdb_interactive_init[] = "set confirm off\n" REFUSE("shell") REFUSE("pipe") REFUSE("make") REFUSE(
        "python") REFUSE("python-interactive") REFUSE("guile") REFUSE("guile-repl") REFUSE("run")
        REFUSE("start") REFUSE("starti") REFUSE("attach") REFUSE("source") REFUSE("compile")
                REFUSE("target") "set confirm on\n"
                                 "echo Interactive gdb on the task's core: bt, frame N, print, info locals, "
                                 "x, list …\\n\n";

int gdb_build_interactive_argv(const char *gdb, const char *executable, const char *core,
                               const GdbOptions *opts, const char *init, char ***ret_argv)
{
        static const char *const settings[] = {
                "set auto-load off",         "set debuginfod enabled off", "set startup-with-shell off",
                "set print frame-info auto", "set history save off",
        };
        _cleanup_strv_free_ char **argv = NULL;
        int r;

        r = strv_extend_many(&argv, (const char *const[]){ gdb, "-q", "-nx" }, 3);
        for (size_t i = 0; r >= 0 && i < ELEMENTSOF(settings); i++)
                r = strv_extend_many(&argv, (const char *const[]){ "-iex", settings[i] }, 2);
        if (r >= 0 && opts->index_cache)
                r = strv_extend(&argv, "-iex");
        if (r >= 0 && opts->index_cache)
                r = strv_extendf(&argv, "set index-cache directory %s", opts->index_cache);
        if (r >= 0 && opts->index_cache)
                r = strv_extend_many(&argv, (const char *const[]){ "-iex", "set index-cache enabled on" },
                                     2);
        if (r >= 0 && opts->sysroot)
                r = strv_extend(&argv, "-iex");
        if (r >= 0 && opts->sysroot)
                r = strv_extendf(&argv, "set sysroot %s", opts->sysroot);
        if (r >= 0 && opts->sysroot)
                r = strv_extend(&argv, "-iex");
        if (r >= 0 && opts->sysroot)
                r = strv_extendf(&argv, "set debug-file-directory %s/usr/lib/debug", opts->sysroot);
        if (r >= 0)
                r = strv_extend_many(&argv, (const char *const[]){ "-ix", init, executable, core }, 4);
        if (r < 0)
                return r;
        *ret_argv = TAKE_PTR(argv);
        return 0;
}

int gdb_build_argv_full(const char *gdb, const char *executable, const char *core, const GdbOptions *opts,
                        char ***ret_argv)
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
        if (opts->index_cache) {
                /* Indexes built once by the server (files named BUILD-ID.gdb-index); the debug lines
                 * ("[index-cache] …", on stderr) say which were read. */
                _cleanup_free_ char *dir = NULL;

                if (asprintf(&dir, "set index-cache directory %s", opts->index_cache) < 0)
                        return -ENOMEM;
                ADD("-iex");
                ADD(dir);
                ADD("-iex");
                ADD("set index-cache enabled on");
                ADD("-iex");
                ADD("set debug index-cache on");
        }
        if (opts->sysroot) {
                /* Libraries of the link map and debug files from the sysroot; the architecture comes
                 * from the executable and the core. */
                _cleanup_free_ char *sysroot = NULL, *debug = NULL;

                if (asprintf(&sysroot, "set sysroot %s", opts->sysroot) < 0 ||
                    asprintf(&debug, "set debug-file-directory %s/usr/lib/debug", opts->sysroot) < 0)
                        return -ENOMEM;
                ADD("-iex");
                ADD(sysroot);
                ADD("-iex");
                ADD(debug);
        }
        if (opts->log_file) {
                /* On stdout gdb writes every token of a value on its own (`bt full` of a deep stack:
                 * tens of thousands of write() calls of a few bytes, each after an isatty() ioctl);
                 * its log file is a buffered stdio stream. From the first command on: the preamble
                 * (loading the core) stays on stdout and the debug lines of loading (the index cache's)
                 * on stderr; the commands' errors go to the log in order (they are on stderr
                 * otherwise). A gdb older than 12 lacks `set logging enabled`: its output stays on
                 * stdout. The caller reads stdout, then the log. */
                _cleanup_free_ char *file = NULL;

                if (asprintf(&file, "set logging file %s", opts->log_file) < 0)
                        return -ENOMEM;
                ADD("-ex");
                ADD(file);
                ADD("-ex");
                ADD("set logging overwrite on");
                ADD("-ex");
                ADD("set logging redirect on");
                ADD("-ex");
                ADD("set logging enabled on");
        }
        for (size_t i = 0; i < ELEMENTSOF(sections); i++) {
                _cleanup_free_ char *marker = NULL;

                if (asprintf(&marker, "echo \\n" OUTPUT_MARKER_PREFIX "%s" OUTPUT_MARKER_SUFFIX "\\n",
                             sections[i].name) < 0)
                        return -ENOMEM;
                ADD("-ex");
                ADD(marker);
                for (size_t k = 0; k < ELEMENTSOF(sections[i].commands) && sections[i].commands[k]; k++) {
                        _cleanup_free_ char *cmd = NULL;

                        if (strstr(sections[i].commands[k], "%u")) {
                                /* The format is one of the constant strings above. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
                                if (asprintf(&cmd, sections[i].commands[k], opts->max_frames ?: 1) < 0)
                                        return -ENOMEM;
#pragma GCC diagnostic pop
                        }
                        ADD("-ex");
                        ADD(cmd ?: sections[i].commands[k]);
                }
        }
        if (opts->python_helper) {
                /* The helper of the root's python debuginfo, at a path the caller checked in the root. */
                _cleanup_free_ char *src = NULL;

                if (asprintf(&src, "source %s", opts->python_helper) < 0)
                        return -ENOMEM;
                ADD("-ex");
                ADD("echo \\n" OUTPUT_MARKER_PREFIX "python" OUTPUT_MARKER_SUFFIX "\\n");
                ADD("-ex");
                ADD(src);
                ADD("-ex");
                ADD("py-bt");
                ADD("-ex");
                ADD("py-list");
                ADD("-ex");
                ADD("py-locals");
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
        free(r->current_thread);
        free(r->python);
        free(r->threads);
        free(r->sharedlibs);
        free(r->abort_message);
        free(r->registers);
        free(r->instruction);
        free(r->disassembly);
        free(r->crash_sources);
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
                char **field = streq(name, "crash_thread")     ? &r->crash_thread
                               : streq(name, "current_thread") ? &r->current_thread
                               : streq(name, "python")         ? &r->python
                               : streq(name, "threads")        ? &r->threads
                               : streq(name, "sharedlibs")     ? &r->sharedlibs
                               : streq(name, "registers")      ? &r->registers
                               : streq(name, "instruction")    ? &r->instruction
                               : streq(name, "disassembly")    ? &r->disassembly
                               : streq(name, "crash_sources")  ? &r->crash_sources
                                                               : NULL;
                if (field && !*field)
                        *field = TAKE_PTR(t);
        }
        return 0;
}

/* The frames of the current thread ("[Current thread is N (…)]") in the output of `thread apply all
 * backtrace`: the lines after its header "Thread N (…):" up to the next header; with no current thread
 * named, those of the only thread. NULL when there is no such block. */
static char *thread_block(const char *threads, const char *current)
{
        unsigned want = gdb_current_thread_number(current), headers = 0;
        const char *found = NULL;

        for (const char *l = threads; l && *l;) {
                size_t n = strcspn(l, "\n");
                const char *next = l + n + (l[n] == '\n');
                GdbThread th;

                if (gdb_thread_header(l, n, &th)) {
                        if (found && want)
                                return section_dup(found, l);
                        if (want ? th.number == want : headers == 0)
                                found = next;
                        headers++;
                }
                l = next;
        }
        /* without a thread named, only the block of a single thread is the crashing one */
        return found && (want || headers == 1) ? section_dup(found, found + strlen(found)) : NULL;
}

int gdb_result_parse(const char *out, size_t len, GdbResult **ret)
{
        _cleanup_(gdb_result_freep) GdbResult *r = calloc(1, sizeof(GdbResult));
        const char *p = out, *end = out + len, *section_start = out;
        char name[OUTPUT_MARKER_NAME_MAX] = "", marker[OUTPUT_MARKER_NAME_MAX];
        bool first = true;

        if (!r)
                return -ENOMEM;
        while (p < end) {
                const char *eol = memchr(p, '\n', (size_t) (end - p));
                const char *line_end = eol ? eol : end;
                size_t n = (size_t) (line_end - p);

                if (output_marker_parse(p, n, true, marker)) {
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
                        memcpy(name, marker, sizeof(name));
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
        if (!r->crash_thread)
                r->crash_thread = thread_block(r->threads, r->current_thread);
        *ret = TAKE_PTR(r);
        return 0;
}

/* "[Current thread is 1 (Thread 0x7f… (LWP 8))]" → "1 (Thread 0x7f… (LWP 8))". */
static const char *thread_id(const char *current, size_t *ret_len)
{
        const char *b = current ? strstr(current, "[Current thread is ") : NULL;
        size_t n;

        if (!b)
                return NULL;
        b += STRLEN("[Current thread is ");
        n = strcspn(b, "\n");
        if (n > 0 && b[n - 1] == ']')
                n--;
        *ret_len = n;
        return n > 0 ? b : NULL;
}

int gdb_backtrace_limit(char **bt, size_t max_size)
{
        static const char note[] = "\n[The backtrace was cut here: it is longer than MaxBacktraceSize]\n";
        size_t len = strlen(*bt), cut;
        char *e;

        if (len <= max_size || max_size <= sizeof(note))
                return 0;
        cut = max_size - sizeof(note);
        e = memrchr(*bt, '\n', cut);
        cut = e ? (size_t) (e - *bt) : cut;
        memcpy(*bt + cut, note, sizeof(note));
        return 1;
}

/* The threads as gdb printed them; a thread whose frames reached the limit ends with the note gdb
 * prints on a terminal (it does not in batch mode). */
static void write_threads(FILE *f, const char *threads, unsigned max_frames)
{
        unsigned long last = 0;
        bool in_thread = false;

        for (const char *l = threads; *l;) {
                size_t n = strcspn(l, "\n");

                if (max_frames > 0 && in_thread && last + 1 >= max_frames &&
                    (n == 0 || string_startswith(l, "Thread "))) {
                        fputs("(More stack frames follow...)\n", f);
                        in_thread = false;
                }
                if (string_startswith(l, "Thread ")) {
                        in_thread = true;
                        last = 0;
                } else if (l[0] == '#')
                        last = strtoul(l + 1, NULL, 10);
                fwrite(l, 1, n, f);
                if (l[n] == '\n')
                        fputc('\n', f);
                l += n + (l[n] == '\n');
        }
        if (max_frames > 0 && in_thread && last + 1 >= max_frames)
                fputs(*threads && threads[strlen(threads) - 1] == '\n' ? "(More stack frames follow...)"
                                                                       : "\n(More stack frames follow...)",
                      f);
}

int gdb_result_format_backtrace(const GdbResult *r, char **ret)
{
        _cleanup_free_ char *buf = NULL;
        size_t id_len = 0;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);

        if (!f)
                return -ENOMEM;
        /* satyr reads this as plain gdb output: the only "#N" lines are the preamble's "#0" and those in
         * the "Thread N (…)" blocks, and no other line starts with '#' or "Thread". */
        if (r->preamble)
                fprintf(f, "%s\n\n", r->preamble);
        if (thread_id(r->current_thread, &id_len))
                fprintf(f, "Crashing thread: %.*s\n", (int) id_len, thread_id(r->current_thread, &id_len));
        else if (!r->threads)
                fputs("Crashing thread: (no backtrace: gdb could not read the stack)\n", f);
        if (r->threads) {
                fputs("\nAll threads:\n", f);
                write_threads(f, r->threads, r->max_frames);
                fputc('\n', f);
        }
        if (r->python)
                fprintf(f, "\nPython stack of the crashing thread:\n%s\n", r->python);
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
