/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* Every fuzz target defines this (libFuzzer's entry point). fuzz-main.c replays a corpus through it
 * in normal test runs; with -Dfuzzer=true and clang, libFuzzer drives it instead. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
