/* Server diagnostics on stderr: one line each, "<UTC time> <level> <message>".
 * Never pass secrets (passwords, tokens, connection strings with passwords):
 * these lines end up in service logs. Thread-safe (one write(2) per line). */
#ifndef MTS_LOG_H
#define MTS_LOG_H

#include <stddef.h>
#include <stdint.h>

#include "mt/status.h" /* MT_PRINTF */

void log_info(const char *fmt, ...) MT_PRINTF(1, 2);
void log_warn(const char *fmt, ...) MT_PRINTF(1, 2);
void log_error(const char *fmt, ...) MT_PRINTF(1, 2);

/* Write "len" bytes of "buf" to "fd", retrying on EINTR and short writes.
 * Returns 0, or -1 with errno set. */
int log_write_all(int fd, const char *buf, size_t len);

/* Format the current UTC time as "2024-05-01T12:00:00.123Z" into "out"
 * (at least 32 bytes). */
void log_utc_now(char *out, size_t cap);

/* The same for "secs" seconds and "nsec" nanoseconds since 1970-01-01 UTC
 * (milliseconds truncated). Arithmetic only: no time-zone lock. */
void log_utc_format(int64_t secs, long nsec, char *out, size_t cap);

#endif
