/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "daemon-json.h"

void json_write_string(FILE *f, const char *v)
{
        fputc('"', f);
        for (const unsigned char *c = (const unsigned char *) (v ? v : ""); *c; c++)
                if (*c == '"' || *c == '\\')
                        fprintf(f, "\\%c", *c);
                else if (*c < 0x20 || *c == 0x7f)
                        fprintf(f, "\\u%04x", *c);
                else
                        fputc(*c, f);
        fputc('"', f);
}
