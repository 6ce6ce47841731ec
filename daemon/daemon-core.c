/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "daemon-core.h"

#include <elfutils/libdwfl.h>
#include <byteswap.h>
#include <endian.h>
#include <errno.h>
#include <stdbool.h>
#include <gelf.h>
#include <limits.h>
#include <sys/auxv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common-macro.h"

CoreInfo *core_info_free(CoreInfo *c)
{
        if (!c)
                return NULL;
        for (size_t i = 0; i < c->n_modules; i++) {
                free(c->modules[i].name);
                free(c->modules[i].build_id);
                free(c->modules[i].package_note);
        }
        free(c->modules);
        free(c->arch);
        return mfree(c);
}

/* Modules are reported from the core alone: no ELF file is ever looked up on the host. */
static int find_no_elf(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
                       char **file_name, Elf **elfp)
{
        return -1;
}

static int find_no_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
                             const char *file_name, const char *debuglink_file, GElf_Word debuglink_crc,
                             char **debuginfo_file_name)
{
        return -1;
}

static const Dwfl_Callbacks core_callbacks = {
        .find_elf = find_no_elf,
        .find_debuginfo = find_no_debuginfo,
};

/* Copies len bytes of the process's memory at vaddr from the core's PT_LOAD segments; -ENOENT when
 * the core did not dump them. */
static int core_read_memory(Elf *elf, uint64_t vaddr, void *buf, size_t len)
{
        size_t nphdr;

        if (elf_getphdrnum(elf, &nphdr) != 0)
                return -EBADMSG;
        for (size_t i = 0; i < nphdr; i++) {
                GElf_Phdr phdr;
                Elf_Data *data;

                if (!gelf_getphdr(elf, (int) i, &phdr) || phdr.p_type != PT_LOAD)
                        continue;
                if (vaddr < phdr.p_vaddr || vaddr - phdr.p_vaddr > phdr.p_filesz ||
                    len > phdr.p_filesz - (vaddr - phdr.p_vaddr))
                        continue;
                data = elf_getdata_rawchunk(elf, (int64_t) (phdr.p_offset + (vaddr - phdr.p_vaddr)), len,
                                            ELF_T_BYTE);
                if (!data || !data->d_buf)
                        return -EBADMSG;
                memcpy(buf, data->d_buf, len);
                return 0;
        }
        return -ENOENT;
}

#define NOTE_MAX_SIZE          4096
#define FDO_PACKAGING_METADATA 0xcafe1a7eU

/* The .note.package of the module mapped at start, from the ELF headers the kernel (or gcore) dumps
 * with the first page of every mapped ELF file: the module's program headers locate its PT_NOTE
 * segments, read from the core's memory. Everything read is bounded; NULL when absent. */
static int module_package_note(Elf *core, uint64_t start, char **ret)
{
        unsigned char page[4096];
        Elf *img;
        GElf_Ehdr ehdr;
        size_t nphdr;
        uint64_t first_vaddr = UINT64_MAX;
        bool swap;
        int r = 0;

        *ret = NULL;
        if (core_read_memory(core, start, page, sizeof(page)) < 0)
                return 0;
        img = elf_memory((char *) page, sizeof(page));
        if (!img)
                return 0;
        if (!gelf_getehdr(img, &ehdr) || elf_getphdrnum(img, &nphdr) != 0 || nphdr > 64) {
                elf_end(img);
                return 0;
        }
        for (size_t i = 0; i < nphdr; i++) {
                GElf_Phdr phdr;

                if (gelf_getphdr(img, (int) i, &phdr) && phdr.p_type == PT_LOAD &&
                    phdr.p_vaddr < first_vaddr)
                        first_vaddr = phdr.p_vaddr & ~(uint64_t) 0xfff;
        }
        swap = ehdr.e_ident[EI_DATA] != (BYTE_ORDER == LITTLE_ENDIAN ? ELFDATA2LSB : ELFDATA2MSB);
        for (size_t i = 0; i < nphdr && first_vaddr != UINT64_MAX && !*ret && r >= 0; i++) {
                unsigned char notes[NOTE_MAX_SIZE];
                GElf_Phdr phdr;
                size_t align, pos = 0, size;

                if (!gelf_getphdr(img, (int) i, &phdr) || phdr.p_type != PT_NOTE)
                        continue;
                size = phdr.p_filesz < sizeof(notes) ? phdr.p_filesz : sizeof(notes);
                if (core_read_memory(core, start - first_vaddr + phdr.p_vaddr, notes, size) < 0)
                        continue;
                align = phdr.p_align == 8 ? 8 : 4;
                while (pos + 12 <= size) {
                        uint32_t namesz, descsz, type;
                        size_t name_at = pos + 12, desc_at, next;

                        /* Notes are in the module's byte order (a foreign core may differ). */
                        memcpy(&namesz, notes + pos, 4);
                        memcpy(&descsz, notes + pos + 4, 4);
                        memcpy(&type, notes + pos + 8, 4);
                        if (swap) {
                                namesz = bswap_32(namesz);
                                descsz = bswap_32(descsz);
                                type = bswap_32(type);
                        }
                        desc_at = name_at + ((namesz + align - 1) & ~(align - 1));
                        next = desc_at + ((descsz + align - 1) & ~(align - 1));
                        if (namesz > size || descsz > size || desc_at > size || next > size)
                                break;
                        if (type == FDO_PACKAGING_METADATA && namesz == 4 &&
                            memcmp(notes + name_at, "FDO", 4) == 0 && descsz > 0) {
                                *ret = strndup((const char *) notes + desc_at, descsz);
                                if (!*ret)
                                        r = -ENOMEM;
                                break;
                        }
                        pos = next;
                }
        }
        elf_end(img);
        return r;
}

