/* libtoken 1.0 */
#include "token.h"

#include <string.h>

static struct token slot;

void token_stream_init(struct token_stream *s, const char *text)
{
        s->cursor = text;
        s->current = NULL;
}

__attribute__((noinline)) static size_t token_measure(const struct token *t)
{
        size_t n = t->len; /* @line token_measure */
        return n + (t->text[0] == ' ');
}

size_t token_next(struct token_stream *s)
{
        size_t n;

        if (*s->cursor == '\0')
                s->current = NULL; /* end of input: the caller must stop here */
        else {
                slot.text = s->cursor;
                slot.len = strcspn(s->cursor, " ");
                s->current = &slot;
        }
        n = token_measure(s->current); /* @line token_next */
        s->cursor += n;
        return n;
}

int token_check(const struct token *t, size_t limit)
{
        return t->len <= limit;
}
