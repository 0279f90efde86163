/* Bulkhead test guests: UART, printf, PSCI, counter and exception support. */
#include "guest.h"

/* Set by cpu_start() and read by secondary_entry in start.S (indexed by MPIDR Aff0). */
uint64_t cpu_entry_fn[NR_CPUS];

static inline uint32_t mmio_read32(uint64_t addr)
{
	return *(volatile uint32_t *)addr;
}

static inline void mmio_write32(uint64_t addr, uint32_t v)
{
	*(volatile uint32_t *)addr = v;
}

/* ---- UART ---- */

void uart_putc(char c)
{
	while (mmio_read32(UART_BASE + UARTFR) & UARTFR_TXFF)
		;
	mmio_write32(UART_BASE + UARTDR, (uint8_t)c);
}

int uart_getc(void)
{
	if (mmio_read32(UART_BASE + UARTFR) & UARTFR_RXFE)
		return -1;
	return (int)(mmio_read32(UART_BASE + UARTDR) & 0xff);
}

/* ---- output lock: Lamport's bakery, plain loads and stores only, so it works with the MMU
 * off (Device memory, where exclusives are not guaranteed to work). ---- */

static volatile uint32_t choosing[NR_CPUS];
static volatile uint32_t number[NR_CPUS];

static void out_lock(unsigned me)
{
	uint32_t max = 0;

	choosing[me] = 1;
	dmb();
	for (unsigned j = 0; j < NR_CPUS; j++)
		if (number[j] > max)
			max = number[j];
	number[me] = max + 1;
	dmb();
	choosing[me] = 0;
	dmb();
	for (unsigned j = 0; j < NR_CPUS; j++) {
		if (j == me)
			continue;
		while (choosing[j])
			dmb();
		for (;;) {
			uint32_t nj = number[j];

			dmb();
			if (nj == 0 || nj > number[me] || (nj == number[me] && j > me))
				break;
		}
	}
	dmb();
}

static void out_unlock(unsigned me)
{
	dmb();
	number[me] = 0;
	dmb();
}

/* ---- formatting: vsnprintf and the string functions are the hypervisor's own
 * (hyp/lib/printf.c, hyp/lib/string.c), linked in by guests/guests.mk ---- */

/* Formats the whole message first and writes it under the lock, so lines of different vCPUs
 * never mix. Long messages are cut at 255 characters. */
int printf(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	int n;
	unsigned me = cpu_index();

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	out_lock(me);
	for (const char *s = buf; *s; s++)
		uart_putc(*s);
	out_unlock(me);
	return n;
}

/* ---- PSCI ---- */

int64_t smccc_hvc(uint64_t fn, uint64_t a1, uint64_t a2, uint64_t a3)
{
	register uint64_t x0 __asm__("x0") = fn;
	register uint64_t x1 __asm__("x1") = a1;
	register uint64_t x2 __asm__("x2") = a2;
	register uint64_t x3 __asm__("x3") = a3;

	__asm__ volatile("hvc #0"
			 : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3)
			 :
			 : "x4", "x5", "x6", "x7", "x8", "x9", "x10", "x11", "x12", "x13", "x14",
			   "x15", "x16", "x17", "memory");
	return (int64_t)x0;
}

int64_t psci_version(void)
{
	return smccc_hvc(PSCI_VERSION, 0, 0, 0);
}

int64_t psci_cpu_on(uint64_t target, uint64_t entry, uint64_t context)
{
	return smccc_hvc(PSCI_CPU_ON, target, entry, context);
}

int64_t psci_cpu_off(void)
{
	return smccc_hvc(PSCI_CPU_OFF, 0, 0, 0);
}

int64_t psci_affinity_info(uint64_t target, uint64_t level)
{
	return smccc_hvc(PSCI_AFFINITY_INFO, target, level, 0);
}

int64_t psci_system_off(void)
{
	return smccc_hvc(PSCI_SYSTEM_OFF, 0, 0, 0);
}

int64_t psci_system_reset(void)
{
	return smccc_hvc(PSCI_SYSTEM_RESET, 0, 0, 0);
}

int64_t psci_features(uint64_t fn)
{
	return smccc_hvc(PSCI_FEATURES, fn, 0, 0);
}

extern char secondary_entry[];

int64_t cpu_start(uint64_t target, void (*fn)(uint64_t), uint64_t context)
{
	if ((target & 0xff) < NR_CPUS)
		cpu_entry_fn[target & 0xff] = (uint64_t)(uintptr_t)fn;
	dsb();
	return psci_cpu_on(target, (uint64_t)(uintptr_t)secondary_entry, context);
}

/* ---- system registers and time ---- */

uint64_t read_mpidr(void)
{
	uint64_t v;

	__asm__ volatile("mrs %0, mpidr_el1" : "=r"(v));
	return v;
}

unsigned cpu_index(void)
{
	return (unsigned)(read_mpidr() & 0xff) % NR_CPUS;
}

uint64_t read_cntvct(void)
{
	uint64_t v;

	__asm__ volatile("isb; mrs %0, cntvct_el0" : "=r"(v)::"memory");
	return v;
}

uint64_t read_cntfrq(void)
{
	uint64_t v;

	__asm__ volatile("mrs %0, cntfrq_el0" : "=r"(v));
	return v;
}

static uint64_t counter_freq(void)
{
	uint64_t f = read_cntfrq() & 0xffffffffu;

	return f ? f : 62500000u; /* QEMU virt's frequency, if firmware left CNTFRQ at 0 */
}

uint64_t time_ms(void)
{
	uint64_t f = counter_freq(), c = read_cntvct();

	return c / f * 1000 + c % f * 1000 / f;
}

void delay_ms(uint64_t ms)
{
	uint64_t f = counter_freq();
	uint64_t end = read_cntvct() + ms * (f / 1000) + ms * (f % 1000) / 1000;

	while (read_cntvct() < end)
		;
}

void halt(void)
{
	for (;;)
		__asm__ volatile("wfe");
}

void tick_forever(void)
{
	uint64_t mpidr = read_mpidr();

	for (unsigned long n = 1;; n++) {
		delay_ms(50);
		printf("tick %lu mpidr 0x%lx\n", n, mpidr);
	}
}

/* ---- exceptions ---- */

static exc_hook_t exc_hook;

void exc_set_hook(exc_hook_t hook)
{
	exc_hook = hook;
	dsb();
}

static const char *const exc_kind_names[16] = {
	"sync/cur-sp0",	 "irq/cur-sp0",	 "fiq/cur-sp0",	 "serror/cur-sp0",
	"sync/cur-spx",	 "irq/cur-spx",	 "fiq/cur-spx",	 "serror/cur-spx",
	"sync/lower64",	 "irq/lower64",	 "fiq/lower64",	 "serror/lower64",
	"sync/lower32",	 "irq/lower32",	 "fiq/lower32",	 "serror/lower32",
};

void exc_dispatch(struct exc_frame *f);

void exc_dispatch(struct exc_frame *f)
{
	if (exc_hook && exc_hook(f))
		return;
	printf("exception: unexpected %s esr 0x%lx far 0x%lx elr 0x%lx; vcpu parked\n",
	       exc_kind_names[f->kind & 15], f->esr, f->far, f->elr);
	halt();
}

/* ---- self-checking guests ---- */

unsigned check_count, check_failures;

void check_result(const char *prefix, const char *tag, int ok, const char *fmt, ...)
{
	char what[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	check_count++;
	if (!ok)
		check_failures++;
	printf("%s: %s: %s: %s\n", prefix, tag, what, ok ? "ok" : "FAIL");
}
