/* libparse 1.x: parses records of space-separated fields. */
#pragma once
#include <stddef.h>

/* Counts the fields of a record; crashes on an empty record (the bug the tests rely on). */
int parse_record(const char *record);
/* Asserts that every field is at most limit bytes long. */
int parse_validate(const char *record, size_t limit);
