/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common-macro.h"

/* What the resolver reads from an ELF file of a package (a binary or a debug file), with libelf,
 * never executing anything. */
typedef struct ElfFacts {
        char build_id[129]; /* lower-case hex; "" when the file has none */
        char *debugaltlink; /* .gnu_debugaltlink: the dwz alt file's path, NULL when none */
        char altlink_build_id[129];
        bool has_debug_info; /* .debug_info (or .zdebug_info) with content */
        bool has_index;      /* .gdb_index or .debug_names: gdb needs not index the DWARF itself */
} ElfFacts;

void elf_facts_done(ElfFacts *f);
/* Reads the GNU build-id note and .gnu_debugaltlink of the ELF file open at fd (at most max_size
 * bytes are looked at). -EBADMSG when fd is not an ELF file. */
int elf_facts_read(int fd, uint64_t max_size, ElfFacts *ret);

/* Where section name's bytes lie in the ELF file open at fd: -ENOENT when it has no such section or
 * the section has no bytes in the file (SHT_NOBITS, as a debug file's copies of the code sections),
 * -EBADMSG when fd is not an ELF file. */
int elf_section_locate(int fd, const char *name, uint64_t *ret_offset, uint64_t *ret_size);

/* systemd's package metadata note (.note.package: owner "FDO", type 0xcafe1a7e, a JSON object). */
#define ELF_NOTE_FDO_PACKAGING_METADATA 0xcafe1a7eU

typedef struct PackageNote {
        char *type; /* "rpm", "deb", … */
        char *name;
        char *version;      /* as the packager wrote it: "[EPOCH:]VERSION[-RELEASE]" */
        char *architecture; /* may be NULL */
        char *os;           /* os-release ID, may be NULL */
        char *os_version;   /* os-release VERSION_ID, may be NULL */
} PackageNote;

void package_note_done(PackageNote *n);
/* Pure: parses the note's JSON (len bytes, not necessarily NUL-terminated, a trailing NUL
 * tolerated). -EBADMSG unless it is an object with string "name" and "version". */
int package_note_parse(const char *json, size_t len, PackageNote *ret);
