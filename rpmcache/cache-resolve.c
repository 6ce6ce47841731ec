/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "cache-resolve.h"

#include <errno.h>
#include <rpm/rpmds.h>
#include <rpm/rpmtag.h>
#include <stdlib.h>
#include <string.h>

#include "common-string.h"

int cache_dep_matches(const PackageDep *require, const PackageDep *provide)
{
        rpmds a, b;
        int m;

        if (!streq(require->name, provide->name))
                return 0;
        if (!(require->flags & RPMSENSE_SENSEMASK) || isempty(require->evr))
                return 1;
        if (!(provide->flags & RPMSENSE_SENSEMASK) || isempty(provide->evr))
                return 1; /* an unversioned provide satisfies any version, as in rpm */
        a = rpmdsSingle(RPMTAG_REQUIRENAME, require->name, require->evr, require->flags);
        b = rpmdsSingle(RPMTAG_PROVIDENAME, provide->name, provide->evr, provide->flags);
        if (!a || !b) {
                rpmdsFree(a);
                rpmdsFree(b);
                return -ENOMEM;
        }
        m = rpmdsCompare(a, b);
        rpmdsFree(a);
        rpmdsFree(b);
        return m ? 1 : 0;
}

typedef struct IdSet {
        int64_t *ids;
        size_t n;
} IdSet;

static bool id_set_contains(const IdSet *s, int64_t id)
{
        for (size_t i = 0; i < s->n; i++)
                if (s->ids[i] == id)
                        return true;
        return false;
}

static int id_set_add(IdSet *s, int64_t id)
{
        int64_t *n;

        if (id_set_contains(s, id))
                return 0;
        n = reallocarray(s->ids, s->n + 1, sizeof(int64_t));
        if (!n)
                return -ENOMEM;
        s->ids = n;
        s->ids[s->n++] = id;
        return 1;
}

/* Is candidate a better provider than best for require? */
static bool better_provider(const PackageDep *require, const PackageInfo *candidate, const PackageInfo *best)
{
        bool cn = streq(candidate->name, require->name), bn = streq(best->name, require->name);

        if (cn != bn)
                return cn;
        return package_info_compare_evr(candidate, best) < 0;
}

static int describe_unresolved(CacheIndex *idx, int64_t needer, const PackageDep *d, char ***unresolved)
{
        _cleanup_free_ char *s = NULL, *nevra = NULL;
        PackageInfo p = {};
        const char *op = "";
        int r;

        r = cache_index_get_package(idx, needer, &p);
        if (r < 0)
                return r;
        nevra = package_info_nevra(&p);
        package_info_done(&p);
        if ((d->flags & RPMSENSE_SENSEMASK) == (RPMSENSE_LESS | RPMSENSE_EQUAL))
                op = " <= ";
        else if ((d->flags & RPMSENSE_SENSEMASK) == (RPMSENSE_GREATER | RPMSENSE_EQUAL))
                op = " >= ";
        else if (d->flags & RPMSENSE_LESS)
                op = " < ";
        else if (d->flags & RPMSENSE_GREATER)
                op = " > ";
        else if (d->flags & RPMSENSE_EQUAL)
                op = " = ";
        if (asprintf(&s, "%s%s%s (needed by %s)", d->name, op, *op ? d->evr : "", strna(nevra)) < 0)
                return -ENOMEM;
        return strv_contains(*unresolved, s) ? 0 : strv_extend(unresolved, s);
}

/* Resolves one requirement of needer; adds the chosen provider to chosen and queue. */
static int resolve_one(CacheIndex *idx, const char *release, int64_t needer, const PackageDep *req,
                       IdSet *chosen, IdSet *queue, char ***unresolved)
{
        PackageInfo *cands = NULL;
        PackageDep *provides = NULL;
        size_t n = 0, best = SIZE_MAX;
        int r;

        r = cache_index_find_providers(idx, release, req->name, &cands, &provides, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                r = cache_dep_matches(req, &provides[i]);
                if (r < 0)
                        goto finish;
                if (r == 0)
                        continue;
                if (id_set_contains(chosen, cands[i].id)) {
                        best = SIZE_MAX;
                        r = 0;
                        goto finish; /* already satisfied */
                }
                if (best == SIZE_MAX || better_provider(req, &cands[i], &cands[best]))
                        best = i;
        }
        if (best == SIZE_MAX) {
                r = describe_unresolved(idx, needer, req, unresolved);
                goto finish;
        }
        r = id_set_add(chosen, cands[best].id);
        if (r > 0)
                r = id_set_add(queue, cands[best].id);
finish:
        package_info_array_free(cands, n);
        package_dep_array_free(provides, n);
        return r < 0 ? r : 0;
}

/* ---- rich (boolean) dependencies: "(a or b)", "(a if b else c)", … parsed by rpm's own parser. */

typedef struct RichNode {
        rpmrichOp op; /* RPMRICHOP_SINGLE for a plain dependency */
        PackageDep dep;
        struct RichNode *left, *right, *third; /* third: the else branch of if/unless */
} RichNode;

