#include "json_guard.h"

json_guard_status json_guard(const char *text, size_t len, int max_depth, size_t *at)
{
    int depth = 0;
    size_t i = 0;

    while (i < len) {
        char ch = text[i];
        if (ch == '"') {
            /* Skip the string: an escape takes the next byte with it, so
             * an escaped quote does not end it. */
            i++;
            while (i < len && text[i] != '"') {
                if (text[i] == '\\') {
                    if (i + 5 < len && text[i + 1] == 'u' && text[i + 2] == '0' &&
                        text[i + 3] == '0' && text[i + 4] == '0' && text[i + 5] == '0') {
                        if (at != NULL) {
                            *at = i;
                        }
                        return JSON_GUARD_NUL;
                    }
                    i++;
                }
                i++;
            }
        } else if (ch == '[' || ch == '{') {
            if (++depth > max_depth) {
                if (at != NULL) {
                    *at = i;
                }
                return JSON_GUARD_DEEP;
            }
        } else if ((ch == ']' || ch == '}') && depth > 0) {
            depth--;
        }
        i++;
    }
    return JSON_GUARD_OK;
}

const char *json_guard_message(json_guard_status st)
{
    switch (st) {
    case JSON_GUARD_DEEP:
        return "the JSON nests arrays and objects too deeply";
    case JSON_GUARD_NUL:
        return "a JSON string contains an escaped NUL character (\\u0000)";
    case JSON_GUARD_OK:
        break;
    }
    return "the JSON is acceptable";
}
