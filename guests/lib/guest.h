/* Bulkhead test guests: the tiny bare-metal runtime (guests/lib). Runs at EL1 with the MMU off,
 * under Bulkhead (RAM at IPA 0x40000000) or directly on QEMU virt. */
#ifndef GUEST_H
#define GUEST_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#define NR_CPUS 4

/* PL011 UART (QEMU virt and the Bulkhead default). */
#define UART_BASE 0x09000000UL
#define UARTDR 0x000
#define UARTFR 0x018
#define UARTFR_RXFE (1u << 4)
#define UARTFR_TXFF (1u << 5)

/* PSCI function ids (SMCCC, called with HVC #0). */
#define PSCI_VERSION 0x84000000u
#define PSCI_CPU_OFF 0x84000002u
#define PSCI_CPU_ON 0xC4000003u
#define PSCI_AFFINITY_INFO 0xC4000004u
#define PSCI_SYSTEM_OFF 0x84000008u
#define PSCI_SYSTEM_RESET 0x84000009u
#define PSCI_FEATURES 0x8400000Au

/* PSCI return values. */
#define PSCI_SUCCESS 0
#define PSCI_NOT_SUPPORTED (-1)
#define PSCI_INVALID_PARAMETERS (-2)
#define PSCI_DENIED (-3)
#define PSCI_ALREADY_ON (-4)
#define PSCI_ON_PENDING (-5)
#define PSCI_INTERNAL_FAILURE (-6)

/* AFFINITY_INFO states. */
#define AFF_ON 0
#define AFF_OFF 1
#define AFF_ON_PENDING 2

/* Exception frame saved by the vectors in start.S (layout fixed there). */
struct exc_frame {
	uint64_t x[31];
	uint64_t elr;
	uint64_t spsr;
	uint64_t esr;
	uint64_t far;
	uint64_t kind; /* vector index 0..15: 4 = synchronous, current EL with SP_ELx */
};

#define EXC_SYNC_CUR_SPX 4

/* A hook returns nonzero if it handled the exception (it may change f->elr, e.g. += 4 to skip
 * the faulting instruction); otherwise the runtime prints the exception and parks the vCPU. */
typedef int (*exc_hook_t)(struct exc_frame *f);
void exc_set_hook(exc_hook_t hook);

/* ESR_EL1 fields. */
#define ESR_EC(esr) (((esr) >> 26) & 0x3f)
#define ESR_DFSC(esr) ((esr) & 0x3f)
#define ESR_WNR (1u << 6)

/* Output (lines are written whole under a lock shared by all vCPUs). */
void uart_putc(char c);
int uart_getc(void); /* -1 if nothing received */
int printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* PSCI and SMCCC. */
int64_t smccc_hvc(uint64_t fn, uint64_t a1, uint64_t a2, uint64_t a3);
int64_t psci_version(void);
int64_t psci_cpu_on(uint64_t target, uint64_t entry, uint64_t context);
int64_t psci_cpu_off(void);
int64_t psci_affinity_info(uint64_t target, uint64_t level);
int64_t psci_system_off(void);
int64_t psci_system_reset(void);
int64_t psci_features(uint64_t fn);
/* CPU_ON(target) with entry secondary_entry: the new vCPU gets its own stack and vectors and
 * calls fn(context); when fn returns the vCPU calls CPU_OFF. */
int64_t cpu_start(uint64_t target, void (*fn)(uint64_t), uint64_t context);

/* System registers and time. */
uint64_t read_mpidr(void);
unsigned cpu_index(void); /* MPIDR Aff0 */
uint64_t read_cntvct(void);
uint64_t read_cntfrq(void);
uint64_t time_ms(void); /* milliseconds since the counter's zero */
void delay_ms(uint64_t ms);

/* Barriers. */
#define dmb() __asm__ volatile("dmb ish" ::: "memory")
#define dsb() __asm__ volatile("dsb ish" ::: "memory")
#define sev() __asm__ volatile("sev" ::: "memory")

/* Parks the calling vCPU forever (no exits besides WFE, if the hypervisor traps it). */
__attribute__((noreturn)) void halt(void);

/* Prints "tick N mpidr 0x..." every 50 ms forever, N counting from 1. */
__attribute__((noreturn)) void tick_forever(void);

void *memset(void *s, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
void *memmove(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);

int main(void);

/* Guests that check themselves: one line "prefix: tag: what: ok|FAIL" per check, counted. */
extern unsigned check_count, check_failures;
void check_result(const char *prefix, const char *tag, int ok, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif
