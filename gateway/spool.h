/* The gateway's spool: batches waiting to be sent, one file each in
 * STATE/spool/, so that what could not be sent while the network or the
 * server was down survives a restart (or a kill -9) of the gateway.
 *
 * A file is written whole before it is listed (temporary file, fsync,
 * rename, fsync of the folder) and removed only after the server
 * acknowledged the batch; a batch refused for good moves to
 * STATE/refused/ beside a ".why" file holding the server's answer. Names
 * sort in the order batches were made ("<12-digit first second>.batch"),
 * and the spool hands them out oldest first. Not thread-safe: one
 * gateway app owns one spool. */
#ifndef GW_SPOOL_H
#define GW_SPOOL_H

#include <stddef.h>
#include <stdint.h>

typedef struct gw_spool gw_spool;

/* The largest batch file read back (a batch of 2,000,000 samples in text). */
#define GW_SPOOL_FILE_MAX (96u << 20)

/* Open (creating) the spool in "dir"/spool and list its files. *out is
 * the caller's (gw_spool_close()); on -1 it is NULL and "err" says why. */
int gw_spool_open(const char *dir, gw_spool **out, char *err, size_t err_cap);

void gw_spool_close(gw_spool *s);

/* Store "len" bytes under "name" (1..64 of [A-Za-z0-9._-], ending in
 * ".batch"), replacing a file of that name. 0, or -1 with "err". */
int gw_spool_put(gw_spool *s, const char *name, const char *data, size_t len, char *err,
                 size_t err_cap);

/* Batches waiting, and their total size in bytes. */
size_t gw_spool_count(const gw_spool *s);
uint64_t gw_spool_bytes(const gw_spool *s);

/* The name of the "i"-th oldest batch (borrowed until the next put, drop
 * or refuse), or NULL past the end. */
const char *gw_spool_name(const gw_spool *s, size_t i);

/* The content of batch "name" (NUL-terminated; caller frees), or NULL with
 * "err" (a file that vanished or grew beyond GW_SPOOL_FILE_MAX). */
char *gw_spool_read(const gw_spool *s, const char *name, size_t *len, char *err,
                    size_t err_cap);

/* The batch was acknowledged: remove it. 0 or -1 (errno). */
int gw_spool_drop(gw_spool *s, const char *name);

/* The batch was refused for good: move it to refused/ with "why" beside it. */
int gw_spool_refuse(gw_spool *s, const char *name, const char *why);

#endif
