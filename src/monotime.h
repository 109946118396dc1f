/* The one monotonic clock of mpop and mpopd: for timeouts, deadlines and
 * durations (never for dates; those come from time()). */
#ifndef MPOP_MONOTIME_H
#define MPOP_MONOTIME_H

/* Milliseconds of CLOCK_MONOTONIC (an arbitrary origin). */
long long monotime_ms(void);

#endif
