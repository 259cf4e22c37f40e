/* What the app shares through the cloud (K1-K4; docs/app-share.md,
 * docs/gateway.md "Shared files and lists"): one request as the app makes
 * it, run by `metron-gateway --share-...` and then the program ends. The
 * app's credential authenticates it, as for the ingestion routes
 * (/api/v1/ingest/app-share/...). */
#ifndef GW_SHARE_H
#define GW_SHARE_H

#include <stdbool.h>

typedef enum {
    GW_SHARE_NONE = 0,
    GW_SHARE_LIST,     /* KIND: the list as JSON on stdout */
    GW_SHARE_GET,      /* equipment-lists:ID: one list as JSON on stdout */
    GW_SHARE_UPLOAD,   /* KIND:FILE: a file (K1-K3), named "name" or FILE's base name */
    GW_SHARE_DOWNLOAD, /* KIND:ID: the bytes to "out" (stdout when NULL) */
    GW_SHARE_DELETE,   /* KIND:ID */
    GW_SHARE_CREATE,   /* equipment-lists:FILE: a list from a JSON file */
    GW_SHARE_EDIT      /* equipment-lists:ID:FILE */
} gw_share_action;

typedef struct {
    gw_share_action action;
    const char *arg;  /* the action's value, as given */
    const char *name; /* --share-name (upload), or NULL */
    bool replace;     /* --share-replace (upload) */
    const char *out;  /* --share-out (download), or NULL */
} gw_share_cmd;

/* Largest file read from disk for an upload or a list (a shared file is at
 * most 10 MB; the server says so for anything larger up to this). */
#define GW_SHARE_FILE_MAX (16u << 20)

/* Run "cmd" against "server" with "credential". Prints the answer (stdout)
 * or why it failed (stderr, a sentence: the server's message when it
 * refused). Returns the exit status: 0 done, 1 a local file that cannot be
 * read or written, 2 a wrong command (as every usage error), 3 the server
 * refused it, 4 the server did not answer. */
int gw_share_run(const gw_share_cmd *cmd, const char *server, const char *credential,
                 const char *cacert, long timeout_ms);

#endif
