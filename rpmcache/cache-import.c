/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Reading an RPM: header and digests, then (at import with prefetch, or on demand) its payload into
 * the object store. One file on purpose (over 800 lines): indexing and extraction run the very same
 * verification chain on the same librpm handles (sha256 of the file, header digests and signatures,
 * payload digest, every file's digest, path rules), and splitting it would put the checks that must
 * stay in step into two places. */
#include "cache-import.h"

#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <rpm/header.h>
#include <rpm/rpmarchive.h>
#include <rpm/rpmds.h>
#include <rpm/rpmfi.h>
#include <rpm/rpmfiles.h>
#include <rpm/rpmio.h>
#include <rpm/rpmkeyring.h>
#include <rpm/rpmlib.h>
#include <rpm/rpmlog.h>
#include <rpm/rpmpgp.h>
#include <rpm/rpmts.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache-objects.h"
#include "common-fd.h"
#include "common-file.h"
#include "common-path.h"
#include "common-string.h"

/* rpm reports problems through rpmlog; keep the last message as the reason instead of letting
 * librpm print (library code does not print). Per thread: extraction runs packages in parallel,
 * and rpmlog calls the callback in the thread that reports. */
static _Thread_local char rpm_last_message[512];

static int rpmlog_capture(rpmlogRec rec, rpmlogCallbackData data)
{
        const char *m = rpmlogRecMessage(rec);
        size_t n;

        (void) snprintf(rpm_last_message, sizeof(rpm_last_message), "%s", strempty(m));
        n = strlen(rpm_last_message);
        while (n > 0 && (rpm_last_message[n - 1] == '\n' || rpm_last_message[n - 1] == ' '))
                rpm_last_message[--n] = '\0';
        return 0;
}

int cache_rpm_init(void)
{
        static bool done = false;

        if (done)
                return 0;
        (void) rpmlogSetCallback(rpmlog_capture, NULL);
        if (rpmReadConfigFiles(NULL, NULL) != 0)
                return -EIO;
        done = true;
        return 0;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(rpmts, rpmtsFree);
DEFINE_TRIVIAL_CLEANUP_FUNC(Header, headerFree);
DEFINE_TRIVIAL_CLEANUP_FUNC(rpmfiles, rpmfilesFree);
DEFINE_TRIVIAL_CLEANUP_FUNC(rpmfi, rpmfiFree);
DEFINE_TRIVIAL_CLEANUP_FUNC(rpmKeyring, rpmKeyringFree);
DEFINE_TRIVIAL_CLEANUP_FUNC(rpmds, rpmdsFree);
DEFINE_TRIVIAL_CLEANUP_FUNC(FD_t, Fclose);

static int compare_strp(const void *a, const void *b)
{
        return strcmp(*(char *const *) a, *(char *const *) b);
}

int cache_validate_paths(const PackageFile *files, size_t n, char **ret_reason)
{
        _cleanup_free_ const char **links = NULL;
        size_t n_links = 0;

        links = calloc(n ? n : 1, sizeof(char *));
        if (!links)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                if (!path_is_normalized_absolute(files[i].path) || streq(files[i].path, "/")) {
                        string_set_printf(
                                ret_reason,
                                "file path '%s' is not a normalized absolute path (\"..\", \".\" or \"//\")",
                                files[i].path);
                        return -EBADMSG;
                }
                if (S_ISLNK(files[i].mode)) {
                        if (isempty(files[i].link)) {
                                string_set_printf(ret_reason, "symlink '%s' has no target", files[i].path);
                                return -EBADMSG;
                        }
                        links[n_links++] = files[i].path;
                }
        }
        qsort_safe(links, n_links, sizeof(char *), compare_strp);
        for (size_t i = 0; i < n && n_links > 0; i++) {
                _cleanup_free_ char *p = strdup(files[i].path);

                if (!p)
                        return -ENOMEM;
                for (char *s = strrchr(p, '/'); s && s != p; s = strrchr(p, '/')) {
                        const char *key = p;

                        *s = '\0';
                        if (bsearch(&key, links, n_links, sizeof(char *), compare_strp)) {
                                string_set_printf(ret_reason,
                                                  "file '%s' lies beneath symlink '%s' of the same package",
                                                  files[i].path, p);
                                return -EBADMSG;
                        }
                }
        }
        return 0;
}

static int load_keyring(char **gpgkeys, rpmKeyring *ret, char **ret_reason)
{
        _cleanup_(rpmKeyringFreep) rpmKeyring keyring = rpmKeyringNew();

        if (!keyring)
                return -ENOMEM;
        STRV_FOREACH (k, gpgkeys) {
                _cleanup_free_ char *armor = NULL;
                uint8_t *pkt = NULL;
                size_t len = 0;
                rpmPubkey key;
                int r;

                r = file_read_at(AT_FDCWD, *k, 1024 * 1024, &armor, NULL);
                if (r < 0) {
                        string_set_printf(ret_reason, "cannot read GPG key %s: %s", *k, strerror(-r));
                        return r;
                }
                if (pgpParsePkts(armor, &pkt, &len) != PGPARMOR_PUBKEY) {
                        free(pkt);
                        string_set_printf(ret_reason, "GPG key %s is not an ASCII-armored public key", *k);
                        return -EBADMSG;
                }
                key = rpmPubkeyNew(pkt, len);
                free(pkt);
                if (!key) {
                        string_set_printf(ret_reason, "GPG key %s cannot be parsed", *k);
                        return -EBADMSG;
                }
                (void) rpmKeyringAddKey(keyring, key);
                rpmPubkeyFree(key);
        }
        *ret = TAKE_PTR(keyring);
        return 0;
}

/* Reads and checks the header; leaves fd at the start of the payload. */
static int read_header(FD_t fd, const char *path, const ImportOptions *o, Header *ret, char **ret_reason)
{
        _cleanup_(rpmtsFreep) rpmts ts = rpmtsCreate();
        _cleanup_(rpmKeyringFreep) rpmKeyring keyring = NULL;
        Header h = NULL;
        rpmRC rc;
        int r;

        r = load_keyring(o->gpgcheck ? o->gpgkeys : NULL, &keyring, ret_reason);
        if (r < 0)
                return r;
        (void) rpmtsSetKeyring(ts, keyring);
        (void) rpmtsSetVSFlags(ts, 0);
        (void) rpmtsSetVfyLevel(ts, o->gpgcheck ? RPMSIG_DIGEST_TYPE | RPMSIG_SIGNATURE_TYPE
                                                : RPMSIG_DIGEST_TYPE);

        rpm_last_message[0] = '\0';
        rc = rpmReadPackageFile(ts, fd, path, &h);
        switch (rc) {
        case RPMRC_OK:
                break;
        case RPMRC_NOKEY:
        case RPMRC_NOTTRUSTED:
                if (!o->gpgcheck)
                        break;
                headerFree(h);
                string_set_printf(ret_reason, "signature by an unknown or untrusted key (%s)",
                                  (rpm_last_message[0] == 0) ? "no detail" : rpm_last_message);
                return -EKEYREJECTED;
        case RPMRC_NOTFOUND:
                headerFree(h);
                string_set_printf(ret_reason, "not an RPM package (%s)",
                                  (rpm_last_message[0] == 0) ? "bad lead" : rpm_last_message);
                return -EBADMSG;
        default:
                headerFree(h);
                string_set_printf(ret_reason, "header digest or signature check failed (%s)",
                                  (rpm_last_message[0] == 0) ? "corrupt or truncated header"
                                                             : rpm_last_message);
                return -EBADMSG;
        }
        if (o->gpgcheck && !headerIsEntry(h, RPMTAG_RSAHEADER) && !headerIsEntry(h, RPMTAG_DSAHEADER)) {
                headerFree(h);
                string_set_printf(
                        ret_reason,
                        "package is not signed, but the repository requires signatures (gpgcheck)");
                return -EKEYREJECTED;
        }
        if (headerIsSource(h)) {
                headerFree(h);
                string_set_printf(ret_reason, "source packages are not imported");
                return -EMEDIUMTYPE;
        }
        *ret = h;
        return 0;
}

static const char *payload_io_flags(const char *compressor)
{
        static const struct {
                const char *name, *flags;
        } table[] = {
                { "gzip", "r.gzdio" }, { "bzip2", "r.bzdio" }, { "xz", "r.xzdio" },
                { "lzma", "r.lzdio" }, { "zstd", "r.zstdio" },
        };

        for (size_t i = 0; i < ELEMENTSOF(table); i++)
                if (streq(table[i].name, compressor))
                        return table[i].flags;
        return NULL;
}

/* The payload digest (over the compressed payload) catches truncation and corruption even when
 * every file's object is already in the store and the payload would otherwise not be read. */
static int verify_payload_digest(Header h, int raw_fd, off_t offset, char **ret_reason)
{
        struct rpmtd_s td;
        _cleanup_free_ char *hex = NULL;
        _cleanup_close_ int fd = -EBADF;
        char procpath[64];
        const char *want;
        int algo, r;

        if (!headerGet(h, RPMTAG_PAYLOADDIGEST, &td, HEADERGET_MINMEM))
                return 0; /* packages before rpm 4.14 have none; the file digests still protect the content
                           */
        want = rpmtdGetString(&td);
        algo = (int) headerGetNumber(h, RPMTAG_PAYLOADDIGESTALGO);
        if (algo == 0)
                algo = PGPHASHALGO_SHA256;
        (void) snprintf(procpath, sizeof(procpath), "/proc/self/fd/%d", raw_fd);
        fd = open(procpath, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
                rpmtdFreeData(&td);
                return -errno;
        }
        if (lseek(fd, offset, SEEK_SET) < 0) {
                rpmtdFreeData(&td);
                return -errno;
        }
        r = digest_fd(fd, algo, &hex, NULL);
        if (r >= 0 && (!want || strcasecmp(want, hex) != 0)) {
                string_set_printf(ret_reason,
                                  "payload digest mismatch: the package is corrupt or truncated");
                r = -EBADMSG;
        }
        rpmtdFreeData(&td);
        return r;
}

typedef struct ImportFile {
        PackageFile file;
        char *object; /* object name for regular files */
        bool ghost;
        time_t mtime; /* from the header; the object gets it when this package creates it */
        bool need;    /* object missing from the store */
        bool staged;  /* written into the staging directory */
} ImportFile;

static void import_files_free(ImportFile *a, size_t n)
{
        for (size_t i = 0; a && i < n; i++) {
                package_file_done(&a[i].file);
                free(a[i].object);
        }
        free(a);
}

static int collect_files(Cache *c, rpmfiles files, int algo, ImportFile **ret, size_t *ret_n,
                         char **ret_reason)
{
        _cleanup_(rpmfiFreep) rpmfi fi = rpmfilesIter(files, RPMFI_ITER_FWD);
        size_t n = rpmfilesFC(files);
        ImportFile *a;
        int r;

        if (n > c->limits.max_package_files) {
                string_set_printf(ret_reason, "%zu files, more than CacheMaxPackageFiles=%u", n,
                                  c->limits.max_package_files);
                return -E2BIG;
        }
        a = calloc(n ? n : 1, sizeof(ImportFile));
        if (!a)
                return -ENOMEM;
        while (rpmfiNext(fi) >= 0) {
                int fx = rpmfiFX(fi);
                ImportFile *f = &a[fx];
                mode_t mode = rpmfiFMode(fi);
                _cleanup_free_ char *hex = NULL;

                f->file.path = strdup(rpmfiFN(fi));
                f->file.mode = mode;
                f->file.size = rpmfiFSize(fi);
                f->ghost = rpmfiFFlags(fi) & RPMFILE_GHOST;
                f->mtime = (time_t) rpmfiFMtime(fi);
                if (!f->file.path) {
                        r = -ENOMEM;
                        goto fail;
                }
                if (S_ISLNK(mode)) {
                        f->file.link = strdup(strempty(rpmfiFLink(fi)));
                        if (!f->file.link) {
                                r = -ENOMEM;
                                goto fail;
                        }
                }
                if (!S_ISREG(mode) || f->ghost)
                        continue;
                if (f->file.size > c->limits.max_file_size) {
                        string_set_printf(ret_reason,
                                          "file %s is %" PRIu64 " bytes, more than CacheMaxFileSize",
                                          f->file.path, f->file.size);
                        r = -EFBIG;
                        goto fail;
                }
                hex = rpmfiFDigestHex(fi, NULL);
                if (isempty(hex) && f->file.size == 0) {
                        DIGEST_CTX ctx = rpmDigestInit(algo, RPMDIGEST_NONE);

                        free(hex);
                        hex = NULL;
                        if (ctx)
                                (void) rpmDigestFinal(ctx, (void **) &hex, NULL, 1);
                }
                if (isempty(hex)) {
                        string_set_printf(ret_reason, "regular file %s has no digest in the header",
                                          f->file.path);
                        r = -EBADMSG;
                        goto fail;
                }
                r = cache_object_name(algo, hex, mode, &f->object);
                if (r < 0) {
                        string_set_printf(ret_reason, "file %s has an unusable digest '%s'", f->file.path,
                                          hex);
                        goto fail;
                }
                f->file.digest = TAKE_PTR(hex);
                r = cache_object_exists(c->objects_fd, f->object);
                if (r < 0)
                        goto fail;
                f->need = r == 0;
        }
        *ret = a;
        *ret_n = n;
        return 0;
fail:
        import_files_free(a, n);
        return r;
}

static void mark_staged(ImportFile *a, size_t n, const char *object)
{
        for (size_t i = 0; i < n; i++)
                if (a[i].need && a[i].object && streq(a[i].object, object))
                        a[i].staged = true;
}

static int stage_one(Cache *c, int staging_fd, rpmfi fi, ImportFile *f, int algo, char **ret_reason)
{
        _cleanup_free_ char *flat = NULL;
        ObjectWriter w;
        uint64_t left = f->file.size;
        char buf[64 * 1024];
        int r;

        r = cache_object_flat_name(f->object, &flat);
        if (r < 0)
                return r;
        r = object_writer_open(&w, staging_fd, flat, algo);
        if (r < 0)
                return r;
        while (left > 0) {
                ssize_t got = rpmfiArchiveRead(fi, buf, MIN(left, sizeof(buf)));

                if (got <= 0) {
                        object_writer_abort(&w);
                        string_set_printf(ret_reason,
                                          "payload ends inside %s: the package is corrupt or truncated",
                                          f->file.path);
                        return -EBADMSG;
                }
                r = object_writer_write(&w, buf, got);
                if (r < 0) {
                        object_writer_abort(&w);
                        string_set_printf(ret_reason, "cannot write the object for %s: %s", f->file.path,
                                          strerror(-r));
                        return r;
                }
                left -= got;
        }
        r = object_writer_finish(&w, f->file.digest, f->file.mode, f->mtime);
        if (r == -EBADMSG)
                string_set_printf(ret_reason, "content of %s does not match the digest in the header",
                                  f->file.path);
        else if (r < 0)
                string_set_printf(ret_reason, "cannot write the object for %s: %s", f->file.path,
                                  strerror(-r));
        return r;
}

/* Extracts every missing object from the payload into staging_fd. */
static int stage_objects(Cache *c, FD_t fd, Header h, rpmfiles files, ImportFile *a, size_t n,
                         int staging_fd, char **ret_reason)
{
        const char *compressor = headerGetString(h, RPMTAG_PAYLOADCOMPRESSOR);
        const char *format = headerGetString(h, RPMTAG_PAYLOADFORMAT);
        const char *flags;
        _cleanup_(rpmfiFreep) rpmfi fi = NULL;
        FD_t payload;
        int algo = rpmfilesDigestAlgo(files);
        int rc, r;

        if (format && !streq(format, "cpio")) {
                string_set_printf(ret_reason, "unsupported payload format '%s'", format);
                return -EPROTONOSUPPORT;
        }
        flags = payload_io_flags(compressor ? compressor : "gzip");
        if (!flags) {
                string_set_printf(ret_reason, "unknown payload compressor '%s'", compressor);
                return -EPROTONOSUPPORT;
        }
        payload = Fdopen(fd, flags); /* same FD_t as fd, with the decompressor pushed on */
        if (!payload || Ferror(payload)) {
                string_set_printf(ret_reason, "cannot open the %s payload",
                                  compressor ? compressor : "gzip");
                return -EBADMSG;
        }
        fi = rpmfiNewArchiveReader(payload, files, RPMFI_ITER_READ_ARCHIVE_CONTENT_FIRST);
        if (!fi)
                return -ENOMEM;
        while ((rc = rpmfiNext(fi)) >= 0) {
                ImportFile *f = &a[rpmfiFX(fi)];

                if (!f->need || f->staged || f->ghost)
                        continue;
                if (!rpmfiArchiveHasContent(fi) && f->file.size > 0)
                        continue; /* another name of a hardlinked file; its content comes with the first */
                r = stage_one(c, staging_fd, fi, f, algo, ret_reason);
                if (r < 0)
                        return r;
                mark_staged(a, n, f->object);
        }
        if (rc != RPMERR_ITER_END) {
                _cleanup_free_ char *e = rpmfileStrerror(rc);

                string_set_printf(ret_reason, "payload is corrupt or truncated (%s)", strna(e));
                return -EBADMSG;
        }
        for (size_t i = 0; i < n; i++)
                if (a[i].need && !a[i].staged) {
                        string_set_printf(ret_reason, "payload lacks the content of %s", a[i].file.path);
                        return -EBADMSG;
                }
        return 0;
}

static int publish_objects(Cache *c, int staging_fd, ImportFile *a, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                _cleanup_free_ char *flat = NULL;
                int r;

                if (!a[i].need || !a[i].staged)
                        continue;
                r = cache_object_flat_name(a[i].object, &flat);
                if (r < 0)
                        return r;
                r = cache_object_publish(staging_fd, flat, c->objects_fd, a[i].object);
                if (r < 0 && r != -ENOENT) /* ENOENT: a second name of the same object, already moved */
                        return r;
        }
        return syncfs(c->objects_fd) < 0 ? -errno : 0;
}

