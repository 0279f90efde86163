/* Messages for the hypervisor's error codes. */
#include <bulkhead/errno.h>

const char *err_str(int err)
{
	switch (err) {
	case E_OK: return "success";
	case E_NOMEM: return "out of memory";
	case E_INVAL: return "invalid argument";
	case E_OVERLAP: return "overlaps an existing range";
	case E_RANGE: return "out of range";
	case E_ALIGN: return "misaligned";
	case E_BUSY: return "busy";
	case E_NOTFOUND: return "not found";
	case E_FULL: return "table full";
	case E_STATE: return "not allowed in this state";
	}
	return "unknown error";
}
