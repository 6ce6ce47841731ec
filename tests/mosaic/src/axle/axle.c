/* libaxle 0.9 (axle-libs) */
#include "axle.h"

#include <stdlib.h>

static struct axle_stop *axle_line(const char *from, int stops)
{
        struct axle_stop *first = NULL;

        for (int i = 0; i < stops; i++) {
                struct axle_stop *s = calloc(1, sizeof(*s));
                s->name = from;
                s->load = i + 1;
                s->next = first;
                first = s;
        }
        return first;
}

__attribute__((noipa)) static int axle_hop(const struct axle_stop *s)
{
        return s->load + s->next->load; /* @line axle_hop */
}

int axle_route(const char *from, int hops)
{
        struct axle_stop *s = axle_line(from, 3);
        int total = 0;

        for (int i = 0; i < hops; i++) {
                total += axle_hop(s); /* @line axle_route */
                s = s->next;
        }
        return total;
}