/* Calls cb for each note of the core's PT_NOTE segments until it returns non-zero, and returns that
 * (0 when every note was seen). */
typedef int (*CoreNoteCallback)(const GElf_Nhdr *nhdr, const unsigned char *desc, void *userdata);

static int core_foreach_note(Elf *elf, CoreNoteCallback cb, void *userdata)
{
        size_t nphdr;

        if (elf_getphdrnum(elf, &nphdr) != 0)
                return 0;
        for (size_t i = 0; i < nphdr; i++) {
                GElf_Phdr phdr;
                Elf_Data *data;
                GElf_Nhdr nhdr;
                size_t offset = 0, name_off, desc_off;
                int r;

                if (!gelf_getphdr(elf, (int) i, &phdr) || phdr.p_type != PT_NOTE)
                        continue;
                data = elf_getdata_rawchunk(elf, (int64_t) phdr.p_offset, phdr.p_filesz, ELF_T_NHDR);
                if (!data)
                        continue;
                while ((offset = gelf_getnote(data, offset, &nhdr, &name_off, &desc_off)) > 0)
                        if ((r = cb(&nhdr, (const unsigned char *) data->d_buf + desc_off, userdata)) != 0)
                                return r;
        }
        return 0;
}

/* Whether the core's byte order differs from ours (an s390x core read here): note contents are raw. */
static bool core_swapped(Elf *elf)
{
        const char *ident = elf_getident(elf, NULL);
        int mine = __BYTE_ORDER == __LITTLE_ENDIAN ? ELFDATA2LSB : ELFDATA2MSB;

        return ident && ident[EI_DATA] != mine;
}

typedef struct MappedFileQuery {
        bool is64;
        bool swap;
        uint64_t address;
        char *path;
} MappedFileQuery;

static uint64_t nt_file_word(const MappedFileQuery *q, const unsigned char *d, uint64_t k)
{
        if (q->is64) {
                uint64_t v;

                memcpy(&v, d + k * 8, 8);
                return q->swap ? bswap_64(v) : v;
        }
        uint32_t v;

        memcpy(&v, d + k * 4, 4);
        return q->swap ? bswap_32(v) : v;
}

/* NT_FILE: count, page size, count × (start, end, file offset), then count NUL-terminated paths;
 * every offset checked against the note's size. */
static int nt_file_lookup(const GElf_Nhdr *nhdr, const unsigned char *d, void *userdata)
{
        MappedFileQuery *q = userdata;
        size_t word = q->is64 ? 8 : 4, size = nhdr->n_descsz;
        uint64_t count;
        const char *name;

        if (nhdr->n_type != NT_FILE || size < 2 * word)
                return 0;
        count = nt_file_word(q, d, 0);
        if (count > (size / word - 2) / 3)
                return 0;
        name = (const char *) d + (2 + 3 * count) * word;
        for (uint64_t k = 0; k < count && name < (const char *) d + size; k++) {
                size_t left = (const char *) d + size - name, len = strnlen(name, left);
                uint64_t start = nt_file_word(q, d, 2 + 3 * k), end = nt_file_word(q, d, 3 + 3 * k),
                         ofs = nt_file_word(q, d, 4 + 3 * k);

                if (len == left)
                        break;
                if (q->address >= start && q->address < end && ofs == 0 && name[0] == '/') {
                        q->path = strndup(name, len);
                        return 1;
                }
                name += len + 1;
        }
        return 0;
}

