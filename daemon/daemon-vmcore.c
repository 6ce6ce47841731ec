/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The kernel release and vmlinux build-id of a vmcore, from the dump itself: the vmcoreinfo note
 * that the kernel (or QEMU's vmcoreinfo device) puts into ELF dumps and into kdump-compressed
 * headers. Pure functions over bytes: the input is an uploaded file, anything may be in it. */
#include "daemon-vmcore.h"

#include <elf.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common-macro.h"
#include "common-string.h"
#include "daemon-core.h"

static const char *const vmcore_format_table[_VMCORE_FORMAT_MAX] = {
        [VMCORE_FORMAT_ELF] = "ELF",
        [VMCORE_FORMAT_KDUMP] = "kdump-compressed",
        [VMCORE_FORMAT_FLATTENED] = "makedumpfile flattened",
};

DEFINE_STRING_TABLE_TO_STRING(vmcore_format, VmcoreFormat, _VMCORE_FORMAT_MAX)

VmcoreInfo *vmcore_info_free(VmcoreInfo *v)
{
        if (!v)
                return NULL;
        free(v->osrelease);
        free(v->build_id);
        free(v->arch);
        free(v);
        return NULL;
}

/* A value we pass on to file paths and messages: printable, no '/' games, bounded. */
static char *value_dup(const char *v, size_t n, const char *charset)
{
        char *s;

        if (n == 0 || n > VMCORE_VALUE_MAX)
                return NULL;
        for (size_t i = 0; i < n; i++)
                if (!strchr(charset, v[i]) || v[i] == '\0')
                        return NULL;
        s = strndup(v, n);
        return s;
}

#define RELEASE_CHARS "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ._+-~"
#define HEX_CHARS     "0123456789abcdef"

int vmcoreinfo_parse(const char *text, size_t len, char **ret_osrelease, char **ret_build_id)
{
        _cleanup_free_ char *osrelease = NULL, *build_id = NULL;
        const char *p = text, *end = text + len;

        while (p < end) {
                const char *nl = memchr(p, '\n', (size_t) (end - p));
                size_t n = nl ? (size_t) (nl - p) : (size_t) (end - p);

                if (n > 10 && memcmp(p, "OSRELEASE=", 10) == 0 && !osrelease)
                        osrelease = value_dup(p + 10, n - 10, RELEASE_CHARS);
                else if (n > 9 && memcmp(p, "BUILD-ID=", 9) == 0 && !build_id) {
                        /* Older kernels print it upper case; the cache keys are lower case. */
                        char tmp[VMCORE_VALUE_MAX];
                        size_t m = n - 9;

                        if (m <= sizeof(tmp)) {
                                for (size_t i = 0; i < m; i++)
                                        tmp[i] = (char) (p[9 + i] >= 'A' && p[9 + i] <= 'F'
                                                                 ? p[9 + i] - 'A' + 'a'
                                                                 : p[9 + i]);
                                build_id = value_dup(tmp, m, HEX_CHARS);
                                if (build_id && m % 2 != 0)
                                        build_id = mfree(build_id);
                        }
                }
                if (!nl)
                        break;
                p = nl + 1;
        }
        if (ret_osrelease)
                *ret_osrelease = TAKE_PTR(osrelease);
        if (ret_build_id)
                *ret_build_id = TAKE_PTR(build_id);
        return 0;
}

/* ---------------------------------------------------------------- ELF */

typedef struct Reader {
        const uint8_t *buf;
        size_t len;
        bool big_endian;
} Reader;

static bool in_range(const Reader *r, uint64_t off, uint64_t n)
{
        return off <= r->len && n <= r->len - off;
}

static uint64_t get_uint(const Reader *r, uint64_t off, unsigned size)
{
        uint64_t v = 0;

        for (unsigned i = 0; i < size; i++) {
                unsigned k = r->big_endian ? i : size - 1 - i;
                v = (v << 8) | r->buf[off + k];
        }
        return v;
}

/* Walks the notes in [off, off+size) for "VMCOREINFO". */
static int parse_notes(const Reader *r, uint64_t off, uint64_t size, VmcoreInfo *v)
{
        uint64_t end;

        if (!in_range(r, off, 0))
                return 0;
        end = size > r->len - off ? r->len : off + size;
        while (off + 12 <= end) {
                uint64_t namesz = get_uint(r, off, 4), descsz = get_uint(r, off + 4, 4);
                uint64_t name_off = off + 12, desc_off = name_off + ((namesz + 3) & ~UINT64_C(3));
                uint64_t next = desc_off + ((descsz + 3) & ~UINT64_C(3));

                if (desc_off > end || descsz > end - desc_off)
                        break;
                if (namesz >= 10 && memcmp(r->buf + name_off, "VMCOREINFO", 10) == 0 &&
                    (namesz == 10 || r->buf[name_off + 10] == '\0'))
                        return vmcoreinfo_parse((const char *) r->buf + desc_off, (size_t) descsz,
                                                v->osrelease ? NULL : &v->osrelease,
                                                v->build_id ? NULL : &v->build_id);
                off = next;
        }
        return 0;
}

static int parse_elf(const Reader *r0, VmcoreInfo *v)
{
        Reader r = *r0;
        bool is64;
        uint64_t phoff, phentsize, phnum;
        unsigned machine;
        const char *arch;

        if (r.len < EI_NIDENT + 40)
                return -EBADMSG;
        if (r.buf[EI_CLASS] != ELFCLASS32 && r.buf[EI_CLASS] != ELFCLASS64)
                return -EBADMSG;
        if (r.buf[EI_DATA] != ELFDATA2LSB && r.buf[EI_DATA] != ELFDATA2MSB)
                return -EBADMSG;
        is64 = r.buf[EI_CLASS] == ELFCLASS64;
        r.big_endian = r.buf[EI_DATA] == ELFDATA2MSB;
        if (get_uint(&r, 16, 2) != ET_CORE)
                return -EBADMSG;
        machine = (unsigned) get_uint(&r, 18, 2);
        arch = core_arch_name(machine, r.buf[EI_CLASS], r.buf[EI_DATA]);
        if (arch && !(v->arch = strdup(arch)))
                return -ENOMEM;
        if (is64) {
                if (r.len < sizeof(Elf64_Ehdr))
                        return -EBADMSG;
                phoff = get_uint(&r, 32, 8);
                phentsize = get_uint(&r, 54, 2);
                phnum = get_uint(&r, 56, 2);
        } else {
                if (r.len < sizeof(Elf32_Ehdr))
                        return -EBADMSG;
                phoff = get_uint(&r, 28, 4);
                phentsize = get_uint(&r, 42, 2);
                phnum = get_uint(&r, 44, 2);
        }
        if (phentsize < (is64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr)))
                return -EBADMSG;
        for (uint64_t i = 0; i < phnum && !(v->osrelease && v->build_id); i++) {
                uint64_t ph = phoff + i * phentsize, off, size;
                int k;

                if (phoff > r.len || i * phentsize > r.len || !in_range(&r, ph, phentsize))
                        break; /* beyond what we were given */
                if (get_uint(&r, ph, 4) != PT_NOTE)
                        continue;
                off = is64 ? get_uint(&r, ph + 8, 8) : get_uint(&r, ph + 4, 4);
                size = is64 ? get_uint(&r, ph + 32, 8) : get_uint(&r, ph + 16, 4);
                k = parse_notes(&r, off, size, v);
                if (k < 0)
                        return k;
        }
        return 0;
}

/* ---------------------------------------------------------------- kdump-compressed */

/* struct disk_dump_header of makedumpfile (diskdump_mod.h) as 64-bit Linux lays it out. */
#define KDUMP_SIGNATURE      "KDUMP   "
#define KDUMP_UTS_LEN        65
#define KDUMP_OFF_VERSION    8
#define KDUMP_OFF_UTSNAME    12
#define KDUMP_OFF_BLOCK_SIZE 428
/* struct kdump_sub_header, at block_size. */
#define KDUMP_SUB_OFF_VMCOREINFO      32
#define KDUMP_SUB_OFF_SIZE_VMCOREINFO 40

static char *uts_field(const Reader *r, unsigned index)
{
        const char *f = (const char *) r->buf + KDUMP_OFF_UTSNAME + index * KDUMP_UTS_LEN;

        return value_dup(f, strnlen(f, KDUMP_UTS_LEN - 1), RELEASE_CHARS);
}

static int parse_kdump(const Reader *r0, VmcoreInfo *v)
{
        Reader r = *r0;
        uint64_t version, block_size;

        if (r.len < KDUMP_OFF_BLOCK_SIZE + 4)
                return -EBADMSG;
        /* The header is in the dumped machine's byte order: a sane version number tells which. */
        version = get_uint(&r, KDUMP_OFF_VERSION, 4);
        if (version == 0 || version > 0xffff) {
                r.big_endian = true;
                version = get_uint(&r, KDUMP_OFF_VERSION, 4);
                if (version == 0 || version > 0xffff)
                        return -EBADMSG;
        }
        v->arch = uts_field(&r, 4); /* utsname.machine */
        if (v->arch && streq(v->arch, "i686"))
                free(v->arch), v->arch = strdup("i386");
        v->osrelease = uts_field(&r, 2); /* utsname.release */
        block_size = get_uint(&r, KDUMP_OFF_BLOCK_SIZE, 4);
        if (version >= 3 && block_size > 0 && in_range(&r, block_size, KDUMP_SUB_OFF_SIZE_VMCOREINFO + 8)) {
                uint64_t off = get_uint(&r, block_size + KDUMP_SUB_OFF_VMCOREINFO, 8);
                uint64_t size = get_uint(&r, block_size + KDUMP_SUB_OFF_SIZE_VMCOREINFO, 8);
                _cleanup_free_ char *osrelease = NULL;

                if (size <= (1u << 20) && in_range(&r, off, size)) {
                        int k = vmcoreinfo_parse((const char *) r.buf + off, (size_t) size, &osrelease,
                                                 &v->build_id);
                        if (k < 0)
                                return k;
                        if (osrelease) /* the note is the kernel's own word; utsname may be a namespace's */
                                free(v->osrelease), v->osrelease = TAKE_PTR(osrelease);
                }
        }
        return 0;
}

