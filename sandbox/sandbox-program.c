/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "sandbox-program.h"

#include <elf.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common-macro.h"
#include "common-path.h"
#include "common-string.h"

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define ELFDATA_NATIVE ELFDATA2LSB
#else
#define ELFDATA_NATIVE ELFDATA2MSB
#endif

#define ELF_HEAD_MAX    (64U << 10) /* ELF and program headers are read from this much of a file */
#define ELF_DYNAMIC_MAX (1U << 20)
#define ELF_STRTAB_MAX  (64U << 20)
#define LDCACHE_MAX     (16U << 20)
#define OBJECTS_MAX     512U /* a program and its libraries */
#define LDCACHE_PATH    "/etc/ld.so.cache"

void sandbox_elf_info_done(SandboxElfInfo *info)
{
        free(info->interp);
        strv_free(info->needed);
        free(info->runpath);
        *info = (SandboxElfInfo){};
}

/* An in-bounds range of buf: offset and count*size within len, without overflow. */
static bool range_ok(uint64_t offset, uint64_t count, uint64_t size, size_t len)
{
        return size > 0 && count <= (UINT64_MAX - offset) / size && offset + count * size <= len;
}

int sandbox_elf_parse_layout(const void *buf, size_t len, SandboxElfLayout *ret)
{
        const unsigned char *b = buf;
        SandboxElfLayout l = {};
        uint64_t phoff;
        unsigned phnum, phentsize;

        if (len < EI_NIDENT || memcmp(b, ELFMAG, SELFMAG) != 0 || b[EI_DATA] != ELFDATA_NATIVE)
                return -EBADMSG;
        l.elf_class = b[EI_CLASS];
        if (l.elf_class == ELFCLASS64) {
                Elf64_Ehdr h;

                if (len < sizeof(h))
                        return -EBADMSG;
                memcpy(&h, b, sizeof(h));
                l.machine = h.e_machine;
                phoff = h.e_phoff, phnum = h.e_phnum, phentsize = h.e_phentsize;
                if (phentsize != sizeof(Elf64_Phdr))
                        return -EBADMSG;
        } else if (l.elf_class == ELFCLASS32) {
                Elf32_Ehdr h;

                if (len < sizeof(h))
                        return -EBADMSG;
                memcpy(&h, b, sizeof(h));
                l.machine = h.e_machine;
                phoff = h.e_phoff, phnum = h.e_phnum, phentsize = h.e_phentsize;
                if (phentsize != sizeof(Elf32_Phdr))
                        return -EBADMSG;
        } else
                return -EBADMSG;
        if (!range_ok(phoff, phnum, phentsize, len))
                return -EBADMSG;

        for (unsigned i = 0; i < phnum; i++) {
                uint64_t type, offset, vaddr, filesz;

                if (l.elf_class == ELFCLASS64) {
                        Elf64_Phdr p;

                        memcpy(&p, b + phoff + (uint64_t) i * phentsize, sizeof(p));
                        type = p.p_type, offset = p.p_offset, vaddr = p.p_vaddr, filesz = p.p_filesz;
                } else {
                        Elf32_Phdr p;

                        memcpy(&p, b + phoff + (uint64_t) i * phentsize, sizeof(p));
                        type = p.p_type, offset = p.p_offset, vaddr = p.p_vaddr, filesz = p.p_filesz;
                }
                if (type == PT_INTERP)
                        l.interp_offset = offset, l.interp_size = filesz;
                else if (type == PT_DYNAMIC)
                        l.dynamic_offset = offset, l.dynamic_size = filesz;
                else if (type == PT_LOAD) {
                        if (l.n_loads >= ELEMENTSOF(l.loads))
                                return -EBADMSG;
                        l.loads[l.n_loads].vaddr = vaddr;
                        l.loads[l.n_loads].offset = offset;
                        l.loads[l.n_loads].filesz = filesz;
                        l.n_loads++;
                }
        }
        *ret = l;
        return 0;
}