/* The path of the file mapped at address with file offset 0, from the core's NT_FILE note (the
 * kernel's list of file mappings); NULL when the core has no such entry. */
static char *core_mapped_file(Elf *elf, uint64_t address)
{
        MappedFileQuery q = { .is64 = gelf_getclass(elf) == ELFCLASS64,
                              .swap = core_swapped(elf),
                              .address = address };

        (void) core_foreach_note(elf, nt_file_lookup, &q);
        return q.path;
}

typedef struct AddModuleContext {
        CoreInfo *info;
        Elf *core;
} AddModuleContext;

static int add_module(Dwfl_Module *mod, void **userdata, const char *name, Dwarf_Addr start, void *arg)
{
        AddModuleContext *ctx = arg;
        CoreInfo *c = ctx->info;
        const unsigned char *bits;
        GElf_Addr vaddr;
        Dwarf_Addr low, high;
        CoreModule *m, *nm;
        int len;

        nm = realloc(c->modules, (c->n_modules + 1) * sizeof(CoreModule));
        if (!nm)
                return DWARF_CB_ABORT;
        c->modules = nm;
        m = &c->modules[c->n_modules];
        *m = (CoreModule){};
        (void) dwfl_module_info(mod, NULL, &low, &high, NULL, NULL, NULL, NULL);
        m->start = low;
        m->end = high;
        /* libdwfl names some modules by their soname ("libc.so.6"); the kernel's list of mapped files
         * has the path the process loaded them from. */
        if (!name || name[0] != '/')
                m->name = core_mapped_file(ctx->core, low);
        if (!m->name)
                m->name = strdup(name ?: "");
        if (!m->name)
                return DWARF_CB_ABORT;
        c->n_modules++;
        len = dwfl_module_build_id(mod, &bits, &vaddr);
        if (len > 0) {
                m->build_id = malloc((size_t) len * 2 + 1);
                if (!m->build_id)
                        return DWARF_CB_ABORT;
                for (int i = 0; i < len; i++)
                        (void) snprintf(m->build_id + 2 * i, 3, "%02x", bits[i]);
        }
        if (module_package_note(ctx->core, low, &m->package_note) < 0)
                return DWARF_CB_ABORT;
        return DWARF_CB_OK;
}

/* NT_SIGINFO holds a siginfo_t (si_signo first); the first NT_PRSTATUS has pr_cursig after struct
 * elf_siginfo (12 bytes). Cores made by gcore may leave one of them zero. */
static int note_signal(const GElf_Nhdr *nhdr, const unsigned char *desc, void *userdata)
{
        const bool *swap = userdata; /* the core's byte order is not ours */
        int16_t cursig;
        int32_t signo;

        if (nhdr->n_type == NT_SIGINFO && nhdr->n_descsz >= 4) {
                memcpy(&signo, desc, sizeof(signo));
                if (*swap)
                        signo = (int32_t) bswap_32((uint32_t) signo);
                if (signo > 0)
                        return signo;
        }
        if (nhdr->n_type == NT_PRSTATUS && nhdr->n_descsz >= 14) {
                memcpy(&cursig, desc + 12, sizeof(cursig));
                if (*swap)
                        cursig = (int16_t) bswap_16((uint16_t) cursig);
                if (cursig > 0)
                        return cursig;
        }
        return 0;
}

/* The signal of the first NT_PRSTATUS note: the thread the kernel (or gcore) recorded first. */
static int core_first_signal(Elf *elf)
{
        bool swap = core_swapped(elf);

        return core_foreach_note(elf, note_signal, &swap);
}

/* ---- the link map, read from the core's memory: for cores without a file note (QEMU's user-mode
 * emulator writes none, and leaves out the ELF headers of executable segments, so libdwfl finds
 * neither the paths nor glibc's modules). */

#define LINK_MAP_MAX 1024 /* entries followed; a longer (or looping) chain is cut */
#define DYNAMIC_MAX  4096 /* entries of the program's dynamic section read */

typedef struct CoreMemory {
        Elf *elf;
        const char *image;
        size_t size;
        bool is64, swap;
} CoreMemory;