/* Stages every missing object of the package from its payload (fd is at the payload's start),
 * publishes them and removes the staging directory. Adds the bytes written to *bytes. */
static int extract_objects(Cache *c, FD_t fd, Header h, rpmfiles files, ImportFile *a, size_t n,
                           uint64_t *bytes, char **ret_reason)
{
        _cleanup_free_ char *staging = NULL;
        _cleanup_close_ int staging_fd = -EBADF;
        int r;

        r = cache_make_tmpdir(c, "import-", &staging, &staging_fd);
        if (r < 0)
                return r;
        r = stage_objects(c, fd, h, files, a, n, staging_fd, ret_reason);
        if (r >= 0) {
                r = publish_objects(c, staging_fd, a, n);
                if (r < 0)
                        string_set_printf(ret_reason, "cannot store objects in %s/objects: %s", c->dir,
                                          strerror(-r));
        }
        {
                _cleanup_free_ char *full = path_join(c->dir, "tmp");
                _cleanup_free_ char *p = full ? path_join(full, staging) : NULL;

                if (p)
                        (void) path_rm_rf(p);
        }
        if (r < 0)
                return r;
        for (size_t i = 0; bytes && i < n; i++)
                if (a[i].need && a[i].staged) {
                        bool first = true;

                        /* several names of one object count once */
                        for (size_t j = 0; j < i && first; j++)
                                if (a[j].need && a[j].staged && streq(a[j].object, a[i].object))
                                        first = false;
                        if (first)
                                *bytes += a[i].file.size;
                }
        return 0;
}

