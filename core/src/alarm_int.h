/* Metron core (private): what alarm_text.c and alarm.c share. */
#ifndef MT_ALARM_INT_H
#define MT_ALARM_INT_H

#include "mt/alarm.h"

/* The condition of "c" as "v >= *hi or v <= *lo" for finite v, with the
 * thresholds moved by "hyst" (>= 0) toward the safe side. */
void mt__alarm_thresholds(const mt_alarm_cond *c, double hyst, double *lo, double *hi);

#endif
