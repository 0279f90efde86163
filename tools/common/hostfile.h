/* What the host-side tools (bhpack on the build machine, bhctl in the management VM) both do
 * with configuration files: read a whole file, and compile a .dts with dtc. */
#ifndef TOOLS_HOSTFILE_H
#define TOOLS_HOSTFILE_H

#include <stdint.h>

/* Reads a whole file into a malloc'd buffer. Returns 0, or -1 with errno set. */
int host_read_file(const char *path, uint8_t **data, uint64_t *size);

enum host_dtc {
	HOST_DTC_OK = 0,
	HOST_DTC_REFUSED = 1, /* dtc ran and refused the source (its messages are shown) */
	HOST_DTC_FAILED = 2,  /* dtc could not run, or its output not be read (said why) */
};

/* Runs dtc on the .dts at path into a temporary file and reads the blob; prog names the
 * calling tool in messages. */
enum host_dtc host_compile_dts(const char *prog, const char *path, uint8_t **dtb,
			       uint64_t *size);

#endif