static bool objects_all_present(const ImportFile *a, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (a[i].need)
                        return false;
        return true;
}

static int collect_deps(Header h, rpmTagVal tag, bool requires, PackageDep **ret, size_t *ret_n)
{
        _cleanup_(rpmdsFreep) rpmds ds = rpmdsNew(h, tag, 0);
        PackageDep *a = NULL;
        size_t n = 0;

        while (ds && rpmdsNext(ds) >= 0) {
                const char *name = rpmdsN(ds);
                rpmsenseFlags flags = rpmdsFlags(ds);
                PackageDep *na;

                if (requires && ((flags & RPMSENSE_RPMLIB) || string_startswith(name, "rpmlib(") ||
                                 string_startswith(name, "config(")))
                        continue;
                /* Scriptlets never run in a retrace root, so their interpreters are not needed. */
                if (requires && (flags & (RPMSENSE_SCRIPT_PRE | RPMSENSE_SCRIPT_POST |
                                          RPMSENSE_SCRIPT_PREUN | RPMSENSE_SCRIPT_POSTUN |
                                          RPMSENSE_PRETRANS | RPMSENSE_POSTTRANS | RPMSENSE_SCRIPT_VERIFY)))
                        continue;
                na = reallocarray(a, n + 1, sizeof(PackageDep));
                if (!na) {
                        package_dep_array_free(a, n);
                        return -ENOMEM;
                }
                a = na;
                a[n] = (PackageDep){ .name = strdup(name),
                                     .flags = flags,
                                     .evr = strdup(strempty(rpmdsEVR(ds))) };
                n++;
                if (!a[n - 1].name || !a[n - 1].evr) {
                        package_dep_array_free(a, n);
                        return -ENOMEM;
                }
        }
        *ret = a;
        *ret_n = n;
        return 0;
}

