/* Fuzz target for the instants the operator's API takes
 * (server/base/isotime.c): any bytes give a refusal or an instant from
 * 1970 on whose own text (iso_time_format) parses back to it; never a
 * crash or a read past the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "isotime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy = malloc(size ? size : 1), text[ISO_TIME_LEN];
    int64_t t = 0, back = 0;
    if (copy == NULL) {
        return 0;
    }
    memcpy(copy, data, size); /* exactly "size" bytes: ASan sees any over-read */
    if (iso_time_parse(copy, size, &t) == 0) {
        if (t < 0 || t > 253402300799LL + 86400) {
            abort();
        }
        if (iso_time_format(t, text, sizeof text) == 0 &&
            (iso_time_parse(text, strlen(text), &back) != 0 || back != t)) {
            abort();
        }
    }
    free(copy);
    return 0;
}
