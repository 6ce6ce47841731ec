/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "reposync-metadata.h"

#include <errno.h>
#include <solv/chksum.h>
#include <solv/dataiterator.h>
#include <solv/knownid.h>
#include <solv/pool.h>
#include <solv/repo.h>
#include <solv/repo_repomdxml.h>
#include <solv/repo_rpmmd.h>
#include <solv/solv_xfopen.h>
#include <zstd.h>
#include <solv/solvable.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache-objects.h"
#include "common-macro.h"
#include "common-path.h"
#include "common-string.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(Pool *, pool_free);

void repo_file_done(RepoFile *f)
{
        free(f->location);
        free(f->checksum);
        free(f->nevra);
        *f = (RepoFile){};
}

void repo_file_array_free(RepoFile *a, size_t n)
{
        for (size_t i = 0; a && i < n; i++)
                repo_file_done(&a[i]);
        free(a);
}

int repo_location_valid(const char *location)
{
        _cleanup_free_ char *abs = NULL;

        if (isempty(location) || location[0] == '/' || strstr(location, "://"))
                return 0;
        if (asprintf(&abs, "/%s", location) < 0)
                return -ENOMEM;
        return path_is_normalized_absolute(abs);
}

static int checksum_to_hex(Pool *pool, const unsigned char *bin, Id type, int *ret_algo, char **ret_hex)
{
        const char *name = solv_chksum_type2str(type);
        int algo = name ? digest_algo_from_string(name) : -EINVAL;
        char *hex;

        if (!bin || algo < 0)
                return -EINVAL;
        hex = strdup(pool_bin2hex(pool, bin, solv_chksum_len(type)));
        if (!hex)
                return -ENOMEM;
        *ret_algo = algo;
        *ret_hex = hex;
        return 0;
}

int repomd_parse(const char *path, RepoFile *ret_primary, char **ret_error)
{
        _cleanup_(pool_freep) Pool *pool = pool_create();
        _cleanup_fclose_ FILE *f = NULL;
        Dataiterator di;
        RepoFile primary = {};
        Repo *repo;
        int r = -ENOENT;

        f = fopen(path, "re");
        if (!f)
                return -errno;
        repo = repo_create(pool, "repomd");
        if (repo_add_repomdxml(repo, f, 0) != 0)
                return string_set_printf(ret_error, "repomd.xml is not valid repository metadata (%s)",
                                         pool_errstr(pool)),
                       -EBADMSG;

        dataiterator_init(&di, pool, repo, SOLVID_META, REPOSITORY_REPOMD_TYPE, "primary", SEARCH_STRING);
        dataiterator_prepend_keyname(&di, REPOSITORY_REPOMD);
        if (dataiterator_step(&di)) {
                const unsigned char *bin;
                const char *location;
                Id type = 0;

                dataiterator_setpos_parent(&di);
                location = pool_lookup_str(pool, SOLVID_POS, REPOSITORY_REPOMD_LOCATION);
                bin = pool_lookup_bin_checksum(pool, SOLVID_POS, REPOSITORY_REPOMD_CHECKSUM, &type);
                primary.size = pool_lookup_num(pool, SOLVID_POS, REPOSITORY_REPOMD_SIZE, 0);
                r = 0;
                if (!location || repo_location_valid(location) <= 0)
                        r = (string_set_printf(ret_error,
                                               "repomd.xml names an invalid primary location '%s'",
                                               strna(location)),
                             -EBADMSG);
                else if (checksum_to_hex(pool, bin, type, &primary.checksum_algo, &primary.checksum) < 0)
                        r = (string_set_printf(ret_error, "repomd.xml has no usable checksum for primary"),
                             -EBADMSG);
                else if (!(primary.location = strdup(location)))
                        r = -ENOMEM;
        } else
                r = (string_set_printf(ret_error, "repomd.xml lists no primary metadata"), -EBADMSG);
        dataiterator_free(&di);
        if (r < 0) {
                repo_file_done(&primary);
                return r;
        }
        *ret_primary = primary;
        return 0;
}

#define PRIMARY_ZSTD_MAX (4ULL << 30) /* decompressed primary metadata, far above any real one */

/* Decompresses a .zst file into an anonymous temporary file. libsolv's own zstd reader never
 * returns on a file that ends inside a frame header (libsolv 0.7.23), so zstd is read here, where
 * a truncated or damaged file is an error. */
