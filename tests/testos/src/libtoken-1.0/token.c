/* libtoken 1.0 */
#include "token.h"

#include <string.h>

static struct token slot;

void token_stream_init(struct token_stream *s, const char *text)
{
        s->cursor = text;
        s->current = NULL;
        s->slots[0] = NULL;
        s->slots[1] = &slot;
}

__attribute__((noipa)) static size_t token_measure(const struct token *t)
{
        return t->len; /* @line token_measure */
}

size_t token_next(struct token_stream *s)
{
        size_t n;

        s->current = s->slots[*s->cursor != '\0']; /* no token at the end: the caller must stop */
        if (s->current) {
                s->current->text = s->cursor;
                s->current->len = strcspn(s->cursor, " ");
        }
        n = token_measure(s->current); /* @line token_next */
        s->cursor += n;
        return n;
}

int token_check(const struct token *t, size_t limit)
{
        return t->len <= limit;
}