static int record_package(Cache *c, Header h, const char *sha256, uint64_t size, int algo, ImportFile *a,
                          size_t n, const ImportOptions *o, bool extracted, int64_t *ret_id)
{
        PackageRecord rec = {
                .extracted = extracted,
                .info =
                        {
                                .sha256 = (char *)sha256,
                                .name = (char *)headerGetString(h, RPMTAG_NAME),
                                .epoch = (uint32_t)headerGetNumber(h, RPMTAG_EPOCH),
                                .version = (char *)headerGetString(h, RPMTAG_VERSION),
                                .release = (char *)headerGetString(h, RPMTAG_RELEASE),
                                .arch = (char *)headerGetString(h, RPMTAG_ARCH),
                                .sourcerpm = (char *)headerGetString(h, RPMTAG_SOURCERPM),
                                .size = size,
                                .installed_size = headerGetNumber(h, RPMTAG_LONGSIZE),
                                .digest_algo = algo,
                        },
        };
        _cleanup_free_ PackageFile *files = NULL;
        int64_t id;
        int r;

        files = calloc(n ? n : 1, sizeof(PackageFile));
        if (!files)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                if (!a[i].ghost)
                        files[rec.n_files++] = a[i].file;
        rec.files = files;

        r = collect_deps(h, RPMTAG_PROVIDENAME, false, &rec.provides, &rec.n_provides);
        if (r < 0)
                return r;
        r = collect_deps(h, RPMTAG_REQUIRENAME, true, &rec.requires, &rec.n_requires);
        if (r < 0)
                goto finish;

        r = cache_index_begin(c->index);
        if (r < 0)
                goto finish;
        r = cache_index_find_sha256(c->index, sha256, &id);
        if (r == -ENOENT)
                r = cache_index_add_package(c->index, &rec, &id);
        if (r >= 0 && o->release)
                r = cache_index_add_release(c->index, id, o->release, strempty(o->repo));
        if (r >= 0)
                r = cache_index_commit(c->index);
        if (r < 0)
                (void) cache_index_rollback(c->index);
        else
                *ret_id = id;
finish:
        package_dep_array_free(rec.provides, rec.n_provides);
        package_dep_array_free(rec.requires, rec.n_requires);
        return r;
}

