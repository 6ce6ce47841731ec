/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stdio.h>

/* Writes v (NULL: "") as a JSON string literal: quotes, backslashes and control characters escaped. */
void json_write_string(FILE *f, const char *v);
