/* C library functions that this executable defines in place of glibc's
 * (server/http/http_libc.c): every shared library that calls them, CivetWeb
 * above all, gets these. localtime() and gmtime() keep one result buffer per
 * thread; localtime(), strftime() and getnameinfo() of a numeric IPv4
 * address answer a repeated call without doing the work again (CivetWeb's
 * access line, made for every request, docs/server-code.md). */
#ifndef METRON_HTTP_LIBC_H
#define METRON_HTTP_LIBC_H

/* Look up glibc's own strftime() and getnameinfo(), which the ones here
 * call for what they do not answer themselves. Called by http_start() (its
 * reference also links this file into the executable); the functions call
 * it themselves too. Thread-safe. */
void http_libc_init(void);

#endif