/* Calls f(tag, value) for each entry of a dynamic section, up to DT_NULL. */
static int dynamic_foreach(const SandboxElfLayout *l, const void *dyn, size_t dyn_len,
                           int (*f)(int64_t tag, uint64_t value, void *userdata), void *userdata)
{
        size_t size = l->elf_class == ELFCLASS64 ? sizeof(Elf64_Dyn) : sizeof(Elf32_Dyn);

        for (size_t off = 0; off + size <= dyn_len; off += size) {
                int64_t tag;
                uint64_t value;
                int r;

                if (l->elf_class == ELFCLASS64) {
                        Elf64_Dyn d;

                        memcpy(&d, (const char *) dyn + off, sizeof(d));
                        tag = d.d_tag, value = d.d_un.d_val;
                } else {
                        Elf32_Dyn d;

                        memcpy(&d, (const char *) dyn + off, sizeof(d));
                        tag = d.d_tag, value = d.d_un.d_val;
                }
                if (tag == DT_NULL)
                        return 0;
                r = f(tag, value, userdata);
                if (r < 0)
                        return r;
        }
        return 0;
}

typedef struct StrtabFind {
        uint64_t addr, size;
        bool have_addr, have_size;
} StrtabFind;

static int strtab_visit(int64_t tag, uint64_t value, void *userdata)
{
        StrtabFind *s = userdata;

        if (tag == DT_STRTAB)
                s->addr = value, s->have_addr = true;
        else if (tag == DT_STRSZ)
                s->size = value, s->have_size = true;
        return 0;
}

int sandbox_elf_dynamic_strtab(const SandboxElfLayout *l, const void *dyn, size_t dyn_len,
                               uint64_t *ret_offset, uint64_t *ret_size)
{
        StrtabFind s = {};

        (void) dynamic_foreach(l, dyn, dyn_len, strtab_visit, &s);
        if (!s.have_addr || !s.have_size)
                return -EBADMSG;
        for (size_t i = 0; i < l->n_loads; i++)
                if (s.addr >= l->loads[i].vaddr && s.addr - l->loads[i].vaddr < l->loads[i].filesz &&
                    s.size <= l->loads[i].filesz - (s.addr - l->loads[i].vaddr)) {
                        *ret_offset = l->loads[i].offset + (s.addr - l->loads[i].vaddr);
                        *ret_size = s.size;
                        return 0;
                }
        return -EBADMSG;
}

typedef struct DynamicParse {
        const char *strtab;
        size_t strtab_len;
        SandboxElfInfo *info;
        char *rpath;
} DynamicParse;

static int dynamic_string(const DynamicParse *p, uint64_t offset, const char **ret)
{
        if (offset >= p->strtab_len || !memchr(p->strtab + offset, '\0', p->strtab_len - offset))
                return -EBADMSG;
        *ret = p->strtab + offset;
        return 0;
}

static int dynamic_visit(int64_t tag, uint64_t value, void *userdata)
{
        DynamicParse *p = userdata;
        const char *s;
        int r;

        if (!IN_SET(tag, (int64_t) DT_NEEDED, (int64_t) DT_RUNPATH, (int64_t) DT_RPATH))
                return 0;
        r = dynamic_string(p, value, &s);
        if (r < 0)
                return r;
        if (tag == DT_NEEDED) {
                if (isempty(s))
                        return -EBADMSG;
                return strv_extend(&p->info->needed, s);
        }
        if (tag == DT_RUNPATH) {
                free(p->info->runpath);
                p->info->runpath = strdup(s);
                return p->info->runpath ? 0 : -ENOMEM;
        }
        free(p->rpath);
        p->rpath = strdup(s);
        return p->rpath ? 0 : -ENOMEM;
}

int sandbox_elf_parse_dynamic(const SandboxElfLayout *l, const void *dyn, size_t dyn_len, const char *strtab,
                              size_t strtab_len, SandboxElfInfo *ret)
{
        _cleanup_(sandbox_elf_info_done)
                SandboxElfInfo info = { .elf_class = l->elf_class, .machine = l->machine };
        DynamicParse p = { .strtab = strtab, .strtab_len = strtab_len, .info = &info };
        int r;

        r = dynamic_foreach(l, dyn, dyn_len, dynamic_visit, &p);
        /* DT_RPATH counts only without DT_RUNPATH (as in ld.so). */
        if (r >= 0 && !info.runpath && p.rpath)
                info.runpath = TAKE_PTR(p.rpath);
        free(p.rpath);
        if (r < 0)
                return r;
        ret->needed = TAKE_PTR(info.needed);
        ret->runpath = TAKE_PTR(info.runpath);
        ret->elf_class = info.elf_class;
        ret->machine = info.machine;
        return 0;
}

