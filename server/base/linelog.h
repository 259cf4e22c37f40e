/* The access log's writer (issue 16): lines that any thread appends to a
 * buffer, written to the file by one thread.
 *
 * A request used to write(2) its access line itself: under load that was a
 * system call per request (about a tenth of a GET /me's CPU) and 50 worker
 * threads taking turns on the file's inode lock. Now a request copies its
 * line into a shared buffer (a memcpy under a mutex); a writer thread swaps
 * the buffer out and writes it with one write(2) per batch, at most
 * LINELOG_FLUSH_MS after the first line of the batch was appended, or as
 * soon as the buffer is half full.
 *
 * Every line is kept: when both buffers are full, linelog_put() waits for
 * the writer (the disk is the limit then, as it was before). Lines are
 * written whole and in the order their linelog_put() calls took the lock.
 * What kill -9 (or a crash) of the server loses is what was still in the
 * buffer: the lines of at most the last LINELOG_FLUSH_MS (plus the writer's
 * one write in progress); what was written is in the page cache and
 * survives the process, as before. A normal stop (SIGTERM) writes every
 * line (linelog_stop()).
 *
 * Without linelog_start() (tools, unit tests) or after linelog_stop(),
 * linelog_put() writes the line itself with one write(2), as before. */
#ifndef MTS_LINELOG_H
#define MTS_LINELOG_H

#include <stddef.h>

#define LINELOG_FLUSH_MS 20
#define LINELOG_BUF (256 * 1024)

/* Start the writer thread for descriptor "fd" (kept open by the caller;
 * dup2() over it, as SIGHUP's log rotation does, is fine). Returns 0, or -1
 * (already running, no memory, or no thread). */
int linelog_start(int fd);

/* Append "len" bytes (one or more whole lines) for "fd". Thread-safe. When
 * the writer runs for "fd", the bytes are copied into its buffer (waiting
 * while both buffers are full); otherwise they are written now. A line
 * longer than LINELOG_BUF / 2 is written directly after what is buffered. */
void linelog_put(int fd, const char *buf, size_t len);

/* Write every buffered line and stop the thread. Does nothing when not
 * running. */
void linelog_stop(void);

#endif
