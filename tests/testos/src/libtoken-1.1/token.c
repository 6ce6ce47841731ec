/* libtoken 1.1: same interface as 1.0, reworked internals. */
#include "token.h"

#include <ctype.h>
#include <string.h>

static struct token slot;

void token_stream_init(struct token_stream *s, const char *text)
{
        s->cursor = text;
        s->current = NULL;
        s->slots[0] = NULL;
        s->slots[1] = &slot;
}

/* Skips leading blanks, so that runs of spaces do not yield empty tokens. */
static const char *token_skip_blanks(const char *p)
{
        while (isspace((unsigned char) *p))
                p++;
        return p;
}

__attribute__((noipa)) static size_t token_span_of(const struct token *t)
{
        return t->len + 1; /* @line token_span_of */
}

size_t token_next(struct token_stream *s)
{
        size_t n;

        s->cursor = token_skip_blanks(s->cursor);
        s->current = s->slots[*s->cursor != '\0'];
        if (s->current) {
                s->current->text = s->cursor;
                s->current->len = strcspn(s->cursor, " \t");
        }
        n = token_span_of(s->current); /* @line token_next */
        s->cursor += n - 1;
        return n - 1;
}

int token_check(const struct token *t, size_t limit)
{
        return t && t->len <= limit;
}
