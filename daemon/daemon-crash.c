/* SPDX-License-Identifier: GPL-2.0-or-later */
/* crash(8) in batch mode: the command script, the command line, and the output turned into the
 * task's backtrace text. The output comes from a process that read an uploaded dump: parsing it
 * must hold up against anything. */
#include "daemon-crash.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common-macro.h"
#include "common-marker.h"
#include "common-path.h"
#include "common-string.h"

static const char *const crash_mode_table[_CRASH_MODE_MAX] = {
        [CRASH_MODE_FULL] = "full",
        [CRASH_MODE_ZERO_EXCLUDED] = "--zero_excluded",
        [CRASH_MODE_MINIMAL] = "--minimal",
};

DEFINE_STRING_TABLE_TO_STRING(crash_mode, CrashMode, _CRASH_MODE_MAX)

/* Section name → the command run behind its marker. A marker is an unknown command: crash answers
 * it with one line naming it, in every mode, which splits the output reliably. */
static const struct {
        const char *name, *command;
} commands[] = {
        { "sys", "sys" }, { "bt", "bt" },        { "bt_all", "bt -a" }, { "log", "log" },
        { "ps", "ps" },   { "kmem", "kmem -i" }, { "mod", "mod" },
};

bool crash_path_is_safe(const char *path)
{
        /* It goes into the command script: one line, no shell or crash syntax. */
        return path_is_normalized_absolute(path) && string_in_charset(path, "/" CRASH_PATH_CHARSET);
}

int crash_build_script(CrashMode mode, char *const *module_loads, char **ret)
{
        _cleanup_free_ char *s = strdup("set scroll off\n");
        char *n;

        if (!s)
                return -ENOMEM;
        if (mode != CRASH_MODE_MINIMAL && module_loads) {
                if (asprintf(&n, "%s" OUTPUT_MARKER_PREFIX "modload" OUTPUT_MARKER_SUFFIX "\n", s) < 0)
                        return -ENOMEM;
                free(s);
                s = n;
                STRV_FOREACH (l, module_loads) {
                        const char *sp = strchr(*l, ' ');

                        if (!sp || !crash_path_is_safe(sp + 1) || sp == *l ||
                            strspn(*l, MODULE_NAME_CHARSET) != (size_t) (sp - *l))
                                return -EINVAL;
                        if (asprintf(&n, "%smod -s %s\n", s, *l) < 0)
                                return -ENOMEM;
                        free(s);
                        s = n;
                }
        }
        for (size_t i = 0; i < ELEMENTSOF(commands); i++) {
                if (mode == CRASH_MODE_MINIMAL && !streq(commands[i].name, "log"))
                        continue;
                if (asprintf(&n, "%s" OUTPUT_MARKER_PREFIX "%s" OUTPUT_MARKER_SUFFIX "\n%s\n", s,
                             commands[i].name, commands[i].command) < 0)
                        return -ENOMEM;
                free(s);
                s = n;
        }
        if (asprintf(&n, "%s" OUTPUT_MARKER_PREFIX "end" OUTPUT_MARKER_SUFFIX "\nexit\n", s) < 0)
                return -ENOMEM;
        free(s);
        *ret = n;
        s = NULL;
        return 0;
}

bool crash_is_module_file(const char *path)
{
        return crash_path_is_safe(path) &&
               (string_endswith(path, ".ko") || string_endswith(path, ".ko.debug"));
}

/* "pvpanic-pci.ko.debug" → "pvpanic_pci": the kernel's name of a module file. */
static char *module_name_of(const char *path)
{
        const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
        char *name = strndup(base, strcspn(base, "."));

        for (char *c = name; c && *c; c++)
                if (*c == '-')
                        *c = '_';
        return name;
}