static FILE *zstd_open_decompressed(const char *path, char **ret_error)
{
        _cleanup_fclose_ FILE *in = fopen(path, "re");
        _cleanup_fclose_ FILE *out = NULL;
        ZSTD_DStream *ds = NULL;
        static char ibuf[1 << 17], obuf[1 << 17];
        uint64_t total = 0;
        size_t last = 0, n;
        bool any = false;

        if (!in)
                return string_set_printf(ret_error, "cannot open primary metadata %s", path), NULL;
        out = tmpfile();
        ds = ZSTD_createDStream();
        if (!out || !ds) {
                ZSTD_freeDStream(ds);
                return string_set_printf(ret_error, "out of memory reading %s", path), NULL;
        }
        while ((n = fread(ibuf, 1, sizeof(ibuf), in)) > 0) {
                ZSTD_inBuffer ib = { ibuf, n, 0 };

                any = true;
                while (ib.pos < ib.size) {
                        ZSTD_outBuffer ob = { obuf, sizeof(obuf), 0 };

                        last = ZSTD_decompressStream(ds, &ob, &ib);
                        if (ZSTD_isError(last)) {
                                string_set_printf(ret_error, "primary metadata %s is not valid zstd (%s)",
                                                  path, ZSTD_getErrorName(last));
                                ZSTD_freeDStream(ds);
                                return NULL;
                        }
                        total += ob.pos;
                        if (total > PRIMARY_ZSTD_MAX || fwrite(obuf, 1, ob.pos, out) != ob.pos) {
                                string_set_printf(ret_error,
                                                  "primary metadata %s is too large or cannot be "
                                                  "decompressed",
                                                  path);
                                ZSTD_freeDStream(ds);
                                return NULL;
                        }
                }
        }
        ZSTD_freeDStream(ds);
        /* last != 0: the input ended inside a frame. */
        if (ferror(in) || !any || last != 0)
                return string_set_printf(ret_error, "primary metadata %s is truncated", path), NULL;
        if (fflush(out) != 0 || fseek(out, 0, SEEK_SET) != 0)
                return string_set_printf(ret_error, "cannot decompress %s", path), NULL;
        return TAKE_PTR(out);
}

int primary_parse(const char *path, RepoFile **ret, size_t *ret_n, char **ret_error)
{
        _cleanup_(pool_freep) Pool *pool = pool_create();
        FILE *f;
        RepoFile *a = NULL;
        size_t n = 0;
        Solvable *s;
        Repo *repo;
        Id p;
        int r;

        if (string_endswith(path, ".zst")) {
                f = zstd_open_decompressed(path, ret_error);
                if (!f)
                        return -EBADMSG;
        } else {
                f = solv_xfopen(path, "r");
                if (!f)
                        return string_set_printf(ret_error, "cannot open primary metadata %s", path),
                               -EBADMSG;
        }
        repo = repo_create(pool, "primary");
        r = repo_add_rpmmd(repo, f, NULL, 0);
        (void) fclose(f);
        if (r != 0)
                return string_set_printf(ret_error, "primary metadata is not valid (%s)", pool_errstr(pool)),
                       -EBADMSG;

        a = calloc(repo->nsolvables ? repo->nsolvables : 1, sizeof(RepoFile));
        if (!a)
                return -ENOMEM;
        FOR_REPO_SOLVABLES(repo, p, s)
        {
                const char *arch = pool_id2str(pool, s->arch), *location;
                const unsigned char *bin;
                RepoFile *e = &a[n];
                Id type = 0;

                if (streq(arch, "src") || streq(arch, "nosrc"))
                        continue;
                location = solvable_get_location(s, NULL);
                bin = solvable_lookup_bin_checksum(s, SOLVABLE_CHECKSUM, &type);
                if (!location || repo_location_valid(location) <= 0) {
                        r = (string_set_printf(ret_error,
                                               "primary metadata names an invalid package location '%s'",
                                               strna(location)),
                             -EBADMSG);
                        goto fail;
                }
                if (checksum_to_hex(pool, bin, type, &e->checksum_algo, &e->checksum) < 0) {
                        r = (string_set_printf(ret_error,
                                               "package %s has no usable checksum in the metadata",
                                               location),
                             -EBADMSG);
                        goto fail;
                }
                e->location = strdup(location);
                e->nevra = strdup(pool_solvable2str(pool, s));
                e->size = solvable_lookup_num(s, SOLVABLE_DOWNLOADSIZE, 0);
                n++;
                if (!e->location || !e->nevra) {
                        r = -ENOMEM;
                        goto fail;
                }
        }
        *ret = a;
        *ret_n = n;
        return 0;
fail:
        repo_file_array_free(a, n + 1);
        return r;
}
