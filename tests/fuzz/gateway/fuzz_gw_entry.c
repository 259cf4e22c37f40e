/* Fuzz target: metron-gateway's spool entries (gateway/batch.c), files on
 * disk that a crash, a full disk or a person may damage. An entry that
 * parses becomes a batch against a fixed channel table. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "reply.h"

static const char table_json[] =
    "{\"app_id\":7,\"devices\":["
    "{\"id\":3,\"model\":\"LR8450\",\"serial\":\"S-1\",\"channels\":["
    "{\"id\":31,\"key\":\"CH1_1\",\"name\":\"T\",\"unit\":\"C\",\"selected\":true},"
    "{\"id\":32,\"key\":\"CH1_2\",\"name\":\"V\",\"unit\":\"V\",\"selected\":false}]}]}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static gw_table tab;
    static int ready;
    gw_entry e;
    char err[200];
    if (!ready) {
        if (gw_table_parse(table_json, sizeof table_json - 1, &tab, err, sizeof err) != 0) {
            abort();
        }
        ready = 1;
    }
    memset(&e, 0, sizeof e);
    if (gw_entry_parse((const char *)data, size, &e, err, sizeof err) == 0) {
        size_t len = 0, n = 0, unknown = 0;
        char *body = gw_entry_body(&e, &tab, &len, &n, &unknown);
        if (body != NULL && (strlen(body) != len || n == 0)) {
            abort();
        }
        free(body);
    }
    gw_entry_clear(&e);
    return 0;
}
