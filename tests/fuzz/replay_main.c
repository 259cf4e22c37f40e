#define _POSIX_C_SOURCE 200809L
/* Replays saved fuzz inputs through a fuzz target without libFuzzer, so the
 * crashes a fuzzer once found stay fixed in every build (gcc, ASan, ...).
 * Usage: fuzz_<name> DIR_OR_FILE... — every regular file is one input. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf;
    long size;
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        return 1;
    }
    if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return 1;
    }
    buf = malloc((size_t)size + 1);
    if (!buf || fread(buf, 1, (size_t)size, f) != (size_t)size) {
        free(buf);
        fclose(f);
        return 1;
    }
    fclose(f);
    LLVMFuzzerTestOneInput(buf, (size_t)size);
    free(buf);
    return 0;
}

int main(int argc, char **argv)
{
    int i, n_inputs = 0, n_bad = 0;
    for (i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            continue; /* no saved inputs yet for this target */
        }
        if (S_ISDIR(st.st_mode)) {
            DIR *d = opendir(argv[i]);
            struct dirent *ent;
            char path[4096];
            while (d && (ent = readdir(d)) != NULL) {
                if (ent->d_name[0] == '.') {
                    continue;
                }
                snprintf(path, sizeof path, "%s/%s", argv[i], ent->d_name);
                n_bad += run_file(path);
                n_inputs++;
            }
            if (d) {
                closedir(d);
            }
        } else {
            n_bad += run_file(argv[i]);
            n_inputs++;
        }
    }
    printf("%d passed, %d failed\n", n_inputs - n_bad, n_bad);
    return n_bad ? 1 : 0;
}
