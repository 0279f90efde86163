/* ivc: two VMs ping-pong MSGS messages over a shared-memory channel (configs: ivc.dts). One
 * binary for both ends: the doorbell page's ROLE register says which end this is (0 pings, 1
 * answers). Each message carries a sequence number, a payload whose length varies with it and
 * an FNV-1a checksum; the receiver checks all three (and the payload byte by byte against what
 * it must be) and counts a skipped sequence number as lost, anything else wrong as corrupt.
 * Each side sleeps in WFI until the peer's doorbell interrupt (INTID from the INTID register),
 * counting the interrupts it takes.
 *
 * Shared region: mailbox 0 (role 0 -> 1) at +0, mailbox 1 (role 1 -> 0) at +0x8000, each
 * { u32 seq; u32 len; u32 csum; u32 pad; u8 data[MAX_LEN]; }. A sender writes the data, len and
 * csum, then (after a barrier) seq, then rings the doorbell.
 *
 * Output: "ivc: role R channel C size 0x... intid N", "ivc: K messages" every 1000, and
 * "ivc: done 10000 messages, L lost, C corrupt, D doorbells"; "ivc: FAIL ..." on a bad channel. */
#include "guest.h"
#include "ivc.h"

#define MSGS 10000
#define MAX_LEN 509
#define KIND_IRQ_CUR_SPX 5
#define GICD_ISENABLER 0x0100

struct mbox {
	volatile uint32_t seq, len, csum, pad;
	volatile uint8_t data[MAX_LEN];
};

static volatile uint32_t doorbells;
static uint32_t intid;
static unsigned lost, corrupt;

static struct mbox *box(unsigned dir)
{
	return (struct mbox *)(CH_BASE + dir * 0x8000UL);
}

static uint32_t msg_len(uint32_t seq, unsigned dir)
{
	return 1 + (seq * 7919u + dir * 13u) % MAX_LEN;
}

static uint8_t msg_byte(uint32_t seq, unsigned dir, uint32_t j)
{
	return (uint8_t)(seq * 31u + j * 7u + dir * 101u + (j >> 3));
}

static uint32_t fnv(uint32_t h, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		h = (h ^ ((v >> (8 * i)) & 0xff)) * 16777619u;
	return h;
}

/* The checksum of a message as it is in the mailbox: seq, len, then the data. */
static uint32_t checksum(const struct mbox *b, uint32_t seq, uint32_t len)
{
	uint32_t h = fnv(fnv(2166136261u, seq), len);

	for (uint32_t j = 0; j < len; j++)
		h = (h ^ b->data[j]) * 16777619u;
	return h;
}

static void send(unsigned dir, uint32_t seq)
{
	struct mbox *b = box(dir);
	uint32_t len = msg_len(seq, dir);

	for (uint32_t j = 0; j < len; j++)
		b->data[j] = msg_byte(seq, dir, j);
	b->len = len;
	b->csum = checksum(b, seq, len);
	dmb();
	b->seq = seq;
	dsb();
	db_ring();
}

/* Sleeps until mailbox dir's seq is no longer last; returns it. */
static uint32_t wait_change(unsigned dir, uint32_t last)
{
	struct mbox *b = box(dir);
	uint32_t s;

	while ((s = b->seq) == last) {
		irq_mask();
		if (b->seq == last)
			wfi(); /* a pending doorbell ends it even with IRQs masked */
		irq_unmask(); /* the handler counts it */
	}
	dmb();
	return s;
}

/* Checks message seq in mailbox dir (expected: want); counts what is wrong. */
static void check(unsigned dir, uint32_t seq, uint32_t want)
{
	struct mbox *b = box(dir);
	uint32_t len = b->len;
	int bad = 0;

	if (seq != want) {
		if (seq > want)
			lost += seq - want;
		else
			bad = 1;
	}
	if (len != msg_len(seq, dir) || b->csum != checksum(b, seq, len))
		bad = 1;
	for (uint32_t j = 0; !bad && j < len; j++)
		if (b->data[j] != msg_byte(seq, dir, j))
			bad = 1;
	corrupt += (unsigned)bad;
	if (bad && corrupt <= 5)
		printf("ivc: FAIL message %u (want %u) len %u corrupt\n", seq, want, len);
}

static int irq_hook(struct exc_frame *f)
{
	if (f->kind != KIND_IRQ_CUR_SPX)
		return 0;
	for (;;) {
		uint32_t id = gic_ack();

		if (id >= 1020)
			break;
		if (id == intid)
			doorbells++;
		gic_eoi(id);
	}
	return 1;
}

static void gic_setup(void)
{
	uint64_t rd;

	gicd_init();
	rd = gicr_find(read_mpidr());
	if (rd) {
		gicr_wake(rd);
		gicr_init_private(rd);
	}
	gic_cpu_init();
	exc_set_hook(irq_hook);
	/* edge-triggered (ICFGR bit 2n+1), default priority and routing (vCPU 0), enabled */
	uint64_t cfg = GICD_BASE + 0x0C00 + (intid / 16) * 4;
	gic_write32(cfg, gic_read32(cfg) | (2u << (2 * (intid % 16))));
	gic_write32(GICD_BASE + GICD_ISENABLER + (intid / 32) * 4, 1u << (intid % 32));
	irq_unmask();
}

int main(void)
{
	uint32_t role, last = 0;

	if (db_read(DB_MAGIC) != DB_MAGIC_VALUE || db_read(DB_SIZE) != CH_SIZE) {
		printf("ivc: FAIL no channel at 0x%lx (magic 0x%x size 0x%x)\n", CH_BASE,
		       db_read(DB_MAGIC), db_read(DB_SIZE));
		halt();
	}
	role = db_read(DB_ROLE);
	intid = db_read(DB_INTID);
	printf("ivc: role %u channel %u size 0x%x intid %u\n", role, db_read(DB_ID),
	       db_read(DB_SIZE), intid);
	gic_setup();
	for (uint32_t n = 1; n <= MSGS; n++) {
		uint32_t seq;

		if (role == 0) {
			send(0, n);
			seq = wait_change(1, last);
			check(1, seq, n);
		} else {
			seq = wait_change(0, last);
			check(0, seq, n);
			send(1, seq);
		}
		last = seq;
		if (seq > n) /* messages were skipped: carry on from there */
			n = seq;
		if (n % 1000 == 0)
			printf("ivc: %u messages\n", n);
	}
	printf("ivc: done %u messages, %u lost, %u corrupt, %u doorbells\n", MSGS, lost, corrupt,
	       doorbells);
	halt();
}
