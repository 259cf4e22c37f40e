/* Fuzz target: the certificate signing requests apps send to Metron's CA
 * (server/base/mqtt_ca.c, POST /api/v1/ingest/certificate). The input is
 * the PEM text; whatever is issued must verify as a certificate of the CA. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mqtt_ca.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char *ca, *ca_key;
    char *cert = NULL, err[240];
    mqtt_cert_info info;
    if (ca == NULL && mqtt_ca_create(1796400000LL, 3650, &ca, &ca_key, err, sizeof err) != 0) {
        abort();
    }
    if (mqtt_ca_issue(ca, ca_key, (const char *)data, size, "app-1", NULL, 1796400000LL, 90,
                      &cert, NULL, &info, err, sizeof err) == 0) {
        mqtt_cert_info again;
        if (mqtt_ca_cert_info(cert, &again, err, sizeof err) != 0 ||
            strcmp(again.serial, info.serial) != 0) {
            abort();
        }
        free(cert);
    }
    return 0;
}
