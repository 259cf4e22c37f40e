/* Room before a remembered reply's text for the headers of the requests
 * that send it (issue 16): the first request to send it writes its headers
 * there, once; every later request whose headers are the same bytes sends
 * them and the text in one write, without a copy of the text
 * (http_reply_json_kept()). The bytes are never written again, so any
 * number of requests may send them at once. A request whose headers differ
 * (a CORS origin, a closing connection) copies the text behind its own. */
#ifndef MTS_REPLY_HEAD_H
#define MTS_REPLY_HEAD_H

#include <stdatomic.h>
#include <stddef.h>

typedef struct {
    atomic_int state; /* REPLY_HEAD_FREE, _WRITING, _WRITTEN */
    size_t len;       /* the headers' bytes right before the text, once written */
    size_t room;      /* bytes before the text that may hold them */
} reply_head;

enum { REPLY_HEAD_FREE, REPLY_HEAD_WRITING, REPLY_HEAD_WRITTEN };

/* Room of "room" bytes, nothing written yet. */
static inline void reply_head_init(reply_head *h, size_t room)
{
    atomic_init(&h->state, REPLY_HEAD_FREE);
    h->len = 0;
    h->room = room;
}

#endif