int vmcore_info_parse(const uint8_t *buf, size_t len, VmcoreInfo **ret)
{
        _cleanup_(vmcore_info_freep) VmcoreInfo *v = NULL;
        Reader r = { .buf = buf, .len = len };
        int k;

        v = calloc(1, sizeof(*v));
        if (!v)
                return -ENOMEM;
        if (len >= SELFMAG && memcmp(buf, ELFMAG, SELFMAG) == 0) {
                v->format = VMCORE_FORMAT_ELF;
                k = parse_elf(&r, v);
        } else if (len >= 8 && memcmp(buf, KDUMP_SIGNATURE, 8) == 0) {
                v->format = VMCORE_FORMAT_KDUMP;
                k = parse_kdump(&r, v);
        } else if (len >= 16 && memcmp(buf, "makedumpfile\0", 13) == 0) {
                v->format = VMCORE_FORMAT_FLATTENED;
                k = 0;
        } else
                return -EBADMSG;
        if (k < 0)
                return k;
        *ret = TAKE_PTR(v);
        return 0;
}

int vmcore_find_banner(const uint8_t *buf, size_t len, char **ret)
{
        static const char banner[] = "Linux version ";
        const uint8_t *p = buf, *end = buf + len;

        while (p < end) {
                const uint8_t *hit = memmem(p, (size_t) (end - p), banner, sizeof(banner) - 1);
                const char *rel;
                size_t n;
                char *s;

                if (!hit)
                        break;
                rel = (const char *) hit + sizeof(banner) - 1;
                n = 0;
                while (rel + n < (const char *) end && n <= VMCORE_VALUE_MAX &&
                       strchr(RELEASE_CHARS, rel[n]) && rel[n] != '\0')
                        n++;
                /* The real banner continues " (builder@host) (compiler …": format strings do not. */
                if (n > 0 && n <= VMCORE_VALUE_MAX && (size_t) (end - (const uint8_t *) rel) > n + 2 &&
                    rel[n] == ' ' && rel[n + 1] == '(' && rel[0] >= '0' && rel[0] <= '9') {
                        s = strndup(rel, n);
                        if (!s)
                                return -ENOMEM;
                        *ret = s;
                        return 0;
                }
                p = hit + 1;
        }
        return -ENOENT;
}
