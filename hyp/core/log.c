/* Hypervisor console lines and panic. */
#include <bulkhead/arch.h>
#include <bulkhead/console.h>
#include <bulkhead/log.h>
#include <bulkhead/pcpu.h>
#include <bulkhead/string.h>

void log_line(const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	console_write("hyp", buf, (u32)MIN(n, (int)sizeof(buf) - 1), false);
}

_Noreturn void panic(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	int n = snprintf(buf, sizeof(buf), "PANIC on CPU %u: ", this_pcpu()->id);

	va_start(ap, fmt);
	vsnprintf(buf + n, sizeof(buf) - (size_t)n, fmt, ap);
	va_end(ap);
	console_emergency_line(buf);
	console_emergency_line("all CPUs stopped");
	arch_halt_others();
	arch_halt();
}
