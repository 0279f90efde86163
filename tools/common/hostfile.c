/* Configuration files for the host-side tools (hostfile.h). */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hostfile.h"

int host_read_file(const char *path, uint8_t **data, uint64_t *size)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (!f)
		return -1;
	do {
		if (len == cap) {
			uint8_t *nb = realloc(buf, cap = cap ? 2 * cap : 65536);

			if (!nb) {
				free(buf);
				fclose(f);
				errno = ENOMEM;
				return -1;
			}
			buf = nb;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
	} while (n > 0);
	if (ferror(f)) {
		free(buf);
		fclose(f);
		errno = EIO;
		return -1;
	}
	fclose(f);
	*data = buf;
	*size = len;
	return 0;
}

enum host_dtc host_compile_dts(const char *prog, const char *path, uint8_t **dtb,
			       uint64_t *size)
{
	const char *tmpdir = getenv("TMPDIR");
	char tmp[4096];
	int fd, ws;
	pid_t pid;

	snprintf(tmp, sizeof(tmp), "%s/%s-XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp", prog);
	fd = mkstemp(tmp);
	if (fd < 0) {
		fprintf(stderr, "%s: cannot create a temporary file: %s\n", prog, strerror(errno));
		return HOST_DTC_FAILED;
	}
	close(fd);
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		/* -q: the tools' own parser gives the meaningful messages; dtc's errors still show */
		execlp("dtc", "dtc", "-q", "-I", "dts", "-O", "dtb", "-o", tmp, path, (char *)NULL);
		fprintf(stderr, "%s: cannot run dtc: %s\n", prog, strerror(errno));
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &ws, 0) < 0) {
		fprintf(stderr, "%s: cannot run dtc: %s\n", prog, strerror(errno));
		unlink(tmp);
		return HOST_DTC_FAILED;
	}
	if (!WIFEXITED(ws) || WEXITSTATUS(ws) != 0) {
		unlink(tmp);
		if (WIFEXITED(ws) && WEXITSTATUS(ws) == 127)
			return HOST_DTC_FAILED;
		fprintf(stderr, "%s: dtc failed to compile the configuration\n", path);
		return HOST_DTC_REFUSED;
	}
	fd = host_read_file(tmp, dtb, size);
	unlink(tmp);
	if (fd < 0) {
		fprintf(stderr, "%s: cannot read dtc's output: %s\n", prog, strerror(errno));
		return HOST_DTC_FAILED;
	}
	return HOST_DTC_OK;
}
