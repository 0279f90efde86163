/* Hypervisor messages on the console, each line tagged "[hyp] ", and panic. */
#ifndef BULKHEAD_LOG_H
#define BULKHEAD_LOG_H

#include <bulkhead/types.h>

/* Prints one line tagged [hyp]; fmt has no trailing newline. */
void log_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Stops every CPU after printing the message: for broken invariants only, never for anything
 * a guest or a configuration can cause. */
/* Writes "[hyp] s" with no locking (panic paths only). */
void console_emergency_line(const char *s);
_Noreturn void panic(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond))                                                   \
			panic("check failed: %s (%s:%d)", #cond, __FILE__,     \
			      __LINE__);                                       \
	} while (0)

#endif