static int check_header_fields(Header h, char **ret_reason)
{
        static const rpmTagVal required[] = { RPMTAG_NAME, RPMTAG_VERSION, RPMTAG_RELEASE, RPMTAG_ARCH };

        for (size_t i = 0; i < ELEMENTSOF(required); i++) {
                const char *s = headerGetString(h, required[i]);

                if (isempty(s) || strpbrk(s, "/\n") || (required[i] != RPMTAG_NAME && strchr(s, '-'))) {
                        string_set_printf(ret_reason, "header tag %s is missing or invalid",
                                          rpmTagGetName(required[i]));
                        return -EBADMSG;
                }
        }
        return 0;
}

/* Opens an RPM file for reading: a regular file within CacheMaxRpmSize. */
static int open_rpm(Cache *c, const char *path, FD_t *ret_fd, struct stat *ret_st, char **ret_reason)
{
        _cleanup_(Fclosep) FD_t fd = Fopen(path, "r.ufdio");

        if (!fd || Ferror(fd)) {
                string_set_printf(ret_reason, "cannot open %s: %s", path,
                                  fd ? Fstrerror(fd) : "out of memory");
                return -ENOENT;
        }
        if (fstat(Fileno(fd), ret_st) < 0)
                return -errno;
        if (!S_ISREG(ret_st->st_mode)) {
                string_set_printf(ret_reason, "%s is not a regular file", path);
                return -EBADMSG;
        }
        if ((uint64_t) ret_st->st_size > c->limits.max_rpm_size) {
                string_set_printf(ret_reason, "%" PRIu64 " bytes, more than CacheMaxRpmSize",
                                  (uint64_t) ret_st->st_size);
                return -EFBIG;
        }
        *ret_fd = TAKE_PTR(fd);
        return 0;
}

