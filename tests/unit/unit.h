/* A very small unit test framework: TEST() registers a function, CHECK*() record failures
 * with file and line, and main() prints "N passed, N failed". */
#ifndef UNIT_H
#define UNIT_H

#include <inttypes.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

struct unit_test {
	const char *name;
	void (*fn)(void);
	struct unit_test *next;
};

void unit_register(struct unit_test *t);
void unit_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Reads UNIT_CONFIG_DIR/name into a heap buffer of exactly its size (so ASan sees overreads);
 * NULL (and a test failure) if it cannot. The caller frees it. */
uint8_t *unit_load(const char *name, size_t *len);

/* Runs a shell command built like printf; returns its exit status (or -1). */
int unit_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define TEST(name)                                                             \
	static void name(void);                                                \
	static struct unit_test unit_##name = { #name, name, 0 };              \
	__attribute__((constructor)) static void unit_reg_##name(void)         \
	{                                                                      \
		unit_register(&unit_##name);                                   \
	}                                                                      \
	static void name(void)

#define CHECK(c)                                                               \
	do {                                                                   \
		if (!(c))                                                      \
			unit_fail(__FILE__, __LINE__, "CHECK(%s)", #c);        \
	} while (0)

#define CHECK_EQ(a, b)                                                         \
	do {                                                                   \
		uint64_t a_ = (uint64_t)(a), b_ = (uint64_t)(b);               \
		if (a_ != b_)                                                  \
			unit_fail(__FILE__, __LINE__,                          \
				  "%s == %s: 0x%" PRIx64 " != 0x%" PRIx64, #a, \
				  #b, a_, b_);                                 \
	} while (0)

#define CHECK_STR(a, b)                                                        \
	do {                                                                   \
		const char *a_ = (a), *b_ = (b);                               \
		if (!a_ || !b_ || strcmp(a_, b_) != 0)                         \
			unit_fail(__FILE__, __LINE__, "%s == %s: \"%s\" != \"%s\"", \
				  #a, #b, a_ ? a_ : "(null)", b_ ? b_ : "(null)"); \
	} while (0)

/* True if the haystack contains needle (for asserting on error messages). */
#define CHECK_CONTAINS(hay, needle)                                            \
	do {                                                                   \
		const char *h_ = (hay), *n_ = (needle);                        \
		if (!h_ || !strstr(h_, n_))                                    \
			unit_fail(__FILE__, __LINE__, "\"%s\" contains \"%s\"", \
				  h_ ? h_ : "(null)", n_);                      \
	} while (0)

#endif
