/* An error sentence written into a caller's buffer (the parsers of the
 * server and of the gateway simulator: console messages, batches, replies,
 * state files). */
#ifndef MT_SERVER_ERRTEXT_H
#define MT_SERVER_ERRTEXT_H

#include <stddef.h>

/* Write the sentence "fmt" into err[cap] (always terminated when cap > 0)
 * and return -1, so that a parser can "return errtext_fail(...)". */
int errtext_fail(char *err, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
