/* Fuzz target for the HOK and HOK2 readers (one entry: the header's version
 * picks the format). Every reader call must fail cleanly or succeed, and
 * whatever it reads must be safe to use. */
#include <stdint.h>
#include <stdlib.h>

#include "mt/hok.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mt_hok *h = NULL;
    mt_error err;
    uint64_t rows, row;
    size_t n_ch, ch, n, nb;
    mt_time *t = NULL;
    double *v = NULL;
    mt_bucket buckets[16];
    if (mt_hok_open(data, size, &h, &err) != MT_OK) {
        return 0;
    }
    rows = mt_hok_row_count(h);
    n_ch = mt_hok_channel_count(h);
    /* Compressed rows can outnumber input bytes; cap the work per input. */
    n = rows < 100000 ? (size_t)rows : 100000;
    t = malloc((n + 1) * sizeof *t);
    v = malloc((n + 1) * sizeof *v);
    if (t && v) {
        if (mt_hok_read_times(h, 0, n, t, &err) == MT_OK && n > 0) {
            if (mt_hok_seek_time(h, t[n / 2], &row, &err) == MT_OK && row > rows) {
                abort();
            }
            for (ch = 0; ch < n_ch && ch < 4; ch++) {
                if (mt_hok_read_values(h, ch, 0, n, v, &err) == MT_OK && t[0] < t[n - 1]) {
                    if (mt_hok_decimate(h, ch, t[0], t[n - 1], 16, buckets, NULL, &err) !=
                        MT_OK) {
                        continue;
                    }
                }
            }
        }
    }
    nb = mt_hok_block_count(h);
    if (nb > 0 && n_ch > 0) {
        size_t got;
        if (mt_hok_decode_block(h, n_ch - 1, nb - 1, NULL, NULL, 0, &got, &err) != MT_ENOSPACE &&
            got > 0) {
            abort();
        }
    }
    if (mt_hok_verify(h, &err) != MT_OK) {
        /* fine: corruption is found */
    }
    free(t);
    free(v);
    mt_hok_close(h);
    return 0;
}