static RichNode *rich_node_free(RichNode *n)
{
        if (!n)
                return NULL;
        rich_node_free(n->left);
        rich_node_free(n->right);
        rich_node_free(n->third);
        free(n->dep.name);
        free(n->dep.evr);
        return mfree(n);
}

typedef struct RichParse {
        RichNode *stack[64]; /* the expression being built at each nesting level */
        size_t depth;
        int error;
} RichParse;

/* Attaches a finished operand to the expression at the current level. */
static void rich_attach(RichParse *p, RichNode *operand)
{
        RichNode *top = p->stack[p->depth];

        if (!top) {
                p->stack[p->depth] = operand;
                return;
        }
        if (!top->right)
                top->right = operand;
        else
                top->third = operand;
}

static rpmRC rich_callback(void *cbdata, rpmrichParseType type, const char *n, int nl, const char *e, int el,
                           rpmsenseFlags sense, rpmrichOp op, char **emsg)
{
        RichParse *p = cbdata;
        RichNode *node;

        switch (type) {
        case RPMRICH_PARSE_ENTER:
                if (p->depth + 1 >= ELEMENTSOF(p->stack))
                        return (p->error = -E2BIG), RPMRC_FAIL;
                p->stack[++p->depth] = NULL;
                return RPMRC_OK;
        case RPMRICH_PARSE_LEAVE:
                if (p->depth == 0)
                        return (p->error = -EBADMSG), RPMRC_FAIL;
                node = p->stack[p->depth--];
                rich_attach(p, node);
                return RPMRC_OK;
        case RPMRICH_PARSE_SIMPLE:
                node = calloc(1, sizeof(RichNode));
                if (!node)
                        return (p->error = -ENOMEM), RPMRC_FAIL;
                node->op = RPMRICHOP_SINGLE;
                node->dep.name = strndup(n, (size_t) nl);
                node->dep.evr = strndup(e ? e : "", e ? (size_t) el : 0);
                node->dep.flags = (uint32_t) sense;
                if (!node->dep.name || !node->dep.evr) {
                        rich_node_free(node);
                        return (p->error = -ENOMEM), RPMRC_FAIL;
                }
                rich_attach(p, node);
                return RPMRC_OK;
        case RPMRICH_PARSE_OP:
                if (op == RPMRICHOP_ELSE)
                        return RPMRC_OK; /* the next operand becomes the third one */
                node = calloc(1, sizeof(RichNode));
                if (!node)
                        return (p->error = -ENOMEM), RPMRC_FAIL;
                node->op = op;
                node->left = p->stack[p->depth];
                p->stack[p->depth] = node;
                return RPMRC_OK;
        }
        return RPMRC_FAIL;
}

/* Does a package of the chosen set provide dep? */
static int rich_satisfied(CacheIndex *idx, const char *release, const RichNode *n, IdSet *chosen)
{
        PackageInfo *cands = NULL;
        PackageDep *provides = NULL;
        size_t k = 0;
        int r, a;

        switch (n->op) {
        case RPMRICHOP_SINGLE:
                r = cache_index_find_providers(idx, release, n->dep.name, &cands, &provides, &k);
                if (r < 0)
                        return r;
                r = 0;
                for (size_t i = 0; i < k && r == 0; i++)
                        if (id_set_contains(chosen, cands[i].id))
                                r = cache_dep_matches(&n->dep, &provides[i]);
                package_info_array_free(cands, k);
                package_dep_array_free(provides, k);
                return r;
        case RPMRICHOP_AND:
        case RPMRICHOP_WITH:
                a = rich_satisfied(idx, release, n->left, chosen);
                return a <= 0 ? a : rich_satisfied(idx, release, n->right, chosen);
        case RPMRICHOP_OR:
                a = rich_satisfied(idx, release, n->left, chosen);
                return a != 0 ? a : rich_satisfied(idx, release, n->right, chosen);
        case RPMRICHOP_WITHOUT:
                return rich_satisfied(idx, release, n->left, chosen);
        default: /* if/unless: judged when resolving */
                return 0;
        }
}

/* Does any package of the release provide dep (so that choosing it can work)? */
static int rich_resolvable(CacheIndex *idx, const char *release, const RichNode *n)
{
        PackageInfo *cands = NULL;
        PackageDep *provides = NULL;
        size_t k = 0;
        int r;

        if (n->op != RPMRICHOP_SINGLE)
                return 1;
        r = cache_index_find_providers(idx, release, n->dep.name, &cands, &provides, &k);
        if (r < 0)
                return r;
        r = 0;
        for (size_t i = 0; i < k && r == 0; i++)
                r = cache_dep_matches(&n->dep, &provides[i]);
        package_info_array_free(cands, k);
        package_dep_array_free(provides, k);
        return r;
}