int crash_module_loads(const char *mod_section, char *const *module_files, char ***ret)
{
        _cleanup_strv_free_ char **loads = NULL;
        int r;

        for (const char *line = mod_section; line && *line;) {
                const char *end = strchrnul(line, '\n'), *p = line;
                char name[65];
                size_t k;

                /* "ffffffffc04df0c0  pvpanic  ffffffffc04dd000  16384  (not loaded)  [CONFIG_KALLSYMS]" */
                size_t hex;

                p += strspn(p, " ");
                hex = strspn(p, "0123456789abcdef");
                p += hex;
                k = strspn(p, " ");
                if (k > 0 && hex > 0) {
                        p += k;
                        k = strspn(p, MODULE_NAME_CHARSET);
                        if (k > 0 && k < sizeof(name) && (p[k] == ' ' || p + k == end)) {
                                memcpy(name, p, k);
                                name[k] = '\0';
                                for (char *c = name; *c; c++)
                                        if (*c == '-')
                                                *c = '_';
                                STRV_FOREACH (f, module_files) {
                                        _cleanup_free_ char *fname = module_name_of(*f), *pair = NULL;

                                        if (!fname)
                                                return -ENOMEM;
                                        if (!streq(fname, name) || !crash_is_module_file(*f))
                                                continue;
                                        if (asprintf(&pair, "%s %s", name, *f) < 0)
                                                return -ENOMEM;
                                        r = strv_extend(&loads, pair);
                                        if (r < 0)
                                                return r;
                                        break;
                                }
                        }
                }
                line = *end ? end + 1 : NULL;
        }
        *ret = TAKE_PTR(loads);
        return 0;
}

int crash_build_interactive_init(char *const *module_loads, char **ret)
{
        _cleanup_free_ char *s = strdup("set scroll off\n");
        char *n;

        if (!s)
                return -ENOMEM;
        STRV_FOREACH (l, module_loads) {
                const char *sp = strchr(*l, ' ');

                if (!sp || !crash_path_is_safe(sp + 1) || sp == *l ||
                    strspn(*l, MODULE_NAME_CHARSET) != (size_t) (sp - *l))
                        return -EINVAL;
                if (asprintf(&n, "%smod -s %s\n", s, *l) < 0)
                        return -ENOMEM;
                free(s);
                s = n;
        }
        *ret = TAKE_PTR(s);
        return 0;
}

int crash_build_argv(const char *crash, const char *vmlinux, const char *dump, CrashMode mode, char ***ret)
{
        _cleanup_strv_free_ char **argv = NULL;
        const char *args[] = { crash, "-s", "--no_crashrc", NULL, vmlinux, dump };
        int r;

        if (mode == CRASH_MODE_ZERO_EXCLUDED)
                args[3] = "--zero_excluded";
        else if (mode == CRASH_MODE_MINIMAL)
                args[3] = "--minimal";
        for (size_t i = 0; i < ELEMENTSOF(args); i++)
                if (args[i] && (r = strv_extend(&argv, args[i])) < 0)
                        return r;
        *ret = TAKE_PTR(argv);
        return 0;
}

CrashResult *crash_result_free(CrashResult *r)
{
        if (!r)
                return NULL;
        free(r->preamble);
        free(r->sys);
        free(r->panic_task);
        free(r->all_tasks);
        free(r->log);
        free(r->ps);
        free(r->kmem);
        free(r->mod);
        free(r->panic);
        free(r);
        return NULL;
}

static char **section_slot(CrashResult *r, const char *name, size_t n)
{
        static const struct {
                const char *name;
                size_t offset;
        } slots[] = {
                { "sys", offsetof(CrashResult, sys) },
                { "bt", offsetof(CrashResult, panic_task) },
                { "bt_all", offsetof(CrashResult, all_tasks) },
                { "log", offsetof(CrashResult, log) },
                { "ps", offsetof(CrashResult, ps) },
                { "kmem", offsetof(CrashResult, kmem) },
                { "mod", offsetof(CrashResult, mod) },
        };
        for (size_t i = 0; i < ELEMENTSOF(slots); i++)
                if (strlen(slots[i].name) == n && memcmp(slots[i].name, name, n) == 0)
                        return (char **) ((char *) r + slots[i].offset);
        return NULL;
}

/* Appends [p, p+n) and a newline to *s. */
static int append_line(char **s, const char *p, size_t n)
{
        size_t old = *s ? strlen(*s) : 0;
        char *t = realloc(*s, old + n + 2);

        if (!t)
                return -ENOMEM;
        memcpy(t + old, p, n);
        t[old + n] = '\n';
        t[old + n + 1] = '\0';
        *s = t;
        return 0;
}

/* The last keep lines of *s (in place); the number dropped. */
static size_t keep_tail(char *s, size_t keep)
{
        size_t lines = 0, drop;
        char *p;

        if (!s)
                return 0;
        for (p = s; *p; p++)
                lines += *p == '\n';
        if (lines <= keep)
                return 0;
        drop = lines - keep;
        p = s;
        for (size_t i = 0; i < drop; i++)
                p = strchr(p, '\n') + 1;
        memmove(s, p, strlen(p) + 1);
        return drop;
}

