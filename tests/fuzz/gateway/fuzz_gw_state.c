/* Fuzz target: metron-gateway's state file (gateway/state.c), which a person
 * may edit by hand. Whatever parses must print and parse back the same. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    gw_state a, b;
    char err[300], *text;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    if (gw_state_parse((const char *)data, size, &a, err, sizeof err) == 0) {
        text = gw_state_print(&a);
        if (text != NULL) {
            if (gw_state_parse(text, strlen(text), &b, err, sizeof err) != 0 ||
                b.n_ins != a.n_ins || b.seed != a.seed || strcmp(b.tag, a.tag) != 0) {
                abort();
            }
            free(text);
        }
    }
    gw_state_clear(&a);
    gw_state_clear(&b);
    return 0;
}