int sandbox_ldcache_lookup(const void *buf, size_t len, const char *soname,
                           int (*found)(const char *path, void *userdata), void *userdata)
{
        static const char old_magic[] = "ld.so-1.7.0", new_magic[] = "glibc-ld.so.cache1.1";
        const size_t header = 48, entry = 24; /* struct cache_file_new, struct file_entry_new */
        const char *b = buf, *base;
        size_t avail;
        uint32_t nlibs;

        if (len >= (sizeof(old_magic) - 1) + 5 && memcmp(b, old_magic, (sizeof(old_magic) - 1)) == 0) {
                /* The old table first (12-byte entries after a 16-byte header), then the new one,
                 * aligned to 8. */
                uint32_t nold;
                size_t skip;

                memcpy(&nold, b + 12, sizeof(nold));
                if (nold > (len - 16) / 12)
                        return -EBADMSG;
                skip = (16 + (size_t) nold * 12 + 7) & ~(size_t) 7;
                if (skip > len)
                        return -EBADMSG;
                b += skip;
                len -= skip;
        }
        if (len < header || memcmp(b, new_magic, (sizeof(new_magic) - 1)) != 0)
                return -EBADMSG;
        memcpy(&nlibs, b + 20, sizeof(nlibs));
        if (nlibs > (len - header) / entry)
                return -EBADMSG;
        /* String offsets count from the new header. */
        base = b;
        avail = len;
        for (uint32_t i = 0; i < nlibs; i++) {
                uint32_t key, value;
                int r;

                memcpy(&key, b + header + (size_t) i * entry + 4, sizeof(key));
                memcpy(&value, b + header + (size_t) i * entry + 8, sizeof(value));
                if (key >= avail || value >= avail || !memchr(base + key, '\0', avail - key) ||
                    !memchr(base + value, '\0', avail - value))
                        return -EBADMSG;
                if (!streq(base + key, soname))
                        continue;
                r = found(base + value, userdata);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* ---- resolution on the host (not pure: reads files) */

static int pread_alloc(int fd, uint64_t offset, uint64_t size, uint64_t max, char **ret)
{
        _cleanup_free_ char *buf = NULL;
        ssize_t n;

        if (size > max)
                return -EFBIG;
        buf = malloc(size + 1);
        if (!buf)
                return -ENOMEM;
        n = pread(fd, buf, size, (off_t) offset);
        if (n < 0)
                return -errno;
        if ((uint64_t) n != size)
                return -EBADMSG;
        buf[size] = '\0';
        *ret = TAKE_PTR(buf);
        return 0;
}

/* Reads what the dynamic linker needs of the ELF file path. -EBADMSG: no (usable) ELF file. */
static int elf_read_info(const char *path, SandboxElfInfo *ret)
{
        _cleanup_(sandbox_elf_info_done) SandboxElfInfo info = {};
        _cleanup_free_ char *head = NULL, *dyn = NULL, *strtab = NULL;
        _cleanup_close_ int fd = -EBADF;
        SandboxElfLayout l;
        uint64_t str_off, str_size;
        ssize_t n;
        int r;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        head = malloc(ELF_HEAD_MAX);
        if (!head)
                return -ENOMEM;
        n = pread(fd, head, ELF_HEAD_MAX, 0);
        if (n < 0)
                return -errno;
        r = sandbox_elf_parse_layout(head, (size_t) n, &l);
        if (r < 0)
                return r;
        info.elf_class = l.elf_class;
        info.machine = l.machine;
        if (l.interp_size > 0) {
                r = pread_alloc(fd, l.interp_offset, l.interp_size, PATH_MAX, &info.interp);
                if (r < 0)
                        return r;
                if (!path_is_normalized_absolute(info.interp))
                        return -EBADMSG;
        }
        if (l.dynamic_size > 0) {
                SandboxElfInfo d = {};

                r = pread_alloc(fd, l.dynamic_offset, l.dynamic_size, ELF_DYNAMIC_MAX, &dyn);
                if (r >= 0)
                        r = sandbox_elf_dynamic_strtab(&l, dyn, l.dynamic_size, &str_off, &str_size);
                if (r >= 0)
                        r = pread_alloc(fd, str_off, str_size, ELF_STRTAB_MAX, &strtab);
                if (r >= 0)
                        r = sandbox_elf_parse_dynamic(&l, dyn, l.dynamic_size, strtab, str_size, &d);
                if (r < 0)
                        return r;
                info.needed = TAKE_PTR(d.needed);
                info.runpath = TAKE_PTR(d.runpath);
        }
        *ret = info;
        info = (SandboxElfInfo){};
        return 0;
}

typedef struct Resolver {
        SandboxConfig *c;
        SandboxError *e;
        unsigned char elf_class;
        uint16_t machine;
        char **bound; /* destinations bound so far */
        char **queue; /* objects whose libraries are still to be found */
        char *ldcache;
        size_t ldcache_len;
        bool ldcache_read, ldcache_used;
        /* one lookup */
        const char *name;
        bool found;
} Resolver;

static int resolver_bind(Resolver *res, const char *path)
{
        _cleanup_free_ char *dest = path_resolve_link("/", path);
        int r;

        if (!dest)
                return -ENOMEM;
        if (strv_contains(res->bound, dest))
                return 0;
        if (strv_length(res->bound) >= OBJECTS_MAX)
                return sandbox_error_set(res->e, E2BIG, "--ro-bind-program: more than %u files to bind",
                                         OBJECTS_MAX);
        r = sandbox_config_add_bind(res->c, SANDBOX_MOUNT_RO_BIND, path, dest);
        if (r >= 0)
                r = strv_extend(&res->bound, dest);
        if (r < 0)
                return sandbox_error_set(res->e, -r, "--ro-bind-program: cannot bind %s", path);
        return 1;
}

/* A candidate for a library: an ELF file of the program's class and machine (ld.so skips others). */
static int resolver_try(Resolver *res, const char *path)
{
        _cleanup_(sandbox_elf_info_done) SandboxElfInfo info = {};
        int r;

        if (access(path, F_OK) < 0 || elf_read_info(path, &info) < 0 || info.elf_class != res->elf_class ||
            info.machine != res->machine)
                return 0;
        r = resolver_bind(res, path);
        if (r < 0)
                return r;
        res->found = true;
        if (r > 0) {
                r = strv_extend(&res->queue, path);
                if (r < 0)
                        return sandbox_error_set(res->e, -r, "out of memory");
        }
        return 1;
}

static int ldcache_found(const char *path, void *userdata)
{
        Resolver *res = userdata;
        int r;

        /* Every entry of the name that fits: ld.so picks one by the CPU's capabilities. */
        r = resolver_try(res, path);
        if (r > 0)
                res->ldcache_used = true;
        return r < 0 ? r : 0;
}

static int resolver_find(Resolver *res, const char *object, const SandboxElfInfo *info, const char *name)
{
        static const char *const dirs64[] = { "/lib64", "/usr/lib64", "/lib", "/usr/lib" };
        static const char *const dirs32[] = { "/lib", "/usr/lib" };
        const char *const *dirs = res->elf_class == ELFCLASS64 ? dirs64 : dirs32;
        size_t n_dirs = res->elf_class == ELFCLASS64 ? ELEMENTSOF(dirs64) : ELEMENTSOF(dirs32);
        int r;

        if (strchr(name, '/'))
                return name[0] == '/' ? resolver_try(res, name) : 0;
        /* DT_RUNPATH (or DT_RPATH) of the object, $ORIGIN its directory. */
        for (const char *p = info->runpath; p && *p;) {
                size_t n = strcspn(p, ":");
                _cleanup_free_ char *dir = strndup(p, n), *candidate = NULL;

                if (!dir)
                        return -ENOMEM;
                if (string_startswith(dir, "$ORIGIN") || string_startswith(dir, "${ORIGIN}")) {
                        const char *rest = dir + (dir[1] == '{' ? STRLEN("${ORIGIN}") : STRLEN("$ORIGIN"));
                        const char *slash = strrchr(object, '/');

                        if (asprintf(&candidate, "%.*s%s/%s", (int) (slash - object), object, rest, name) <
                            0)
                                return -ENOMEM;
                } else if (dir[0] == '/')
                        candidate = path_join(dir, name);
                if (candidate) {
                        r = resolver_try(res, candidate);
                        if (r != 0)
                                return r;
                }
                p += n;
                if (*p == ':')
                        p++;
        }
        /* /etc/ld.so.cache, read once. */
        if (!res->ldcache_read) {
                _cleanup_close_ int fd = open(LDCACHE_PATH, O_RDONLY | O_CLOEXEC);
                struct stat st;

                res->ldcache_read = true;
                if (fd >= 0 && fstat(fd, &st) >= 0 && st.st_size > 0 &&
                    (uint64_t) st.st_size <= LDCACHE_MAX &&
                    pread_alloc(fd, 0, (uint64_t) st.st_size, LDCACHE_MAX, &res->ldcache) >= 0)
                        res->ldcache_len = (size_t) st.st_size;
        }
        if (res->ldcache) {
                res->found = false;
                r = sandbox_ldcache_lookup(res->ldcache, res->ldcache_len, name, ldcache_found, res);
                if (r < 0 && r != -EBADMSG)
                        return r;
                if (res->found)
                        return 1;
        }
        for (size_t i = 0; i < n_dirs; i++) {
                _cleanup_free_ char *candidate = path_join(dirs[i], name);

                if (!candidate)
                        return -ENOMEM;
                r = resolver_try(res, candidate);
                if (r != 0)
                        return r;
        }
        return 0;
}

int sandbox_config_add_program(SandboxConfig *c, const char *path, SandboxError *e)
{
        _cleanup_(sandbox_elf_info_done) SandboxElfInfo info = {};
        Resolver res = { .c = c, .e = e };
        int r;

        if (isempty(path) || path[0] != '/')
                return sandbox_error_set(e, EINVAL, "--ro-bind-program %s: expected an absolute path",
                                         path ? path : "");
        r = elf_read_info(path, &info);
        if (r < 0)
                return sandbox_error_set(e, -r,
                                         "--ro-bind-program %s: cannot read it as an ELF program of this "
                                         "machine",
                                         path);
        res.elf_class = info.elf_class;
        res.machine = info.machine;
        r = resolver_bind(&res, path);
        if (r >= 0 && info.interp) {
                r = access(info.interp, F_OK) < 0
                            ? sandbox_error_set(e, errno,
                                                "--ro-bind-program %s: its interpreter %s is missing", path,
                                                info.interp)
                            : resolver_bind(&res, info.interp);
        }
        if (r >= 0)
                r = strv_extend(&res.queue, path);
        /* Breadth first: each object once, its libraries searched from its own RUNPATH. */
        for (size_t i = 0; r >= 0 && res.queue && res.queue[i]; i++) {
                _cleanup_(sandbox_elf_info_done) SandboxElfInfo oi = {};
                _cleanup_free_ char *object = strdup(res.queue[i]);

                if (!object) {
                        r = -ENOMEM;
                        break;
                }
                r = elf_read_info(object, &oi);
                if (r < 0) {
                        r = sandbox_error_set(e, -r, "--ro-bind-program %s: cannot read %s", path, object);
                        break;
                }
                STRV_FOREACH (n, oi.needed) {
                        r = resolver_find(&res, object, &oi, *n);
                        if (r == 0)
                                r = sandbox_error_set(
                                        e, ENOENT,
                                        "--ro-bind-program %s: library %s needed by %s not found "
                                        "(searched its RUNPATH, " LDCACHE_PATH
                                        " and the default directories)",
                                        path, *n, object);
                        if (r < 0)
                                break;
                }
        }
        if (r >= 0 && res.ldcache_used)
                r = resolver_bind(&res, LDCACHE_PATH);
        strv_free(res.bound);
        strv_free(res.queue);
        free(res.ldcache);
        if (r < 0 && e->error == 0)
                return sandbox_error_set(e, -r, "--ro-bind-program %s", path);
        return r < 0 ? r : 0;
}
