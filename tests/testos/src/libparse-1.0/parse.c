/* libparse 1.0 */
#include "parse.h"

#include <assert.h>

#include "token.h"

__attribute__((noipa)) static int parse_field(struct token_stream *s)
{
        size_t n = token_next(s); /* @line parse_field */
        return n > 0;
}

int parse_record(const char *record)
{
        struct token_stream s;
        int fields = 0;

        token_stream_init(&s, record);
        do
                fields += parse_field(&s); /* @line parse_record */
        while (*s.cursor != '\0');
        return fields;
}

int parse_validate(const char *record, size_t limit)
{
        struct token_stream s;
        int fields = 0;

        token_stream_init(&s, record);
        while (token_next(&s) > 0) {
                assert(token_check(s.current, limit)); /* @line parse_validate */
                fields++;
        }
        return fields;
}
