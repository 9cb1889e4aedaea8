/* The one clock deadlines are measured on. */
#ifndef REKEY_CLOCK_H
#define REKEY_CLOCK_H

/* CLOCK_MONOTONIC in milliseconds: it never jumps when the wall clock is set. */
long long	rk_clock_ms(void);

#endif