/* Copies len bytes at address of the crashed process from the PT_LOAD segment holding them. */
static int core_mem_read(const CoreMemory *m, uint64_t address, void *buf, size_t len)
{
        size_t nphdr;

        if (elf_getphdrnum(m->elf, &nphdr) != 0)
                return -EBADMSG;
        for (size_t i = 0; i < nphdr; i++) {
                GElf_Phdr ph;
                uint64_t off;

                if (!gelf_getphdr(m->elf, (int) i, &ph) || ph.p_type != PT_LOAD || address < ph.p_vaddr ||
                    address - ph.p_vaddr >= ph.p_filesz || len > ph.p_filesz - (address - ph.p_vaddr))
                        continue;
                off = ph.p_offset + (address - ph.p_vaddr);
                if (off > m->size || len > m->size - off)
                        return -EBADMSG;
                memcpy(buf, m->image + off, len);
                return 0;
        }
        return -ENODATA;
}

static uint64_t core_word(const CoreMemory *m, const unsigned char *p)
{
        if (m->is64) {
                uint64_t v;

                memcpy(&v, p, 8);
                return m->swap ? bswap_64(v) : v;
        }
        uint32_t v;

        memcpy(&v, p, 4);
        return m->swap ? bswap_32(v) : v;
}

static int core_mem_word(const CoreMemory *m, uint64_t address, uint64_t *ret)
{
        unsigned char b[8];
        int r;

        r = core_mem_read(m, address, b, m->is64 ? 8 : 4);
        if (r < 0)
                return r;
        *ret = core_word(m, b);
        return 0;
}

typedef struct AuxvQuery {
        const CoreMemory *m;
        uint64_t phdr, phnum;
} AuxvQuery;

static int note_auxv(const GElf_Nhdr *nhdr, const unsigned char *desc, void *userdata)
{
        AuxvQuery *q = userdata;
        size_t word = q->m->is64 ? 8 : 4;

        if (nhdr->n_type != NT_AUXV)
                return 0;
        for (size_t off = 0; off + 2 * word <= nhdr->n_descsz; off += 2 * word) {
                uint64_t type = core_word(q->m, desc + off), value = core_word(q->m, desc + off + word);

                if (type == AT_NULL)
                        break;
                if (type == AT_PHDR)
                        q->phdr = value;
                else if (type == AT_PHNUM)
                        q->phnum = value;
        }
        return 1;
}

/* The address of the program's r_debug (DT_DEBUG of its dynamic section), found through the program
 * headers the auxiliary vector points at. */
static int core_r_debug(const CoreMemory *m, uint64_t *ret)
{
        AuxvQuery q = { .m = m };
        size_t word = m->is64 ? 8 : 4, phsize = m->is64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr);
        uint64_t dynamic = 0, phdr_vaddr = 0;
        bool have_phdr = false;

        (void) core_foreach_note(m->elf, note_auxv, &q);
        if (q.phdr == 0 || q.phnum == 0 || q.phnum > 4096)
                return -ENODATA;
        for (uint64_t i = 0; i < q.phnum; i++) {
                unsigned char b[sizeof(Elf64_Phdr)];
                uint32_t type;
                uint64_t vaddr;

                if (core_mem_read(m, q.phdr + i * phsize, b, phsize) < 0)
                        return -ENODATA;
                memcpy(&type, b, 4);
                if (m->swap)
                        type = bswap_32(type);
                /* p_vaddr: after p_type, p_flags, p_offset (64-bit); after p_type, p_offset (32-bit) */
                vaddr = core_word(m, b + (m->is64 ? 16 : 8));
                if (type == PT_PHDR) {
                        phdr_vaddr = vaddr;
                        have_phdr = true;
                } else if (type == PT_DYNAMIC)
                        dynamic = vaddr;
        }
        if (!have_phdr || dynamic == 0)
                return -ENODATA;        /* a static program has no link map */
        dynamic += q.phdr - phdr_vaddr; /* the load bias of a PIE */
        for (size_t i = 0; i < DYNAMIC_MAX; i++) {
                uint64_t tag, value;

                if (core_mem_word(m, dynamic + 2 * i * word, &tag) < 0 ||
                    core_mem_word(m, dynamic + (2 * i + 1) * word, &value) < 0 || tag == DT_NULL)
                        break;
                if (tag == DT_DEBUG && value != 0) {
                        *ret = value;
                        return 0;
                }
        }
        return -ENODATA;
}

static char *core_mem_string(const CoreMemory *m, uint64_t address)
{
        char buf[PATH_MAX];

        for (size_t i = 0; i < sizeof(buf); i++) {
                if (core_mem_read(m, address + i, &buf[i], 1) < 0)
                        return NULL;
                if (buf[i] == '\0')
                        return strdup(buf);
        }
        return NULL;
}

