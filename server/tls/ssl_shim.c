/* libmetron_ssl_shim.so: lets Debian 12's CivetWeb 1.15 use OpenSSL 3.
 *
 * That CivetWeb loads OpenSSL at run time (dlopen("libssl.so") + dlsym) and
 * asks for SSL_get_peer_certificate, which OpenSSL 3 no longer exports (it
 * became a macro for SSL_get1_peer_certificate), so mg_init_library() fails
 * to enable TLS. This library's soname is "libssl.so" and it depends on the
 * real libssl.so.3: loaded by the server before CivetWeb (tls_compat.c), it
 * is what dlopen("libssl.so") returns, and dlsym() finds every SSL_* symbol
 * through its dependency plus the one missing function here. */
#include <openssl/ssl.h>

#undef SSL_get_peer_certificate
X509 *SSL_get_peer_certificate(const SSL *s);

X509 *SSL_get_peer_certificate(const SSL *s)
{
    return SSL_get1_peer_certificate(s);
}
