/* The production build's table of test-only routes: empty (the test build
 * links http_test_routes.c instead; see there). */
#include "http.h"

const bool http_test_build = false;

const http_route http_routes_test[] = {{NULL, NULL, NULL, AUTH_PUBLIC, BODY_NONE, false}};
