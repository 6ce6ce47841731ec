/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "daemon-gdb-frames.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common-json.h"
#include "common-macro.h"
#include "common-string.h"

void gdb_frame_done(GdbFrame *f)
{
        free(f->function);
        free(f->file);
        free(f->library);
        *f = (GdbFrame){};
}

void gdb_threads_done(GdbThreads *t)
{
        for (size_t i = 0; i < t->n_threads; i++) {
                for (size_t k = 0; k < t->threads[i].n_frames; k++)
                        gdb_frame_done(&t->threads[i].frames[k]);
                free(t->threads[i].frames);
        }
        free(t->threads);
        *t = (GdbThreads){};
}

static bool is_digit(char c)
{
        return c >= '0' && c <= '9';
}

/* Reads decimal digits at *p (at most 9 of them, so that no overflow is possible). */
static bool read_uint(const char **p, const char *end, unsigned *ret)
{
        unsigned v = 0, n = 0;

        while (*p < end && is_digit(**p) && n < 9) {
                v = v * 10 + (unsigned) (**p - '0');
                (*p)++;
                n++;
        }
        if (n == 0 || (*p < end && is_digit(**p)))
                return false;
        *ret = v;
        return true;
}

static bool read_hex(const char **p, const char *end, uint64_t *ret)
{
        uint64_t v = 0;
        unsigned n = 0;

        if (end - *p < 3 || (*p)[0] != '0' || (*p)[1] != 'x')
                return false;
        *p += 2;
        for (; *p < end && n < 17; (*p)++, n++) {
                char c = **p;
                unsigned d = is_digit(c)            ? (unsigned) (c - '0')
                             : c >= 'a' && c <= 'f' ? (unsigned) (c - 'a' + 10)
                             : c >= 'A' && c <= 'F' ? (unsigned) (c - 'A' + 10)
                                                    : 16;
                if (d == 16)
                        break;
                v = (v << 4) | d;
        }
        if (n == 0 || n > 16)
                return false;
        *ret = v;
        return true;
}

/* The last occurrence of needle in [b, e). */
static const char *rfind(const char *b, const char *e, const char *needle)
{
        size_t n = strlen(needle);

        for (const char *p = e - n; e - b >= (ptrdiff_t) n && p >= b; p--)
                if (memcmp(p, needle, n) == 0)
                        return p;
        return NULL;
}

int gdb_frame_parse(const char *line, size_t len, GdbFrame *ret)
{
        const char *p = line, *end = line + len, *loc, *name_end;
        _cleanup_free_ char *function = NULL, *file = NULL, *library = NULL;
        GdbFrame f = {};
        int depth = 0;

        while (end > p && (end[-1] == ' ' || end[-1] == '\r'))
                end--;
        if (p >= end || *p++ != '#' || !read_uint(&p, end, &f.index) || p >= end || *p != ' ')
                return -EINVAL;
        while (p < end && *p == ' ')
                p++;
        if (end - p >= 2 && p[0] == '0' && p[1] == 'x') {
                if (!read_hex(&p, end, &f.address))
                        return -EINVAL;
                f.have_address = true;
                if (end - p < 4 || memcmp(p, " in ", 4) != 0)
                        return -EINVAL;
                p += 4;
        }
        if (p >= end)
                return -EINVAL;

        /* The location: " at FILE:LINE" or " from LIBRARY" at the end. */
        loc = rfind(p, end, " at ");
        if (loc) {
                const char *colon = rfind(loc + 4, end, ":");
                const char *q = colon ? colon + 1 : NULL;

                if (colon && colon > loc + 4 && read_uint(&q, end, &f.line) && q == end &&
                    !memchr(loc + 4, ' ', (size_t) (colon - loc - 4))) {
                        file = strndup(loc + 4, (size_t) (colon - loc - 4));
                        if (!file)
                                return -ENOMEM;
                } else
                        loc = NULL;
        }
        if (!loc && (loc = rfind(p, end, " from "))) {
                if (memchr(loc + 6, ' ', (size_t) (end - loc - 6)) || end == loc + 6)
                        loc = NULL;
                else if (!(library = strndup(loc + 6, (size_t) (end - loc - 6))))
                        return -ENOMEM;
        }
        if (!loc)
                loc = end;

        /* The function: up to " (" of its arguments, outside C++ template brackets. */
        name_end = loc;
        if (*p != '<')
                for (const char *q = p; q + 1 < loc; q++) {
                        if (*q == '<')
                                depth++;
                        else if (*q == '>' && depth > 0)
                                depth--;
                        else if (depth == 0 && q[0] == ' ' && q[1] == '(') {
                                name_end = q;
                                break;
                        }
                }
        if (name_end > p && !(name_end - p == 2 && memcmp(p, "??", 2) == 0)) {
                function = strndup(p, (size_t) (name_end - p));
                if (!function)
                        return -ENOMEM;
        }
        f.function = TAKE_PTR(function);
        f.file = TAKE_PTR(file);
        f.library = TAKE_PTR(library);
        *ret = f;
        return 0;
}

