/* demo: the guest of the default system (`make run`). Greets with
 * "demo: hello from vCPU 0 (MPIDR 0x...), type a line and press Enter", prints
 * "demo: uptime N s" every 5 s of its virtual counter (N = CNTVCT / CNTFRQ), and echoes each line
 * typed on its console as "demo: you typed '<line>'". Input is polled (PL011 FR.RXFE) between
 * heartbeats; no interrupts. A line ends at \r or \n (empty lines are ignored), Backspace/DEL
 * deletes the last character, other control bytes are dropped, lines stop growing at 120
 * characters. */
#include "guest.h"

#define LINE_MAX 120
#define HEARTBEAT_S 5

static uint64_t frequency(void)
{
	uint64_t f = read_cntfrq() & 0xffffffffu;

	return f ? f : 62500000u; /* as time_ms() does, if CNTFRQ was left at 0 */
}

int main(void)
{
	uint64_t freq = frequency();
	uint64_t next = (read_cntvct() / freq / HEARTBEAT_S + 1) * HEARTBEAT_S;
	char line[LINE_MAX + 1];
	size_t len = 0;

	printf("demo: hello from vCPU %u (MPIDR 0x%lx), type a line and press Enter\n",
	       cpu_index(), read_mpidr());
	for (;;) {
		uint64_t now = read_cntvct() / freq;

		if (now >= next) {
			printf("demo: uptime %lu s\n", now);
			next = (now / HEARTBEAT_S + 1) * HEARTBEAT_S;
		}

		int c = uart_getc();

		if (c < 0)
			continue;
		if (c == '\r' || c == '\n') {
			if (len) {
				line[len] = '\0';
				printf("demo: you typed '%s'\n", line);
				len = 0;
			}
		} else if (c == 0x7f || c == '\b') {
			if (len)
				len--;
		} else if (c >= 0x20 && c < 0x7f && len < LINE_MAX) {
			line[len++] = (char)c;
		}
	}
}
