/* libtoken 2.0 */
#include "token.h"

#include <stdlib.h>
#include <string.h>

TokenReader *token_reader_new(const char *input)
{
        TokenReader *r = calloc(1, sizeof(TokenReader));

        if (r)
                r->input = input;
        return r;
}

void token_reader_free(TokenReader *r)
{
        free(r);
}

size_t token_limit(void)
{
        return 16;
}

__attribute__((noipa)) static size_t token_peek_length(const char *word)
{
        size_t len = 0;

        while (word[len] != '\0' && word[len] != ' ') /* @line token_peek_length */
                len++;
        return len;
}

size_t token_read(TokenReader *r)
{
        size_t len;

        r->word = r->input[r->offset] ? r->input + r->offset : r->end_of_input;
        len = token_peek_length(r->word); /* @line token_read */
        r->offset += len;
        return len;
}
