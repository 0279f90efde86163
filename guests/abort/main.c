/* abort: reads from IPA 0x20000000 (neither RAM nor a device of the VM) and writes to the first
 * address past its 16 MiB of RAM. Each fault is reported by the synchronous exception hook as
 * "abort: esr 0x... far 0x..." and skipped (ELR += 4). Then prints "abort: done" and ticks like
 * the ticker guest, to show it survived. */
#include "guest.h"

#define HOLE_ADDR 0x20000000UL
#define PAST_RAM_ADDR (0x40000000UL + 16 * 1024 * 1024)

static volatile unsigned faults;

static int abort_hook(struct exc_frame *f)
{
	if (f->kind != EXC_SYNC_CUR_SPX)
		return 0;
	printf("abort: esr 0x%lx far 0x%lx\n", f->esr, f->far);
	faults++;
	f->elr += 4;
	return 1;
}

int main(void)
{
	exc_set_hook(abort_hook);

	unsigned before = faults;
	printf("abort: read 0x%lx\n", HOLE_ADDR);
	uint32_t v = *(volatile uint32_t *)HOLE_ADDR;
	if (faults == before)
		printf("abort: no fault on read of 0x%lx (value 0x%x)\n", HOLE_ADDR, v);

	before = faults;
	printf("abort: write 0x%lx\n", PAST_RAM_ADDR);
	*(volatile uint32_t *)PAST_RAM_ADDR = 0x5a5a5a5a;
	if (faults == before)
		printf("abort: no fault on write of 0x%lx\n", PAST_RAM_ADDR);

	printf("abort: done (%u faults)\n", faults);
	tick_forever();
}
