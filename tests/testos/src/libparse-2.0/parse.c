/* libparse 2.0: rewritten on top of libtoken 2. */
#include "parse.h"

#include <assert.h>

#include "token.h"

typedef struct ParseState {
        TokenReader *reader;
        int nodes;
} ParseState;

__attribute__((noipa)) static int parse_node(ParseState *st)
{
        size_t len = token_read(st->reader); /* @line parse_node */

        st->nodes += len > 0;
        return (int) len;
}

__attribute__((noipa)) static int parse_document(ParseState *st)
{
        int total = 0;

        for (;;) {
                int len = parse_node(st); /* @line parse_document */
                total += len;
                if (st->reader->input[st->reader->offset] == '\0')
                        break;
                st->reader->offset++;
        }
        return total;
}

int parse_record(const char *record)
{
        ParseState st = { .reader = token_reader_new(record) };
        int total;

        total = parse_document(&st); /* @line parse_record */
        token_reader_free(st.reader);
        return st.nodes + (total < 0);
}

int parse_validate(const char *record, size_t limit)
{
        TokenReader *r = token_reader_new(record);
        size_t len;
        int fields = 0;

        while ((len = token_read(r)) > 0) {
                assert(len <= limit && len <= token_limit()); /* @line parse_validate */
                fields++;
                if (r->input[r->offset] == ' ')
                        r->offset++;
        }
        token_reader_free(r);
        return fields;
}