/* The verification chain both indexing and extraction run, from the start of the file: header (its
 * digests, and signatures as o asks), the header's fields, the payload digest, the file list with its
 * digest algorithm. On success the caller owns *ret_h, *ret_files and the *ret_a array. */
static int read_verified(Cache *c, FD_t fd, const char *path, const ImportOptions *o, Header *ret_h,
                         rpmfiles *ret_files, int *ret_algo, ImportFile **ret_a, size_t *ret_n,
                         char **ret_reason)
{
        off_t payload_offset;
        int algo, r;

        if (lseek(Fileno(fd), 0, SEEK_SET) < 0)
                return -errno;
        r = read_header(fd, path, o, ret_h, ret_reason);
        if (r < 0)
                return r;
        r = check_header_fields(*ret_h, ret_reason);
        if (r < 0)
                return r;
        payload_offset = lseek(Fileno(fd), 0, SEEK_CUR);
        if (payload_offset < 0)
                return -errno;
        r = verify_payload_digest(*ret_h, Fileno(fd), payload_offset, ret_reason);
        if (r < 0)
                return r;
        *ret_files = rpmfilesNew(NULL, *ret_h, RPMTAG_BASENAMES, RPMFI_KEEPHEADER);
        if (!*ret_files) {
                string_set_printf(ret_reason, "the header's file list is unreadable");
                return -EBADMSG;
        }
        algo = rpmfilesDigestAlgo(*ret_files);
        /* A package without files (a meta-package) records no digest algorithm; nothing to check. */
        if (rpmfilesFC(*ret_files) == 0 && !digest_algo_to_string(algo))
                algo = PGPHASHALGO_SHA256;
        if (!digest_algo_to_string(algo)) {
                string_set_printf(ret_reason, "unsupported file digest algorithm %d", algo);
                return -EPROTONOSUPPORT;
        }
        r = collect_files(c, *ret_files, algo, ret_a, ret_n, ret_reason);
        if (r < 0)
                return r;
        *ret_algo = algo;
        return 0;
}

