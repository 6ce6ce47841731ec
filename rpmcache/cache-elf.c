/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "cache-elf.h"

#include <errno.h>
#include <gelf.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common-string.h"

void elf_facts_done(ElfFacts *f)
{
        free(f->debugaltlink);
        *f = (ElfFacts){};
}

static void hex_into(char dst[static 129], const unsigned char *bits, size_t len)
{
        if (len > 64)
                len = 64;
        for (size_t i = 0; i < len; i++)
                (void) snprintf(dst + 2 * i, 3, "%02x", bits[i]);
        dst[2 * len] = '\0';
}

/* The build-id from the notes of one section or segment's data. */
static void notes_build_id(Elf_Data *data, char ret[static 129])
{
        GElf_Nhdr nhdr;
        size_t offset = 0, name_off, desc_off;

        while (data && (offset = gelf_getnote(data, offset, &nhdr, &name_off, &desc_off)) > 0)
                if (nhdr.n_type == NT_GNU_BUILD_ID && nhdr.n_namesz == 4 &&
                    memcmp((const char *) data->d_buf + name_off, "GNU", 4) == 0 && nhdr.n_descsz > 0) {
                        hex_into(ret, (const unsigned char *) data->d_buf + desc_off, nhdr.n_descsz);
                        return;
                }
}

static int read_sections(Elf *elf, ElfFacts *f)
{
        size_t shstrndx;
        Elf_Scn *scn = NULL;

        if (elf_getshdrstrndx(elf, &shstrndx) != 0)
                return 0; /* no section headers: only segments */
        while ((scn = elf_nextscn(elf, scn))) {
                GElf_Shdr shdr;
                const char *name;
                Elf_Data *data;

                if (!gelf_getshdr(scn, &shdr) || shdr.sh_type == SHT_NOBITS)
                        continue;
                name = elf_strptr(elf, shstrndx, shdr.sh_name);
                if (!name)
                        continue;
                if (streq(name, ".debug_info") || streq(name, ".zdebug_info"))
                        f->has_debug_info = shdr.sh_size > 0;
                else if (streq(name, ".gdb_index") || streq(name, ".debug_names"))
                        f->has_index = true;
                if (shdr.sh_type == SHT_NOTE && !f->build_id[0]) {
                        data = elf_getdata(scn, NULL);
                        notes_build_id(data, f->build_id);
                } else if (streq(name, ".gnu_debugaltlink") && !f->debugaltlink) {
                        const char *s;
                        size_t n;

                        /* A NUL-terminated path, then the alt file's build-id. */
                        data = elf_getdata(scn, NULL);
                        if (!data || !data->d_buf || data->d_size < 2)
                                continue;
                        s = data->d_buf;
                        n = strnlen(s, data->d_size);
                        if (n == 0 || n >= data->d_size || n > 4096)
                                continue;
                        f->debugaltlink = strndup(s, n);
                        if (!f->debugaltlink)
                                return -ENOMEM;
                        hex_into(f->altlink_build_id, (const unsigned char *) s + n + 1,
                                 data->d_size - n - 1);
                }
        }
        return 0;
}

static void read_segments(Elf *elf, ElfFacts *f)
{
        size_t nphdr;

        if (elf_getphdrnum(elf, &nphdr) != 0)
                return;
        for (size_t i = 0; i < nphdr && !f->build_id[0]; i++) {
                GElf_Phdr phdr;

                if (!gelf_getphdr(elf, (int) i, &phdr) || phdr.p_type != PT_NOTE)
                        continue;
                notes_build_id(elf_getdata_rawchunk(elf, (int64_t) phdr.p_offset, phdr.p_filesz, ELF_T_NHDR),
                               f->build_id);
        }
}

int elf_facts_read(int fd, uint64_t max_size, ElfFacts *ret)
{
        ElfFacts f = {};
        Elf *elf;
        int r;

        (void) elf_version(EV_CURRENT);
        elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
        if (!elf)
                return -EBADMSG;
        if (elf_kind(elf) != ELF_K_ELF || (max_size > 0 && (uint64_t) elf_getbase(elf) > max_size)) {
                elf_end(elf);
                return -EBADMSG;
        }
        r = read_sections(elf, &f);
        if (r >= 0 && !f.build_id[0])
                read_segments(elf, &f);
        elf_end(elf);
        if (r < 0) {
                elf_facts_done(&f);
                return r;
        }
        *ret = f;
        return 0;
}

int elf_section_locate(int fd, const char *name, uint64_t *ret_offset, uint64_t *ret_size)
{
        size_t shstrndx;
        Elf_Scn *scn = NULL;
        Elf *elf;
        int r = -ENOENT;

        (void) elf_version(EV_CURRENT);
        elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
        if (!elf)
                return -EBADMSG;
        if (elf_kind(elf) != ELF_K_ELF || elf_getshdrstrndx(elf, &shstrndx) != 0) {
                elf_end(elf);
                return -EBADMSG;
        }
        while ((scn = elf_nextscn(elf, scn))) {
                GElf_Shdr shdr;
                const char *n;

                if (!gelf_getshdr(scn, &shdr) || !(n = elf_strptr(elf, shstrndx, shdr.sh_name)) ||
                    !streq(n, name))
                        continue;
                if (shdr.sh_type != SHT_NOBITS) {
                        *ret_offset = shdr.sh_offset;
                        *ret_size = shdr.sh_size;
                        r = 0;
                }
                break;
        }
        elf_end(elf);
        return r;
}

void package_note_done(PackageNote *n)
{
        free(n->type);
        free(n->name);
        free(n->version);
        free(n->architecture);
        free(n->os);
        free(n->os_version);
        *n = (PackageNote){};
}

static int note_string(json_t *o, const char *key, bool required, char **ret)
{
        json_t *v = json_object_get(o, key);

        if (!v) {
                *ret = NULL;
                return required ? -EBADMSG : 0;
        }
        if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > 256)
                return -EBADMSG;
        *ret = strdup(json_string_value(v));
        return *ret ? 0 : -ENOMEM;
}

int package_note_parse(const char *json, size_t len, PackageNote *ret)
{
        PackageNote n = {};
        json_t *o;
        int r;

        while (len > 0 && json[len - 1] == '\0')
                len--;
        if (len == 0 || len > 65536)
                return -EBADMSG;
        o = json_loadb(json, len, JSON_REJECT_DUPLICATES, NULL);
        if (!o)
                return -EBADMSG;
        if (!json_is_object(o)) {
                json_decref(o);
                return -EBADMSG;
        }
        r = note_string(o, "type", false, &n.type);
        if (r >= 0)
                r = note_string(o, "name", true, &n.name);
        if (r >= 0)
                r = note_string(o, "version", true, &n.version);
        if (r >= 0)
                r = note_string(o, "architecture", false, &n.architecture);
        if (r >= 0)
                r = note_string(o, "os", false, &n.os);
        if (r >= 0)
                r = note_string(o, "osVersion", false, &n.os_version);
        json_decref(o);
        if (r < 0) {
                package_note_done(&n);
                return r;
        }
        *ret = n;
        return 0;
}