static const char *path_basename(const char *p)
{
        const char *slash = strrchr(p, '/');
        return slash ? slash + 1 : p;
}

/* Names the modules libdwfl knows only by soname with the link map's paths, and adds the link map's
 * objects libdwfl did not find (no build-id: the resolver maps them by path and by the packages the
 * crash names). Only for a core without a file note; a link map that cannot be read changes nothing. */
static int core_add_link_map(Elf *elf, CoreInfo *c)
{
        CoreMemory m = { .elf = elf, .is64 = gelf_getclass(elf) == ELFCLASS64, .swap = core_swapped(elf) };
        size_t word = m.is64 ? 8 : 4;
        uint64_t r_debug, map;

        m.image = elf_rawfile(elf, &m.size);
        if (!m.image || core_r_debug(&m, &r_debug) < 0 || core_mem_word(&m, r_debug + word, &map) < 0)
                return 0;
        for (size_t n = 0; map != 0 && n < LINK_MAP_MAX; n++) {
                _cleanup_free_ char *name = NULL;
                uint64_t l_addr, l_name, next;
                bool known = false;

                if (core_mem_word(&m, map, &l_addr) < 0 || core_mem_word(&m, map + word, &l_name) < 0 ||
                    core_mem_word(&m, map + 3 * word, &next) < 0)
                        break;
                map = next;
                name = l_name ? core_mem_string(&m, l_name) : NULL;
                if (!name || name[0] != '/')
                        continue; /* the program itself (""), the vdso */
                for (size_t i = 0; i < c->n_modules && !known; i++) {
                        CoreModule *mod = &c->modules[i];

                        if (streq(mod->name, name))
                                known = true;
                        else if (mod->name[0] != '/' && !core_module_is_unnamed_program(mod) &&
                                 streq(mod->name, path_basename(name))) {
                                free(mod->name);
                                mod->name = TAKE_PTR(name);
                                known = true;
                        }
                }
                if (known)
                        continue;
                CoreModule *nm = reallocarray(c->modules, c->n_modules + 1, sizeof(CoreModule));
                if (!nm)
                        return -ENOMEM;
                c->modules = nm;
                c->modules[c->n_modules++] =
                        (CoreModule){ .name = TAKE_PTR(name), .start = l_addr, .end = l_addr };
        }
        return 0;
}

static int note_is_file(const GElf_Nhdr *nhdr, const unsigned char *desc, void *userdata)
{
        return nhdr->n_type == NT_FILE;
}

int core_info_read(int fd, CoreInfo **ret)
{
        _cleanup_(core_info_freep) CoreInfo *c = NULL;
        Dwfl *dwfl = NULL;
        Elf *elf = NULL;
        GElf_Ehdr ehdr;
        const char *arch;
        int r;

        (void) elf_version(EV_CURRENT);
        elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
        if (!elf)
                return -EBADMSG;
        if (!gelf_getehdr(elf, &ehdr) || ehdr.e_type != ET_CORE) {
                r = -EBADMSG;
                goto finish;
        }
        c = calloc(1, sizeof(CoreInfo));
        if (!c) {
                r = -ENOMEM;
                goto finish;
        }
        arch = core_arch_name(ehdr.e_machine, ehdr.e_ident[EI_CLASS], ehdr.e_ident[EI_DATA]);
        c->arch = strdup(arch ?: "unknown");
        if (!c->arch) {
                r = -ENOMEM;
                goto finish;
        }
        c->signal = core_first_signal(elf);

        dwfl = dwfl_begin(&core_callbacks);
        if (!dwfl) {
                r = -ENOMEM;
                goto finish;
        }
        if (dwfl_core_file_report(dwfl, elf, NULL) < 0 || dwfl_report_end(dwfl, NULL, NULL) != 0) {
                r = -EBADMSG;
                goto finish;
        }
        if (dwfl_getmodules(dwfl, add_module, &(AddModuleContext){ .info = c, .core = elf }, 0) != 0) {
                r = -ENOMEM;
                goto finish;
        }
        if (core_foreach_note(elf, note_is_file, NULL) == 0) {
                r = core_add_link_map(elf, c);
                if (r < 0)
                        goto finish;
        }
        *ret = TAKE_PTR(c);
        r = 0;
finish:
        dwfl_end(dwfl);
        elf_end(elf);
        return r;
}
