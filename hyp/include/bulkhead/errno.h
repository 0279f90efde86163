/* One set of error codes for the whole hypervisor, with a message for each. */
#ifndef BULKHEAD_ERRNO_H
#define BULKHEAD_ERRNO_H

enum {
	E_OK = 0,
	E_NOMEM = -1,   /* out of memory */
	E_INVAL = -2,   /* invalid argument */
	E_OVERLAP = -3, /* range overlaps an existing one */
	E_RANGE = -4,   /* outside the allowed range */
	E_ALIGN = -5,   /* misaligned address or size */
	E_BUSY = -6,    /* resource in use / wrong state */
	E_NOTFOUND = -7,
	E_FULL = -8,  /* a fixed-size table is full */
	E_STATE = -9, /* not allowed in the current state */
};

const char *err_str(int err);

#endif
