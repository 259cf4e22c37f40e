/* Routes of data (filled in by its issue #4 work; see docs/api/openapi.yaml). */
#include "http.h"

const http_route http_routes_data[] = {{NULL}};