bool gdb_thread_header(const char *line, size_t len, GdbThread *ret)
{
        const char *p = line + STRLEN("Thread "), *end = line + len, *lwp;

        if (len < STRLEN("Thread 1 (") || memcmp(line, "Thread ", STRLEN("Thread ")) != 0)
                return false;
        *ret = (GdbThread){};
        if (!read_uint(&p, end, &ret->number) || end - p < 2 || memcmp(p, " (", 2) != 0)
                return false;
        lwp = rfind(p, end, "(LWP ");
        if (lwp) {
                const char *q = lwp + STRLEN("(LWP ");
                unsigned v;

                if (read_uint(&q, end, &v) && q < end && *q == ')') {
                        ret->have_lwp = true;
                        ret->lwp = v;
                }
        }
        return true;
}

int gdb_threads_parse(const char *text, GdbThreads *ret)
{
        GdbThreads t = {};
        size_t allocated = 0, frames_allocated = 0;
        int r = 0;

        for (const char *l = text; l && *l;) {
                size_t n = strcspn(l, "\n");
                GdbThread th;

                if (gdb_thread_header(l, n, &th)) {
                        if (ARRAY_RESERVE(t.threads, allocated, t.n_threads + 1) < 0) {
                                r = -ENOMEM;
                                break;
                        }
                        t.threads[t.n_threads++] = th;
                        frames_allocated = 0;
                } else if (l[0] == '#' && t.n_threads > 0) {
                        GdbThread *cur = &t.threads[t.n_threads - 1];
                        GdbFrame f = {};

                        r = gdb_frame_parse(l, n, &f);
                        if (r == -ENOMEM)
                                break;
                        if (r < 0)
                                ; /* not a frame line: f was not written (and owns nothing) */
                        else if (f.index == 0 && f.function == NULL && !f.have_address && !f.file &&
                                 !f.library)
                                ; /* not a frame after all */
                        else if (ARRAY_RESERVE(cur->frames, frames_allocated, cur->n_frames + 1) < 0) {
                                gdb_frame_done(&f);
                                r = -ENOMEM;
                                break;
                        } else
                                cur->frames[cur->n_frames++] = f;
                        r = 0;
                }
                l += n;
                if (*l == '\n')
                        l++;
        }
        if (r < 0) {
                gdb_threads_done(&t);
                return r;
        }
        *ret = t;
        return 0;
}

unsigned gdb_current_thread_number(const char *current_thread)
{
        const char *b = current_thread ? strstr(current_thread, "[Current thread is ") : NULL;
        unsigned n;

        if (!b)
                return 0;
        b += STRLEN("[Current thread is ");
        return read_uint(&b, b + strlen(b), &n) ? n : 0;
}

static json_t *hex_or_null(bool have, uint64_t v)
{
        char buf[32];

        if (!have)
                return json_null();
        snprintf(buf, sizeof(buf), "0x%" PRIx64, v);
        return json_string(buf);
}

static const CoreModule *module_at(const CoreInfo *core, uint64_t address)
{
        for (size_t i = 0; core && i < core->n_modules; i++)
                if (address >= core->modules[i].start && address < core->modules[i].end)
                        return &core->modules[i];
        return NULL;
}

