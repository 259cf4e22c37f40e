/* server/base/stripes.c: lock stripes made on first use, environment
 * switches read once. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdlib.h>

#include "stripes.h"
#include "t.h"

static pthread_mutex_t t_locks[4];
static stripes t_stripes = STRIPES_OF(t_locks);

static void stripes_slot_modulo_count_and_usable(void)
{
    T_EQ_INT(t_stripes.n, 4);
    T_TRUE(stripe_lock(&t_stripes, 1) == &t_locks[1]);
    T_TRUE(stripe_lock(&t_stripes, 5) == &t_locks[1]);
    T_TRUE(stripe_lock(&t_stripes, 7) == &t_locks[3]);
    for (unsigned i = 0; i < 4; i++) {
        pthread_mutex_t *m = stripe_lock(&t_stripes, i);
        T_EQ_INT(pthread_mutex_lock(m), 0);
        T_EQ_INT(pthread_mutex_unlock(m), 0);
    }
}

static void stripes_switch_off_only_for_zero_and_read_once(void)
{
    env_switch off = ENV_SWITCH("METRON_TEST_SWITCH_A");
    env_switch on = ENV_SWITCH("METRON_TEST_SWITCH_B");
    env_switch unset = ENV_SWITCH("METRON_TEST_SWITCH_UNSET");
    setenv("METRON_TEST_SWITCH_A", "0", 1);
    setenv("METRON_TEST_SWITCH_B", "1", 1);
    unsetenv("METRON_TEST_SWITCH_UNSET");
    T_TRUE(env_switch_off(&off));
    T_TRUE(!env_switch_off(&on));
    T_TRUE(!env_switch_off(&unset));
    /* Read once: a later change of the environment is not seen. */
    setenv("METRON_TEST_SWITCH_A", "1", 1);
    T_TRUE(env_switch_off(&off));
    unsetenv("METRON_TEST_SWITCH_A");
    unsetenv("METRON_TEST_SWITCH_B");
}

void suite_stripes(void)
{
    T_RUN(stripes_slot_modulo_count_and_usable);
    T_RUN(stripes_switch_off_only_for_zero_and_read_once);
}
