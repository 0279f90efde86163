/* Runs every registered unit test and prints the pass/fail count. */
#include <stdarg.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "unit.h"

static struct unit_test *head, **tail = &head;
static int current_failed;

void unit_register(struct unit_test *t)
{
	*tail = t;
	tail = &t->next;
}

void unit_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	printf("    %s:%d: ", file, line);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	current_failed = 1;
}

#ifndef UNIT_CONFIG_DIR
#define UNIT_CONFIG_DIR "build/unit/configs"
#endif

uint8_t *unit_load(const char *name, size_t *len)
{
	char path[512];
	FILE *f;
	long n;
	uint8_t *buf;

	snprintf(path, sizeof(path), "%s/%s", UNIT_CONFIG_DIR, name);
	f = fopen(path, "rb");
	if (!f) {
		unit_fail(__FILE__, __LINE__, "cannot open %s (run `make unit` from the repo root)",
			  path);
		return NULL;
	}
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	*len = (size_t)n;
	return buf;
}

int unit_sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = system(cmd);
	return st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int main(int argc, char **argv)
{
	int passed = 0, failed = 0;

	for (struct unit_test *t = head; t; t = t->next) {
		if (argc > 1 && !strstr(t->name, argv[1]))
			continue;
		current_failed = 0;
		t->fn();
		printf("%s %s\n", current_failed ? "FAIL" : "ok  ", t->name);
		if (current_failed)
			failed++;
		else
			passed++;
	}
	printf("unit: %d passed, %d failed\n", passed, failed);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
