/* Fuzz target for the HIOKI text-export reader: any input must give MT_OK
 * with consistent results, or an error with a position inside the input;
 * never a crash, hang or leak. The first byte picks the options. */
#include <stdint.h>
#include <stdlib.h>

#include "mt/csv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mt_csv_options opt;
    mt_csv *c = NULL;
    mt_error err;
    mt_status st;
    size_t i, r;
    if (size == 0) {
        return 0;
    }
    opt.utc_offset_minutes = (int)(data[0] % 37) * 60 - 18 * 60;
    opt.max_channels = data[0] & 0x80 ? 3 : 0;
    st = mt_csv_read((const char *)data + 1, size - 1, &opt, &c, &err);
    if (st != MT_OK) {
        if (c != NULL || err.code != st || err.pos > size - 1 || err.line == 0 || err.col == 0) {
            abort();
        }
        return 0;
    }
    {
        const mt_csv_meta *m = mt_csv_meta_of(c);
        size_t n_rows = mt_csv_row_count(c), n_ch = mt_csv_channel_count(c);
        const mt_time *t = mt_csv_times(c);
        volatile double sum = 0;
        if (n_ch == 0 || !m->file_name || !m->title || (n_rows > 0 && !t)) {
            abort();
        }
        for (r = 1; r < n_rows; r++) {
            if (t[r] < t[r - 1]) {
                abort();
            }
        }
        for (i = 0; i < n_ch; i++) {
            const mt_csv_channel *ch = mt_csv_channel_at(c, i);
            const double *v = mt_csv_values(c, i);
            if (!ch || !ch->name || !ch->unit || (n_rows > 0 && !v)) {
                abort();
            }
            for (r = 0; r < n_rows; r++) {
                sum += v[r];
            }
        }
        (void)sum;
    }
    mt_csv_free(c);
    return 0;
}
