#define _DEFAULT_SOURCE
#include "tls_compat.h"

#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

int tls_compat_load(void)
{
    char path[PATH_MAX];
    const char *env = getenv("METRON_SSL_SHIM");
    if (env != NULL && env[0] != '\0') {
        snprintf(path, sizeof path, "%s", env);
    } else {
        ssize_t n = readlink("/proc/self/exe", path, sizeof path - 32);
        char *slash;
        if (n <= 0) {
            return -1;
        }
        path[n] = '\0';
        slash = strrchr(path, '/');
        if (slash == NULL) {
            return -1;
        }
        strcpy(slash + 1, "libmetron_ssl_shim.so");
    }
    /* RTLD_GLOBAL: the shim must stay loaded and be found by soname. */
    if (dlopen(path, RTLD_NOW | RTLD_GLOBAL) == NULL) {
        log_warn("tls: cannot load %s: %s", path, dlerror());
        return -1;
    }
    return 0;
}