static int rich_resolve(CacheIndex *idx, const char *release, int64_t needer, const RichNode *n,
                        IdSet *chosen, IdSet *queue, char ***unresolved)
{
        int r;

        switch (n->op) {
        case RPMRICHOP_SINGLE:
                return resolve_one(idx, release, needer, &n->dep, chosen, queue, unresolved);
        case RPMRICHOP_AND:
        case RPMRICHOP_WITH:
                r = rich_resolve(idx, release, needer, n->left, chosen, queue, unresolved);
                return r < 0 ? r : rich_resolve(idx, release, needer, n->right, chosen, queue, unresolved);
        case RPMRICHOP_WITHOUT:
                return rich_resolve(idx, release, needer, n->left, chosen, queue, unresolved);
        case RPMRICHOP_OR:
                /* Already satisfied by the chosen set, else the first alternative that can be. */
                r = rich_satisfied(idx, release, n, chosen);
                if (r != 0)
                        return r < 0 ? r : 0;
                r = rich_resolvable(idx, release, n->left);
                if (r < 0)
                        return r;
                return rich_resolve(idx, release, needer, r ? n->left : n->right, chosen, queue, unresolved);
        case RPMRICHOP_IF:
        case RPMRICHOP_UNLESS:
                /* (a if b else c): b is judged against the packages chosen so far. */
                r = rich_satisfied(idx, release, n->right, chosen);
                if (r < 0)
                        return r;
                if ((r > 0) == (n->op == RPMRICHOP_IF))
                        return rich_resolve(idx, release, needer, n->left, chosen, queue, unresolved);
                return n->third ? rich_resolve(idx, release, needer, n->third, chosen, queue, unresolved)
                                : 0;
        default:
                return 0;
        }
}

/* A requirement that is a rich dependency: parsed with rpm's parser, then resolved. */
static int resolve_rich(CacheIndex *idx, const char *release, int64_t needer, const PackageDep *req,
                        IdSet *chosen, IdSet *queue, char ***unresolved)
{
        RichParse p = {};
        const char *text = req->name;
        char *emsg = NULL;
        rpmRC rc;
        int r;

        rc = rpmrichParse(&text, &emsg, rich_callback, &p);
        free(emsg);
        if (rc != RPMRC_OK || p.depth != 0 || !p.stack[0]) {
                for (size_t i = 0; i <= p.depth && i < ELEMENTSOF(p.stack); i++)
                        rich_node_free(p.stack[i]);
                return describe_unresolved(idx, needer, req, unresolved); /* unparsable: name it */
        }
        r = rich_resolve(idx, release, needer, p.stack[0], chosen, queue, unresolved);
        rich_node_free(p.stack[0]);
        return r;
}

int cache_resolve_closure(CacheIndex *idx, const char *release, const int64_t *fixed, size_t n_fixed,
                          const int64_t *start, size_t n_start, int64_t **ret, size_t *ret_n,
                          char ***ret_unresolved)
{
        IdSet chosen = {}, queue = {};
        char **unresolved = NULL;
        int r = 0;

        for (size_t i = 0; i < n_fixed && r >= 0; i++)
                r = id_set_add(&chosen, fixed[i]);
        for (size_t i = 0; i < n_start && r >= 0; i++) {
                r = id_set_add(&chosen, start[i]);
                if (r >= 0)
                        r = id_set_add(&queue, start[i]);
        }
        /* queue grows while it is walked: a breadth-first walk without a separate cursor type. */
        for (size_t q = 0; q < queue.n && r >= 0; q++) {
                PackageDep *reqs = NULL;
                size_t n_reqs = 0;

                r = cache_index_get_requires(idx, queue.ids[q], &reqs, &n_reqs);
                for (size_t i = 0; i < n_reqs && r >= 0; i++)
                        r = reqs[i].name[0] == '(' ? resolve_rich(idx, release, queue.ids[q], &reqs[i],
                                                                  &chosen, &queue, &unresolved)
                                                   : resolve_one(idx, release, queue.ids[q], &reqs[i],
                                                                 &chosen, &queue, &unresolved);
                package_dep_array_free(reqs, n_reqs);
        }
        free(queue.ids);
        if (r < 0) {
                free(chosen.ids);
                strv_free(unresolved);
                return r;
        }
        *ret = chosen.ids;
        *ret_n = chosen.n;
        if (ret_unresolved)
                *ret_unresolved = unresolved;
        else
                strv_free(unresolved);
        return 0;
}

int cache_find_package(CacheIndex *idx, const char *release, const char *spec, int64_t *ret_id)
{
        PackageInfo *a = NULL;
        size_t n = 0;
        int r;

        r = cache_index_find_packages(idx, release, spec, NULL, &a, &n);
        if (r < 0)
                return r;
        if (n == 0)
                r = -ENOENT;
        else
                *ret_id = a[0].id;
        package_info_array_free(a, n);
        return r;
}

int cache_resolve_with_debugger(CacheIndex *idx, const char *release, const char *debugger_package,
                                const int64_t *fixed, size_t n_fixed, int64_t **ret, size_t *ret_n,
                                char ***ret_unresolved)
{
        int64_t gdb;
        int r;

        r = cache_find_package(idx, release, debugger_package, &gdb);
        if (r < 0)
                return r;
        return cache_resolve_closure(idx, release, fixed, n_fixed, &gdb, 1, ret, ret_n, ret_unresolved);
}
