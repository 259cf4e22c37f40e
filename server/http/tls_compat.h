/* Make CivetWeb's run-time OpenSSL loading work with OpenSSL 3 (see
 * tls/ssl_shim.c). */
#ifndef MTS_TLS_COMPAT_H
#define MTS_TLS_COMPAT_H

/* Load libmetron_ssl_shim.so from the executable's folder (or the path in
 * METRON_SSL_SHIM) before mg_init_library(MG_FEATURES_TLS). Returns 0 when
 * it was loaded, -1 when it was not found (TLS then works only if CivetWeb
 * finds a compatible libssl.so by itself). */
int tls_compat_load(void);

#endif