static const CoreModule *module_named(const CoreInfo *core, const char *path)
{
        for (size_t i = 0; core && path && i < core->n_modules; i++)
                if (streq(core->modules[i].name, path))
                        return &core->modules[i];
        return NULL;
}

/* The absolute file of frame f from the "crash_sources" section (the crashing thread's "backtrace"
 * with filename-display absolute), when that section has the same frame at the same line. */
static char *absolute_source(const GdbResult *r, const GdbFrame *f)
{
        for (const char *l = r->crash_sources; l && *l;) {
                size_t n = strcspn(l, "\n");
                GdbFrame g = {};

                if (l[0] == '#' && gdb_frame_parse(l, n, &g) >= 0) {
                        bool same = g.index == f->index && g.file && g.line == f->line && g.file[0] == '/';
                        char *file = same ? TAKE_PTR(g.file) : NULL;
                        bool this_frame = g.index == f->index;

                        gdb_frame_done(&g);
                        if (this_frame)
                                return file;
                }
                l += n;
                if (*l == '\n')
                        l++;
        }
        return NULL;
}

static json_t *source_context_json(const SourceContext *sc)
{
        json_t *lines = json_array();

        for (char **l = sc->lines; lines && l && *l; l++)
                (void) json_array_append_new(lines, json_string_safe(*l));
        return json_pack("{s:I, s:o}", "first_line", (json_int_t) sc->first_line, "lines", lines);
}

/* "source_context" of a frame with a file and line in a module with a build-id, when the extras
 * find its source. */
static int frame_add_source(json_t *o, const GdbFrame *f, const CoreModule *m, const GdbResult *r,
                            const BacktraceExtras *extras)
{
        _cleanup_free_ char *path = NULL;
        SourceContext sc = {};
        json_t *c;

        if (!r || !extras || !extras->source_context || !f->file || !m || !m->build_id ||
            f->index >= SOURCE_CONTEXT_MAX_FRAMES)
                return 0;
        path = absolute_source(r, f);
        if (!path || extras->source_context(extras->userdata, m->build_id, path, f->line, &sc) < 0)
                return 0;
        c = source_context_json(&sc);
        strv_free(sc.lines);
        return c && json_object_set_new(o, "source_context", c) >= 0 ? 0 : -ENOMEM;
}

static json_t *frame_json(const GdbFrame *f, bool have_address, uint64_t address, const CoreInfo *core,
                          const GdbResult *r, const BacktraceExtras *extras)
{
        const CoreModule *m = have_address ? module_at(core, address) : NULL;
        json_t *o = json_object();

        if (!m)
                m = module_named(core, f->library);
        if (!o)
                return NULL;
        if (json_object_set_new(o, "index", json_integer(f->index)) < 0 ||
            json_object_set_new(o, "address", hex_or_null(have_address, address)) < 0 ||
            json_object_set_new(o, "function", json_string_safe(f->function)) < 0 ||
            json_object_set_new(o, "file", json_string_safe(f->file)) < 0 ||
            json_object_set_new(o, "line", f->file ? json_integer(f->line) : json_null()) < 0 ||
            json_object_set_new(o, "module", json_string_safe(m ? m->name : f->library)) < 0 ||
            json_object_set_new(o, "build_id", json_string_safe(m ? m->build_id : NULL)) < 0 ||
            frame_add_source(o, f, m, r, extras) < 0) {
                json_decref(o);
                return NULL;
        }
        return o;
}

int gdb_crashing_thread(const GdbResult *r, GdbThreads *ret_threads, const GdbThread **ret)
{
        _cleanup_(gdb_threads_done) GdbThreads t = {};
        unsigned crashing = gdb_current_thread_number(r->current_thread);
        int k;

        k = gdb_threads_parse(r->threads ?: "", &t);
        if (k < 0)
                return k;
        if (t.n_threads == 0)
                return -ENODATA;
        for (size_t i = 0; i < t.n_threads; i++)
                if (t.threads[i].number == crashing) {
                        *ret = &t.threads[i];
                        *ret_threads = t;
                        t = (GdbThreads){};
                        return 0;
                }
        *ret = &t.threads[0];
        *ret_threads = t;
        t = (GdbThreads){};
        return 0;
}

