/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "daemon-resolution.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common-json.h"
#include "common-macro.h"
#include "common-string.h"

static void module_resolution_done(ModuleResolution *m)
{
        free(m->path);
        free(m->build_id);
        module_packages_done(&m->packages);
}

void task_resolution_done(TaskResolution *r)
{
        for (size_t i = 0; i < r->n_modules; i++)
                module_resolution_done(&r->modules[i]);
        free(r->modules);
        strv_free(r->degraded);
        *r = (TaskResolution){};
}

static bool module_is_virtual(const CoreModule *m)
{
        return string_startswith(m->name, "linux-vdso") || string_startswith(m->name, "linux-gate") ||
               streq(m->name, "[vdso]");
}

int task_resolution_run(Cache *cache, const char *release, const CoreInfo *core, const char *executable,
                        char *const *crash_packages, TaskResolution *ret)
{
        _cleanup_(task_resolution_done) TaskResolution res = {};
        int r;

        res.modules = calloc(core->n_modules ? core->n_modules : 1, sizeof(ModuleResolution));
        if (!res.modules)
                return -ENOMEM;
        for (size_t i = 0; i < core->n_modules; i++) {
                const CoreModule *cm = &core->modules[i];
                ModuleResolution *m = &res.modules[res.n_modules];
                PackageNote note = {};
                ModuleQuery q = { .build_id = cm->build_id,
                                  .arch = core->arch,
                                  .crash_packages = crash_packages };

                if (module_is_virtual(cm))
                        continue;
                /* libdwfl names the main program by its path when the core's file note has it; else
                 * "[exe]" or "[pie]", and the problem directory's "executable" is its path. */
                q.path = cm->name[0] == '/' ? cm->name
                                            : (core_module_is_unnamed_program(cm) ? executable : NULL);
                if (!q.path && !q.build_id)
                        continue;
                m->path = strdup(q.path ?: cm->name);
                m->build_id = cm->build_id ? strdup(cm->build_id) : NULL;
                if (!m->path || (cm->build_id && !m->build_id))
                        return -ENOMEM;
                res.n_modules++;
                if (cm->package_note &&
                    package_note_parse(cm->package_note, strlen(cm->package_note), &note) >= 0) {
                        m->has_note = true;
                        q.note = &note;
                }
                r = cache_lookup_module(cache, release, &q, &m->packages);
                package_note_done(&note);
                if (r < 0)
                        return r;
                if (m->packages.binary.found)
                        res.found++;
                else
                        res.missing++;
                if (!m->packages.debuginfo.found)
                        res.without_debuginfo++;
        }
        *ret = res;
        res = (TaskResolution){};
        return 0;
}

static int describe_hit(char ***parts, const char *what, const LookupHit *h)
{
        _cleanup_free_ char *nevra = NULL, *part = NULL;

        if (!h->found)
                return 0;
        nevra = package_info_nevra(&h->package);
        if (!nevra ||
            asprintf(&part, "%s %s (%s) by %s%s", what, nevra, h->path, lookup_rule_to_string(h->rule),
                     h->confirmed ? ", build-id confirmed" : "") < 0)
                return -ENOMEM;
        return strv_extend(parts, part);
}

char *module_resolution_describe(const ModuleResolution *m)
{
        const ModulePackages *p = &m->packages;
        _cleanup_strv_free_ char **parts = NULL;
        _cleanup_free_ char *tried = NULL, *joined = NULL, *lacks = NULL;
        char *s;

        if (describe_hit(&parts, "binary", &p->binary) < 0 ||
            describe_hit(&parts, "debuginfo", &p->debuginfo) < 0 || describe_hit(&parts, "dwz", &p->dwz) < 0)
                return NULL;
        if (!p->binary.found || !p->debuginfo.found) {
                tried = strv_join(p->tried, "; ");
                if (!tried ||
                    asprintf(&lacks, "%s%s%s (tried: %s)", p->binary.found ? "" : "no binary package",
                             !p->binary.found && !p->debuginfo.found ? ", " : "",
                             p->debuginfo.found ? "" : "no debuginfo package", tried) < 0 ||
                    strv_extend(&parts, lacks) < 0)
                        return NULL;
        }
        joined = strv_join(parts, "; ");
        if (!joined || asprintf(&s, "Module %s (build-id %s%s): %s", m->path, m->build_id ?: "none",
                                m->has_note ? ", .note.package" : "", joined) < 0)
                return NULL;
        return s;
}

/* ---------------------------------------------------------------- quality */

void gdb_backtrace_quality(const char *text, FrameQuality *ret, FrameCallback cb, void *userdata)
{
        FrameQuality q = {};

        for (const char *line = text; line && *line;) {
                const char *eol = strchrnul(line, '\n'), *p = line + 1, *in, *at, *from;
                uint64_t address = 0;
                bool named, lines;

                if (line[0] != '#' || !(*p >= '0' && *p <= '9'))
                        goto next;
                p += strspn(p, "0123456789");
                if (*p != ' ')
                        goto next;
                p += strspn(p, " ");
                if (p >= eol)
                        goto next;
                if (p[0] == '0' && p[1] == 'x') {
                        address = strtoull(p, NULL, 16);
                        p += 2 + strspn(p + 2, "0123456789abcdef");
                        in = strstr(p, " in ");
                        if (!in || in > eol)
                                goto next;
                        p = in + 4;
                }
                q.frames++;
                named = !(p[0] == '?' && p[1] == '?');
                at = strstr(p, ") at ");
                lines = named && at && at < eol;
                from = strstr(p, ") from ");
                if (from && from > eol)
                        from = NULL;
                if (lines)
                        q.with_lines++;
                if (named)
                        q.named++;
                else
                        q.unnamed++;
                if (!lines && cb)
                        cb(address, from ? from + 7 : NULL, from ? (size_t) (eol - from - 7) : 0, userdata);
next:
                line = *eol ? eol + 1 : eol;
        }
        *ret = q;
}

