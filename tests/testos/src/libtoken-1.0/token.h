/* libtoken 1.x: splits text into tokens. */
#pragma once
#include <stddef.h>

struct token {
        const char *text;
        size_t len;
};

struct token_stream {
        const char *cursor;
        struct token *current;
        struct token *slots[2]; /* [0]: end of input (NULL), [1]: the token being read */
};

void token_stream_init(struct token_stream *s, const char *text);
/* Advances to the next token; returns its length. */
size_t token_next(struct token_stream *s);
int token_check(const struct token *t, size_t limit);