int gdb_backtrace_json(const GdbResult *r, const CoreInfo *core, int signal, unsigned max_frames,
                       const char *resolution_json, char **ret)
{
        return gdb_backtrace_json_full(r, core, signal, max_frames, resolution_json, NULL, ret);
}

int gdb_backtrace_json_full(const GdbResult *r, const CoreInfo *core, int signal, unsigned max_frames,
                            const char *resolution_json, const BacktraceExtras *extras, char **ret)
{
        _cleanup_(gdb_threads_done) GdbThreads t = {};
        json_t *root = NULL, *threads = NULL, *resolution = NULL;
        unsigned crashing = gdb_current_thread_number(r->current_thread);
        const char *name;
        int k;

        k = gdb_threads_parse(r->threads ?: "", &t);
        if (k < 0)
                return k;
        if (crashing == 0 && t.n_threads > 0)
                crashing = t.threads[0].number;
        if (resolution_json)
                resolution = json_loads(resolution_json, 0, NULL);
        name = signal > 0 ? sigabbrev_np(signal) : NULL;
        root = json_object();
        threads = json_array();
        if (!root || !threads)
                goto oom;
        if (json_object_set_new(root, "version", json_integer(1)) < 0 ||
            json_object_set_new(root, "signal", signal > 0 ? json_integer(signal) : json_null()) < 0 ||
            json_object_set_new(root, "signal_name", name ? json_sprintf("SIG%s", name) : json_null()) < 0 ||
            json_object_set_new(root, "fault_address",
                                hex_or_null(r->have_fault_address, r->fault_address)) < 0 ||
            json_object_set_new(root, "crashing_thread", crashing ? json_integer(crashing) : json_null()) <
                    0)
                goto oom;
        for (size_t i = 0; i < t.n_threads; i++) {
                const GdbThread *th = &t.threads[i];
                bool is_crashing = th->number == crashing;
                json_t *o = json_object(), *frames = json_array();

                if (!o || !frames || json_array_append_new(threads, o) < 0) {
                        json_decref(o);
                        json_decref(frames);
                        goto oom;
                }
                if (json_object_set_new(o, "number", json_integer(th->number)) < 0 ||
                    json_object_set_new(
                            o, "lwp", th->have_lwp ? json_integer((json_int_t) th->lwp) : json_null()) < 0 ||
                    json_object_set_new(o, "crashing", json_boolean(is_crashing)) < 0 ||
                    json_object_set_new(o, "frames_cut",
                                        json_boolean(max_frames > 0 && th->n_frames >= max_frames)) < 0 ||
                    json_object_set_new(o, "frames", frames) < 0)
                        goto oom;
                for (size_t n = 0; n < th->n_frames; n++) {
                        const GdbFrame *f = &th->frames[n];
                        /* gdb leaves the address out of a frame 0 at a line's start: the thread's pc. */
                        bool have = f->have_address || (is_crashing && f->index == 0 && r->have_pc);
                        uint64_t address = f->have_address ? f->address : r->pc;

                        if (json_array_append_new(frames, frame_json(f, have, address, core,
                                                                     is_crashing ? r : NULL, extras)) < 0)
                                goto oom;
                }
        }
        if (json_object_set_new(root, "threads", threads) < 0) {
                threads = NULL;
                goto oom;
        }
        threads = NULL;
        k = json_object_set_new(root, "resolution", resolution ?: json_null());
        resolution = NULL;
        if (k < 0)
                goto oom;
        if (json_object_set_new(root, "duphash",
                                extras && extras->duphash
                                        ? json_pack("{s:o, s:o}", "hash", json_string_safe(extras->duphash),
                                                    "component", json_string_safe(extras->duphash_component))
                                        : json_null()) < 0)
                goto oom;
        return json_dump_take(root, 0, ret);
oom:
        json_decref(root);
        json_decref(threads);
        json_decref(resolution);
        return -ENOMEM;
}
