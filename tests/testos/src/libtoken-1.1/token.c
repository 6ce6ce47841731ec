/* libtoken 1.1: same interface as 1.0, reworked internals. */
#include "token.h"

#include <ctype.h>
#include <string.h>

static struct token slot;

void token_stream_init(struct token_stream *s, const char *text)
{
        s->cursor = text;
        s->current = NULL;
}

/* Skips leading blanks, so that runs of spaces do not yield empty tokens. */
static const char *token_skip_blanks(const char *p)
{
        while (isspace((unsigned char)*p))
                p++;
        return p;
}

__attribute__((noinline)) static size_t token_span_of(const struct token *t)
{
        size_t span = t->len + 1; /* @line token_span_of */
        return span;
}

size_t token_next(struct token_stream *s)
{
        size_t n;

        s->cursor = token_skip_blanks(s->cursor);
        if (*s->cursor == '\0') {
                s->current = NULL;
        } else {
                slot.text = s->cursor;
                slot.len = strcspn(s->cursor, " \t");
                s->current = &slot;
        }
        n = token_span_of(s->current); /* @line token_next */
        s->cursor += n - 1;
        return n - 1;
}

int token_check(const struct token *t, size_t limit)
{
        return t && t->len <= limit;
}