static int unpack_locked(Cache *c, const char *path, const char *sha256, char *const *only,
                         uint64_t *ret_bytes, char **ret_reason);

/* Known package: record the release, and extract it when asked to and not done yet. */
static int import_known(Cache *c, int64_t id, const char *path, const char *sha256, const ImportOptions *o,
                        char **ret_reason)
{
        bool extracted = true;
        int r;

        if (o->extract) {
                r = cache_index_get_extracted(c->index, id, &extracted);
                if (r < 0)
                        return r;
        }
        if (!extracted) {
                r = unpack_locked(c, path, sha256, NULL, NULL, ret_reason);
                if (r < 0)
                        return r;
                r = cache_index_set_extracted(c->index, id, true);
                if (r < 0)
                        return r;
        }
        if (!o->release)
                return 0;
        r = cache_index_begin(c->index);
        if (r < 0)
                return r;
        r = cache_index_add_release(c->index, id, o->release, strempty(o->repo));
        if (r >= 0)
                r = cache_index_commit(c->index);
        if (r < 0)
                (void) cache_index_rollback(c->index);
        return r;
}

static int import_locked(Cache *c, const char *path, const ImportOptions *o, int64_t *ret_id,
                         char **ret_reason)
{
        _cleanup_(Fclosep) FD_t fd = NULL;
        _cleanup_(headerFreep) Header h = NULL;
        _cleanup_(rpmfilesFreep) rpmfiles files = NULL;
        _cleanup_free_ char *sha256 = NULL;
        ImportFile *a = NULL;
        size_t n = 0;
        struct stat st;
        int64_t id;
        bool extracted;
        int algo, r;

        r = open_rpm(c, path, &fd, &st, ret_reason);
        if (r < 0)
                return r;
        /* A sync hands over the sha256 its download was verified against: a package already in
         * the index then costs no hashing at all. */
        if (o->expected_sha256 && cache_index_find_sha256(c->index, o->expected_sha256, &id) >= 0) {
                r = import_known(c, id, path, o->expected_sha256, o, ret_reason);
                if (r < 0)
                        return r;
                *ret_id = id;
                return 0;
        }
        r = digest_fd(Fileno(fd), PGPHASHALGO_SHA256, &sha256, NULL);
        if (r < 0)
                return r;
        if (o->expected_sha256 && strcasecmp(o->expected_sha256, sha256) != 0) {
                string_set_printf(ret_reason, "sha256 %s differs from the repository metadata's %s", sha256,
                                  o->expected_sha256);
                return -EBADMSG;
        }
        r = cache_index_find_sha256(c->index, sha256, &id);
        if (r >= 0) {
                r = import_known(c, id, path, sha256, o, ret_reason);
                if (r < 0)
                        return r;
                *ret_id = id;
                return 0;
        }
        if (r != -ENOENT)
                return r;
        r = read_verified(c, fd, path, o, &h, &files, &algo, &a, &n, ret_reason);
        if (r < 0)
                return r;
        {
                _cleanup_free_ PackageFile *plain = calloc(n ? n : 1, sizeof(PackageFile));

                if (!plain) {
                        r = -ENOMEM;
                        goto finish;
                }
                for (size_t i = 0; i < n; i++)
                        plain[i] = a[i].file;
                r = cache_validate_paths(plain, n, ret_reason);
                if (r < 0)
                        goto finish;
        }

        /* Index only: the header says everything lookups need; the objects come when a task needs
         * them (cache-extract.c), unless they are all in the store already. */
        extracted = o->extract || objects_all_present(a, n);
        if (o->extract)
                r = extract_objects(c, fd, h, files, a, n, NULL, ret_reason);
        if (r >= 0) {
                r = record_package(c, h, sha256, st.st_size, algo, a, n, o, extracted, &id);
                if (r < 0)
                        string_set_printf(ret_reason, "cannot record the package in the index: %s",
                                          cache_index_strerror(c->index));
        }
        if (r >= 0) {
                *ret_id = id;
                r = 1;
        }
finish:
        import_files_free(a, n);
        return r;
}

