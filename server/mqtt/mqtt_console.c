/* The console's relay (see mqtt_console.h). */
#define _POSIX_C_SOURCE 200809L
#include "mqtt_console.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "console_msg.h"
#include "log.h"
#include "mqtt_bridge.h"

typedef struct {
    int watchers;         /* 0 = free */
    long long app_id;
    char model[33];
    char serial[65];
    uint64_t screen_seq, answer_seq;
    char *screen;         /* JSON text of the last screen, or NULL */
    char *answer;         /* JSON text of the last answer, or NULL */
} slot_t;

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    slot_t slot[MQTT_CONSOLE_SLOTS];
    uint64_t wakes;
} H = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

int mqtt_console_watch(long long app_id, const char *model, const char *serial)
{
    int found = -1, free_slot = -1;
    pthread_mutex_lock(&H.mu);
    for (int i = 0; i < MQTT_CONSOLE_SLOTS && found < 0; i++) {
        slot_t *s = &H.slot[i];
        if (s->watchers > 0 && s->app_id == app_id && strcmp(s->model, model) == 0 &&
            strcmp(s->serial, serial) == 0) {
            found = i;
        } else if (s->watchers == 0 && free_slot < 0) {
            free_slot = i;
        }
    }
    if (found < 0 && free_slot >= 0) {
        slot_t *s = &H.slot[free_slot];
        memset(s, 0, sizeof *s);
        s->app_id = app_id;
        snprintf(s->model, sizeof s->model, "%s", model);
        snprintf(s->serial, sizeof s->serial, "%s", serial);
        found = free_slot;
    }
    if (found >= 0) {
        H.slot[found].watchers++;
    }
    pthread_mutex_unlock(&H.mu);
    return found;
}

void mqtt_console_unwatch(int slot)
{
    if (slot < 0 || slot >= MQTT_CONSOLE_SLOTS) {
        return;
    }
    pthread_mutex_lock(&H.mu);
    if (H.slot[slot].watchers > 0 && --H.slot[slot].watchers == 0) {
        free(H.slot[slot].screen);
        free(H.slot[slot].answer);
        memset(&H.slot[slot], 0, sizeof H.slot[slot]);
    }
    pthread_mutex_unlock(&H.mu);
}

bool mqtt_console_wait(int slot, uint64_t *screen_seq, char **screen, uint64_t *answer_seq,
                       char **answer, int timeout_ms)
{
    struct timespec ts;
    slot_t *s = &H.slot[slot];
    bool got = false;
    uint64_t wakes;
    *screen = NULL;
    *answer = NULL;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += timeout_ms / 1000;
    ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&H.mu);
    wakes = H.wakes;
    while (s->screen_seq == *screen_seq && s->answer_seq == *answer_seq && H.wakes == wakes) {
        if (pthread_cond_timedwait(&H.cv, &H.mu, &ts) != 0) {
            break;
        }
    }
    /* The answer first: a stream sends it before the screen it changed. */
    if (s->answer_seq != *answer_seq && s->answer != NULL) {
        *answer = strdup(s->answer);
        *answer_seq = s->answer_seq;
        got = true;
    }
    if (s->screen_seq != *screen_seq && s->screen != NULL) {
        *screen = strdup(s->screen);
        *screen_seq = s->screen_seq;
        got = true;
    }
    pthread_mutex_unlock(&H.mu);
    return got;
}

void mqtt_console_wake(void)
{
    pthread_mutex_lock(&H.mu);
    H.wakes++;
    pthread_cond_broadcast(&H.cv);
    pthread_mutex_unlock(&H.mu);
}

void mqtt_console_take(long long app_id, const char *payload, size_t len)
{
    console_msg *m = malloc(sizeof *m);
    char err[200], *screen = NULL, *answer = NULL;
    cJSON *o;
    int hit = -1;
    if (m == NULL) {
        return;
    }
    if (console_msg_parse(payload, len, m, err, sizeof err) != 0) {
        log_warn("mqtt: a console message of app %lld is refused: %s", app_id, err);
        free(m);
        return;
    }
    pthread_mutex_lock(&H.mu);
    for (int i = 0; i < MQTT_CONSOLE_SLOTS && hit < 0; i++) {
        if (H.slot[i].watchers > 0 && H.slot[i].app_id == app_id &&
            strcmp(H.slot[i].model, m->model) == 0 && strcmp(H.slot[i].serial, m->serial) == 0) {
            hit = i;
        }
    }
    pthread_mutex_unlock(&H.mu);
    if (hit < 0) {
        free(m); /* no stream of this process watches it */
        return;
    }
    o = console_msg_screen_json(m);
    screen = o != NULL ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    o = console_msg_answer_json(m);
    answer = o != NULL ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    pthread_mutex_lock(&H.mu);
    /* The slot may have changed hands while unlocked: check it again. */
    if (H.slot[hit].watchers > 0 && H.slot[hit].app_id == app_id &&
        strcmp(H.slot[hit].model, m->model) == 0 && strcmp(H.slot[hit].serial, m->serial) == 0) {
        if (screen != NULL) {
            free(H.slot[hit].screen);
            H.slot[hit].screen = screen;
            H.slot[hit].screen_seq++;
            screen = NULL;
        }
        if (answer != NULL) {
            free(H.slot[hit].answer);
            H.slot[hit].answer = answer;
            H.slot[hit].answer_seq++;
            answer = NULL;
        }
        pthread_cond_broadcast(&H.cv);
    }
    pthread_mutex_unlock(&H.mu);
    free(screen);
    free(answer);
    free(m);
}