typedef struct QualityContext {
        TaskResolution *res;
        const CoreInfo *core;
        int error;
} QualityContext;

static void frame_without_line(uint64_t address, const char *from, size_t from_len, void *userdata)
{
        QualityContext *ctx = userdata;
        const ModuleResolution *hit = NULL;
        _cleanup_free_ char *s = NULL;

        for (size_t i = 0; i < ctx->res->n_modules && !hit; i++) {
                const ModuleResolution *m = &ctx->res->modules[i];

                if (from && strlen(m->path) == from_len && strncmp(m->path, from, from_len) == 0)
                        hit = m;
        }
        for (size_t i = 0; i < ctx->core->n_modules && !hit && address; i++) {
                const CoreModule *cm = &ctx->core->modules[i];

                if (address < cm->start || address >= cm->end)
                        continue;
                for (size_t k = 0; k < ctx->res->n_modules && !hit; k++)
                        if (streq(ctx->res->modules[k].path, cm->name) ||
                            (cm->build_id && ctx->res->modules[k].build_id &&
                             streq(ctx->res->modules[k].build_id, cm->build_id)))
                                hit = &ctx->res->modules[k];
        }
        /* A frame in a module that has its debuginfo lacks a line for other reasons (hand-written
         * assembly, a stripped local function): not something a sync would fix. */
        if (!hit || hit->packages.debuginfo.found)
                return;
        if (asprintf(&s, "%s (build-id %s)", hit->path, hit->build_id ?: "none") < 0) {
                ctx->error = -ENOMEM;
                return;
        }
        if (!strv_contains(ctx->res->degraded, s) && strv_extend(&ctx->res->degraded, s) < 0)
                ctx->error = -ENOMEM;
}

int task_resolution_quality(TaskResolution *r, const CoreInfo *core, const char *crash_thread)
{
        QualityContext ctx = { .res = r, .core = core };

        r->degraded = strv_free(r->degraded);
        gdb_backtrace_quality(crash_thread, &r->quality, frame_without_line, &ctx);
        r->have_quality = true;
        return ctx.error;
}

/* ---------------------------------------------------------------- JSON */

static json_t *hit_json(const LookupHit *h)
{
        _cleanup_free_ char *nevra = NULL;

        if (!h->found)
                return json_null();
        nevra = package_info_nevra(&h->package);
        return json_pack("{s:o, s:o, s:s, s:b}", "package", json_string_safe(nevra), "path",
                         json_string_safe(h->path), "rule", lookup_rule_to_string(h->rule),
                         "build_id_confirmed", h->confirmed);
}

static json_t *strv_json(char *const *l)
{
        json_t *a = json_array();

        STRV_FOREACH (s, l)
                if (!a || json_array_append_new(a, json_string_safe(*s)) < 0) {
                        json_decref(a);
                        return NULL;
                }
        return a;
}

int task_resolution_to_json(const TaskResolution *r, char **ret)
{
        json_t *root, *mods;

        mods = json_array();
        if (!mods)
                return -ENOMEM;
        for (size_t i = 0; i < r->n_modules; i++) {
                const ModuleResolution *m = &r->modules[i];
                const ModulePackages *p = &m->packages;
                json_t *o =
                        json_pack("{s:o, s:o, s:b, s:o, s:o, s:o, s:o}", "path", json_string_safe(m->path),
                                  "build_id", json_string_safe(m->build_id), "package_note", m->has_note,
                                  "binary", hit_json(&p->binary), "debuginfo", hit_json(&p->debuginfo),
                                  "dwz", hit_json(&p->dwz), "tried", strv_json(p->tried));

                if (!o || json_array_append_new(mods, o) < 0) {
                        json_decref(mods);
                        return -ENOMEM;
                }
        }
        root = json_pack("{s:I, s:I, s:I, s:o}", "modules_found", (json_int_t) r->found, "modules_missing",
                         (json_int_t) r->missing, "modules_without_debuginfo",
                         (json_int_t) r->without_debuginfo, "modules", mods);
        if (!root)
                return -ENOMEM;
        if (r->have_quality &&
            (json_object_set_new(root, "crash_thread_frames", json_integer(r->quality.frames)) < 0 ||
             json_object_set_new(root, "crash_thread_frames_with_lines",
                                 json_integer(r->quality.with_lines)) < 0 ||
             json_object_set_new(root, "crash_thread_frames_symbolized", json_integer(r->quality.named)) <
                     0 ||
             json_object_set_new(root, "crash_thread_frames_unsymbolized",
                                 json_integer(r->quality.unnamed)) < 0 ||
             json_object_set_new(root, "degraded", json_boolean(r->degraded != NULL)) < 0 ||
             json_object_set_new(root, "degraded_modules", strv_json(r->degraded)) < 0)) {
                json_decref(root);
                return -ENOMEM;
        }
        return json_dump_take(root, 1, ret);
}