int cache_import_rpm(Cache *c, const char *path, const ImportOptions *o, int64_t *ret_id, char **ret_reason)
{
        static const ImportOptions none = {};
        int64_t id = 0;
        int r;

        r = cache_rpm_init();
        if (r < 0) {
                string_set_printf(ret_reason, "cannot load the rpm configuration (is rpm installed?)");
                return r;
        }
        r = cache_lock(c, LOCK_SH);
        if (r < 0)
                return r;
        r = import_locked(c, path, o ?: &none, &id, ret_reason);
        cache_unlock(c);
        if (r >= 0 && ret_id)
                *ret_id = id;
        return r;
}

/* Keeps only the files of only (NULL: all) as needed, and every other name of their objects (the
 * payload carries a hardlinked file's content with one of its names). */
static int restrict_to(ImportFile *a, size_t n, char *const *only, char **ret_reason)
{
        if (!only)
                return 0;
        for (char *const *p = only; *p; p++) {
                bool found = false;

                for (size_t i = 0; i < n && !found; i++)
                        found = streq(a[i].file.path, *p) && S_ISREG(a[i].file.mode) && !a[i].ghost;
                if (!found) {
                        string_set_printf(ret_reason, "the package has no regular file %s", *p);
                        return -ENOENT;
                }
        }
        for (size_t i = 0; i < n; i++) {
                bool wanted = false;

                if (!a[i].object)
                        continue;
                for (char *const *p = only; *p && !wanted; p++)
                        wanted = streq(a[i].file.path, *p);
                a[i].staged = !wanted; /* reused below as "not wanted" */
        }
        for (size_t i = 0; i < n; i++)
                if (a[i].object && a[i].staged)
                        for (size_t j = 0; j < n; j++)
                                if (a[j].object && !a[j].staged && streq(a[j].object, a[i].object)) {
                                        a[i].staged = false; /* another name of a wanted object */
                                        break;
                                }
        for (size_t i = 0; i < n; i++) {
                if (a[i].staged)
                        a[i].need = false;
                a[i].staged = false;
        }
        return 0;
}

static int unpack_locked(Cache *c, const char *path, const char *sha256, char *const *only,
                         uint64_t *ret_bytes, char **ret_reason)
{
        static const ImportOptions none = {};
        _cleanup_(Fclosep) FD_t fd = NULL;
        _cleanup_(headerFreep) Header h = NULL;
        _cleanup_(rpmfilesFreep) rpmfiles files = NULL;
        _cleanup_free_ char *hex = NULL;
        ImportFile *a = NULL;
        size_t n = 0;
        struct stat st;
        uint64_t bytes = 0;
        int algo, r;

        r = open_rpm(c, path, &fd, &st, ret_reason);
        if (r < 0)
                return r;
        /* The sha256 is the one the sync verified (with the signature, when the repository has
         * gpgcheck): the same bytes need no second signature check. */
        r = digest_fd(Fileno(fd), PGPHASHALGO_SHA256, &hex, NULL);
        if (r < 0)
                return r;
        if (strcasecmp(hex, sha256) != 0) {
                string_set_printf(ret_reason,
                                  "the stored RPM %s has sha256 %s, not the indexed %s: it is damaged", path,
                                  hex, sha256);
                return -EBADMSG;
        }
        r = read_verified(c, fd, path, &none, &h, &files, &algo, &a, &n, ret_reason);
        if (r < 0)
                return r;
        r = restrict_to(a, n, only, ret_reason);
        if (r >= 0 && !objects_all_present(a, n))
                r = extract_objects(c, fd, h, files, a, n, &bytes, ret_reason);
        import_files_free(a, n);
        if (r < 0)
                return r;
        if (ret_bytes)
                *ret_bytes = bytes;
        return 0;
}

int cache_unpack_rpm(Cache *c, const char *path, const char *sha256, char *const *only, uint64_t *ret_bytes,
                     char **ret_reason)
{
        int r;

        r = cache_rpm_init();
        if (r < 0) {
                string_set_printf(ret_reason, "cannot load the rpm configuration (is rpm installed?)");
                return r;
        }
        return unpack_locked(c, path, sha256, only, ret_bytes, ret_reason);
}
