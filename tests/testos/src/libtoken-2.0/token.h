/* libtoken 2.x: incompatible interface (soname libtoken.so.2). */
#pragma once
#include <stddef.h>

typedef struct TokenReader {
        const char *input;
        size_t offset;
        const char *word;
        const char *end_of_input; /* what word is at the end (NULL) */
} TokenReader;

TokenReader *token_reader_new(const char *input);
void token_reader_free(TokenReader *r);
/* Returns the length of the next word. */
size_t token_read(TokenReader *r);
size_t token_limit(void);