static char *find_panic(const char *sys)
{
        const char *p = sys ? strstr(sys, "PANIC: ") : NULL;
        size_t n;

        if (!p)
                return NULL;
        p += strlen("PANIC: ");
        n = strcspn(p, "\n");
        if (n >= 2 && p[0] == '"' && p[n - 1] == '"') {
                p++;
                n -= 2;
        }
        return n > 0 ? strndup(p, n) : NULL;
}

int crash_result_parse(const char *out, size_t len, size_t log_tail, CrashResult **ret)
{
        _cleanup_(crash_result_freep) CrashResult *r = calloc(1, sizeof(CrashResult));
        const char *p = out, *end = out + len;
        char **current;
        int k;

        if (!r)
                return -ENOMEM;
        current = &r->preamble;
        while (p < end) {
                const char *nl = memchr(p, '\n', (size_t) (end - p));
                size_t n = nl ? (size_t) (nl - p) : (size_t) (end - p);
                char marker[OUTPUT_MARKER_NAME_MAX];

                if (output_marker_parse(p, n, false, marker)) {
                        current = section_slot(r, marker, strlen(marker));
                        if (!current) /* "end" or garbage: what follows belongs to nothing */
                                current = &r->preamble;
                } else if (memmem(p, n, "not found in PID hash", strlen("not found in PID hash"))) {
                        r->pid_hash_warning = true;
                        if ((k = append_line(&r->preamble, p, n)) < 0)
                                return k;
                } else if (!(n >= 5 && memcmp(p, "NOTE:", 5) == 0 && memmem(p, n, "minimal mode", 12)) &&
                           !(n >= 7 && memcmp(p, "scroll:", 7) == 0)) {
                        if ((k = append_line(current, p, n)) < 0)
                                return k;
                }
                if (!nl)
                        break;
                p = nl + 1;
        }
        r->log_lines_dropped = keep_tail(r->log, log_tail);
        r->panic = find_panic(r->sys);
        *ret = TAKE_PTR(r);
        return 0;
}

static bool has_text(const char *s)
{
        return s && s[strspn(s, WHITESPACE)] != '\0';
}

bool crash_result_usable(const CrashResult *r, CrashMode mode)
{
        if (mode == CRASH_MODE_MINIMAL)
                return has_text(r->log) && !strstr(r->log, "command not");
        return r->sys && strstr(r->sys, "KERNEL:") && r->panic_task && strstr(r->panic_task, "#0");
}

int crash_result_format(const CrashResult *r, CrashMode mode, char **ret)
{
        _cleanup_free_ char *s = NULL;
        FILE *f;
        size_t n;

        f = open_memstream(&s, &n);
        if (!f)
                return -ENOMEM;
        fprintf(f, "Panic: %s\n", r->panic ?: "(crash reports no panic message)");
        if (mode != CRASH_MODE_FULL)
                fprintf(f, "crash mode: %s (the full load failed)\n", crash_mode_to_string(mode));
        if (r->pid_hash_warning)
                fputs("Warning: crash could not find the active task in the PID hash: the task list (ps, bt "
                      "-a) "
                      "may be incomplete; crash 8.0.4 or later reads this kernel's task list\n",
                      f);
        if (has_text(r->panic_task))
                fprintf(f, "\nPanicking task:\n%s", r->panic_task);
        if (has_text(r->sys))
                fprintf(f, "\nSystem:\n%s", r->sys);
        if (has_text(r->log)) {
                fputs("\nKernel log", f);
                if (r->log_lines_dropped > 0)
                        fprintf(f, " (last lines; %zu earlier lines left out)", r->log_lines_dropped);
                fprintf(f, ":\n%s", r->log);
        }
        if (has_text(r->all_tasks))
                fprintf(f, "\nActive tasks (bt -a):\n%s", r->all_tasks);
        if (has_text(r->ps))
                fprintf(f, "\nProcesses (ps):\n%s", r->ps);
        if (has_text(r->kmem))
                fprintf(f, "\nMemory (kmem -i):\n%s", r->kmem);
        if (has_text(r->mod))
                fprintf(f, "\nModules (mod):\n%s", r->mod);
        if (fclose(f) != 0)
                return -ENOMEM;
        *ret = TAKE_PTR(s);
        return 0;
}
