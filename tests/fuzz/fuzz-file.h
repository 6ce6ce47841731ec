/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* For parsers that take a path: writes the input to NAME in a private temporary directory (made
 * once, removed at exit) and returns the file's path. Aborts when it cannot. */
const char *fuzz_file_write(const char *name, const uint8_t *data, size_t size);
