/* nethostile: a guest that attacks its virtio-net port and virtio-blk disk while Linux VMs share
 * its switch (tests/integration/test_hostile_net.py, configs/hostile_net.dts). Devices: slot 0 the
 * attacking port, slot 1 a witness port on the same switch, slot 2 a disk; a channel to net-a.
 *
 * vCPU 0 runs rounds of attacks, for ever. Each round, on the attacking port:
 *   good        a frame to the witness arrives whole
 *   spoofed     frames with another source MAC (net-a's, the witness's, made up), unicast to the
 *               witness and to net-b, and broadcast (EtherType 0x88b5): the witness gets none
 *   sizes       frames of 0 bytes, the header only, 13, 1515 and 70000 bytes: each used, none
 *               delivered, no reset
 *   tx-*, rx-*  broken transmit / receive rings (a loop, a buffer outside RAM, a buffer across
 *               the end of RAM, a huge length, the index 1000 ahead, a head out of range): the
 *               device needs a reset (rx: when the witness sends it a frame); then reset,
 *               set up again, and a good frame gets through ("-recovered")
 *   blk-loop    a looping chain on the disk: needs reset, then a good read
 *   flood       1000 broadcast frames, all used: the switch's storm control lets some reach the
 *               witness (its burst of 64 and 1000 a second), not all
 * Round 1 prints one line per check ("nethostile: <tag>: <what>: ok|FAIL") and
 * "nethostile: done N checks, F failures"; later rounds print only a summary, at most one line
 * every 3 s, "nethostile: round R: needs-reset X/Y, spoofed S leaked L, flood D/N, failures F",
 * and any failure (the first 10).
 * vCPU 1 (the same physical CPU) writes QueueNotify of every queue and rings the channel's
 * doorbell in a tight loop, for ever, printing its count at most every 3 s. */
#include "vnet.h"
#include "../ivc/ivc.h"

#define RXQ 0
#define TXQ 1
#define NOT_RAM 0x30000000UL
#define RAM_END 0x41000000UL
#define BUF 2048
#define ETH_SPOOF 0x88b5
#define ETH_JUNK 0x0800 /* IPv4 with version 0: Linux drops it as a bad header */
#define FLOOD 1000
#define SPOOFS 64 /* per kind per round */

static struct vdev port = { .base = 0x0a000000, .nq = 2 };
static struct vdev witness = { .base = 0x0a000200, .nq = 2 };
static struct vdev disk = { .base = 0x0a000400, .nq = 1 };

static uint8_t txbuf[VQ_SIZE][BUF] __attribute__((aligned(64)));
static uint8_t rxbuf[VQ_SIZE][BUF] __attribute__((aligned(64)));  /* the attacking port's */
static uint8_t wrxbuf[VQ_SIZE][BUF] __attribute__((aligned(64))); /* the witness's */
static uint8_t wtxbuf[BUF] __attribute__((aligned(64)));
static uint8_t bigbuf[VNET_HDR + 70000] __attribute__((aligned(64)));
static uint8_t blk_hdr[16], blk_data[512];
static volatile uint8_t blk_status;

static uint8_t mac0[6], mac1[6];
static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t net_a[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x01 };
static const uint8_t net_b[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x02 };
static const uint8_t madeup[6] = { 0x02, 0x66, 0x66, 0x66, 0x66, 0x66 };

static uint32_t round_no, seq, fails_printed;
static uint32_t resets, resets_expected, spoofed, flood_got, flood_others;
static uint32_t round_failures, total_failures;
/* what the witness saw: the last good sequence number, and anything that must not arrive */
static uint32_t w_last_seq, w_leaked, w_flood, w_other;

static void check(const char *tag, int ok, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void check(const char *tag, int ok, const char *fmt, ...)
{
	char what[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (!ok) {
		round_failures++;
		total_failures++;
	}
	if (round_no == 1)
		check_result("nethostile", tag, ok, "%s", what);
	else if (!ok && fails_printed++ < 10)
		printf("nethostile: round %u: %s: %s: FAIL\n", round_no, tag, what);
}

/* A frame in buf after the virtio-net header: dst, src, type, then version-0 junk, "BHNH", seq,
 * and a pattern; returns the header + frame length. */
static uint32_t frame(uint8_t *buf, const uint8_t *dst, const uint8_t *src, uint16_t type,
		      uint32_t s, uint32_t len)
{
	uint8_t *f = buf + VNET_HDR;

	memset(buf, 0, VNET_HDR);
	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	f[12] = (uint8_t)(type >> 8);
	f[13] = (uint8_t)type;
	for (uint32_t i = 14; i < len && i < BUF - VNET_HDR; i++)
		f[i] = (uint8_t)i;
	if (len >= 27) {
		f[14] = 0;
		memcpy(f + 15, "BHNH", 4);
		memcpy(f + 19, &s, 4);
	}
	return VNET_HDR + len;
}

static void post_rx(struct vdev *d, uint8_t (*bufs)[BUF])
{
	for (uint16_t i = 0; i < VQ_SIZE; i++) {
		vd_desc(d, RXQ, i, bufs[i], BUF, D_WRITE, 0);
		vd_post(d, RXQ, i);
	}
}

/* Takes everything the witness received, classifies it and gives the buffers back. */
static void witness_drain(void)
{
	uint32_t id, len, s;

	while (vd_used(&witness, RXQ, &id, &len)) {
		const uint8_t *f = wrxbuf[id % VQ_SIZE] + VNET_HDR;
		uint16_t type = (uint16_t)(f[12] << 8 | f[13]);

		if (len == 0 || type == ETH_SPOOF) {
			w_leaked++; /* a spoofed or oversized frame got through */
		} else if (type == ETH_JUNK && len >= VNET_HDR + 27 && !memcmp(f + 15, "BHNH", 4)) {
			memcpy(&s, f + 19, 4);
			if (s == 0xffffffffu)
				w_flood++;
			else
				w_last_seq = s;
		} else {
			w_other++; /* someone else's frame (Linux's ARP, IPv6) */
		}
		vd_desc(&witness, RXQ, (uint16_t)(id % VQ_SIZE), wrxbuf[id % VQ_SIZE], BUF,
			D_WRITE, 0);
		vd_post(&witness, RXQ, (uint16_t)(id % VQ_SIZE));
	}
}

static int setup_port(void)
{
	if (vd_setup(&port, 1u << 5) != ST_OK) /* VIRTIO_NET_F_MAC */
		return 0;
	while (vd_used(&port, RXQ, &(uint32_t){ 0 }, &(uint32_t){ 0 }))
		;
	post_rx(&port, rxbuf);
	return 1;
}

/* Sends one good frame from the attacking port to the witness; 1 if it arrived. */
static int good_frame(void)
{
	uint32_t n = frame(txbuf[0], mac1, mac0, ETH_JUNK, ++seq, 100);

	vd_desc(&port, TXQ, 0, txbuf[0], n, 0, 0);
	vd_kick(&port, TXQ, 0, 1);
	witness_drain();
	return w_last_seq == seq;
}

/* After a broken ring: NEEDS_RESET seen; reset, set up, one good frame. */
static void expect_reset(const char *tag)
{
	uint32_t st = vd_read(&port, V_STATUS);
	char rtag[40];
	int setup, good;

	resets_expected++;
	if (st & ST_NEEDS_RESET)
		resets++;
	check(tag, st & ST_NEEDS_RESET, "status 0x%x", st);
	setup = setup_port();
	good = good_frame();
	snprintf(rtag, sizeof(rtag), "%s-recovered", tag);
	check(rtag, setup && good, "setup %s, good frame %s", setup ? "ok" : "failed",
	      good ? "arrived" : "lost");
}

static void tx_attacks(void)
{
	uint32_t n = frame(txbuf[0], mac1, mac0, ETH_JUNK, ++seq, 100);

	vd_desc(&port, TXQ, 0, txbuf[0], 8, D_NEXT, 1);
	vd_desc(&port, TXQ, 1, txbuf[0] + 8, n - 8, D_NEXT, 0);
	vd_kick(&port, TXQ, 0, 1);
	expect_reset("tx-loop");
	vd_desc(&port, TXQ, 0, (void *)NOT_RAM, n, 0, 0);
	vd_kick(&port, TXQ, 0, 1);
	expect_reset("tx-outside-ram");
	vd_desc(&port, TXQ, 0, (void *)(RAM_END - 64), 128, 0, 0);
	vd_kick(&port, TXQ, 0, 1);
	expect_reset("tx-across-ram-end");
	vd_desc(&port, TXQ, 0, txbuf[0], 0xffffff00u, 0, 0);
	vd_kick(&port, TXQ, 0, 1);
	expect_reset("tx-huge-length");
	vd_desc(&port, TXQ, 0, txbuf[0], n, 0, 0);
	vd_kick(&port, TXQ, 0, 1000);
	expect_reset("tx-index-ahead");
	vd_kick(&port, TXQ, 200, 1);
	expect_reset("tx-head-range");
}

/* The witness broadcasts a frame: it reaches the attacking port's (broken) receive ring. */
static void witness_broadcast(void)
{
	uint32_t n = frame(wtxbuf, bcast, mac1, ETH_JUNK, 0xfffffffeu, 60);

	vd_desc(&witness, TXQ, 0, wtxbuf, n, 0, 0);
	vd_kick(&witness, TXQ, 0, 1);
}

/* A receive ring holding only the broken chain at head h (after a reset); the witness's
 * broadcast makes the device take it. */
static void rx_attack(const char *tag, struct vdesc d0, struct vdesc d1, uint16_t advance)
{
	vd_setup(&port, 1u << 5);
	port.q[RXQ].desc[0] = d0;
	port.q[RXQ].desc[1] = d1;
	port.q[RXQ].next_avail = (uint16_t)(advance - 1);
	vd_post(&port, RXQ, 0);
	witness_broadcast();
	expect_reset(tag);
}

static void rx_attacks(void)
{
	struct vdesc none = { 0, 0, 0, 0 };

	rx_attack("rx-loop", (struct vdesc){ (uintptr_t)rxbuf[0], 64, D_NEXT | D_WRITE, 1 },
		  (struct vdesc){ (uintptr_t)rxbuf[1], 64, D_NEXT | D_WRITE, 0 }, 1);
	rx_attack("rx-outside-ram", (struct vdesc){ NOT_RAM, BUF, D_WRITE, 0 }, none, 1);
	rx_attack("rx-huge-length", (struct vdesc){ (uintptr_t)rxbuf[0], 0xfffff000u, D_WRITE, 0 },
		  none, 1);
	rx_attack("rx-index-ahead", (struct vdesc){ (uintptr_t)rxbuf[0], BUF, D_WRITE, 0 }, none,
		  1000);
	witness_drain();
}

/* Sends count frames from the attacking port, VQ_SIZE per notify; the witness drained after
 * each batch. Returns the buffers used. */
static uint32_t burst(const uint8_t *dst, const uint8_t *src, uint16_t type, uint32_t s,
		      uint32_t count)
{
	uint32_t used = 0;

	for (uint32_t i = 0; i < count; i += VQ_SIZE) {
		uint32_t k = count - i < VQ_SIZE ? count - i : VQ_SIZE;

		for (uint16_t j = 0; j < k; j++) {
			uint32_t n = frame(txbuf[j], dst, src, type, s, 64);

			vd_desc(&port, TXQ, j, txbuf[j], n, 0, 0);
			if ((uint32_t)j + 1 < k)
				vd_post(&port, TXQ, j);
		}
		used += vd_kick(&port, TXQ, (uint16_t)(k - 1), 1);
		witness_drain();
	}
	return used;
}

static void spoof_attacks(void)
{
	const uint8_t *srcs[] = { net_a, mac1, madeup };
	const uint8_t *dsts[] = { mac1, net_b, bcast };
	uint32_t leaked = w_leaked, used = 0;
	int good;

	for (int i = 0; i < 3; i++)
		for (int j = 0; j < 3; j++)
			used += burst(dsts[j], srcs[i], ETH_SPOOF, ++seq, SPOOFS);
	spoofed += 9 * SPOOFS;
	good = good_frame();
	check("spoofed", w_leaked == leaked && used == 9 * SPOOFS && good &&
	      vd_read(&port, V_STATUS) == ST_OK,
	      "%u sent, %u used, %u reached the witness, good frame after: %s", 9 * SPOOFS, used,
	      w_leaked - leaked, good ? "arrived" : "lost");
}

static void size_attacks(void)
{
	static const uint32_t lens[] = { 0, VNET_HDR, VNET_HDR + 13, VNET_HDR + 1515 };
	uint32_t leaked = w_leaked, used = 0, last = seq;
	int good;

	for (uint32_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		frame(txbuf[0], mac1, mac0, ETH_SPOOF, ++seq, 1515);
		vd_desc(&port, TXQ, 0, txbuf[0], lens[i], 0, 0);
		used += vd_kick(&port, TXQ, 0, 1);
	}
	frame(bigbuf, mac1, mac0, ETH_SPOOF, ++seq, 70000);
	vd_desc(&port, TXQ, 0, bigbuf, sizeof(bigbuf), 0, 0);
	used += vd_kick(&port, TXQ, 0, 1);
	witness_drain();
	good = good_frame();
	check("sizes", used == 5 && w_leaked == leaked && w_last_seq == seq && seq == last + 6 &&
	      good && vd_read(&port, V_STATUS) == ST_OK,
	      "0, 12, 25, 1527 and 70012 bytes: %u used, %u delivered, status 0x%x", used,
	      w_leaked - leaked, vd_read(&port, V_STATUS));
}

static void flood(void)
{
	uint32_t got = w_flood, others = w_other, used;

	used = burst(bcast, mac0, ETH_JUNK, 0xffffffffu, FLOOD);
	flood_got = w_flood - got;
	flood_others = w_other - others;
	check("flood", used == FLOOD && flood_got > 0 && flood_got < FLOOD &&
	      vd_read(&port, V_STATUS) == ST_OK,
	      "%u broadcast frames sent, %u used, %u reached the witness (%u others' frames)",
	      FLOOD, used, flood_got, flood_others);
}

static void blk_attack(void)
{
	struct vq *q = &disk.q[0];
	uint32_t st, type = 0; /* VIRTIO_BLK_T_IN */
	int setup;

	vd_setup(&disk, 0);
	memset(blk_hdr, 0, sizeof(blk_hdr));
	memcpy(blk_hdr, &type, 4);
	q->desc[0] = (struct vdesc){ (uintptr_t)blk_hdr, 16, D_NEXT, 1 };
	q->desc[1] = (struct vdesc){ (uintptr_t)blk_data, 512, D_NEXT | D_WRITE, 0 };
	vd_kick(&disk, 0, 0, 1);
	st = vd_read(&disk, V_STATUS);
	resets_expected++;
	if (st & ST_NEEDS_RESET)
		resets++;
	check("blk-loop", st & ST_NEEDS_RESET, "status 0x%x", st);
	setup = vd_setup(&disk, 0) == ST_OK;
	vd_desc(&disk, 0, 0, blk_hdr, 16, D_NEXT, 1);
	vd_desc(&disk, 0, 1, blk_data, 512, D_NEXT | D_WRITE, 2);
	vd_desc(&disk, 0, 2, &blk_status, 1, D_WRITE, 0);
	blk_status = 0xee;
	vd_kick(&disk, 0, 0, 1);
	check("blk-loop-recovered", setup && blk_status == 0, "setup %s, read status %u",
	      setup ? "ok" : "failed", blk_status);
}

static void flooder(uint64_t unused)
{
	uint64_t n = 0, next = time_ms() + 3000;

	(void)unused;
	printf("nethostile: flood: start\n");
	for (;;) {
		vd_write(&port, V_QUEUE_NOTIFY, TXQ);
		vd_write(&port, V_QUEUE_NOTIFY, RXQ);
		vd_write(&witness, V_QUEUE_NOTIFY, RXQ);
		vd_write(&disk, V_QUEUE_NOTIFY, 0);
		db_ring();
		n++;
		if ((n & 0x3ff) == 0 && time_ms() >= next) {
			printf("nethostile: flood: %lu notifies and rings\n", (unsigned long)n * 5);
			next = time_ms() + 3000;
		}
	}
}

static void read_mac(struct vdev *d, uint8_t *mac)
{
	for (int i = 0; i < 6; i++)
		mac[i] = *(volatile uint8_t *)(d->base + V_CONFIG + i);
}

int main(void)
{
	uint64_t next = 0;
	int w, p;

	printf("nethostile: start\n");
	read_mac(&port, mac0);
	read_mac(&witness, mac1);
	w = vd_setup(&witness, 1u << 5) == ST_OK;
	if (w)
		post_rx(&witness, wrxbuf);
	p = setup_port();
	witness_broadcast(); /* the switch learns the witness's address */
	round_no = 1;
	check("setup", w && p && vd_read(&port, V_DEVICE_ID) == 1 && db_read(DB_MAGIC) ==
	      DB_MAGIC_VALUE, "ports %s, %s", w ? "ok" : "failed", p ? "ok" : "failed");
	check("good", good_frame(), "frame %u to the witness", seq);
	for (;; round_no++) {
		round_failures = 0;
		resets = resets_expected = 0;
		spoof_attacks();
		size_attacks();
		tx_attacks();
		rx_attacks();
		blk_attack();
		flood();
		if (round_no == 1) {
			printf("nethostile: done %u checks, %u failures\n", check_count,
			       check_failures);
			if (cpu_start(1, flooder, 0) != PSCI_SUCCESS)
				printf("nethostile: FAIL no second vCPU\n");
		}
		if (time_ms() >= next || round_failures) {
			printf("nethostile: round %u: needs-reset %u/%u, spoofed %u leaked %u, "
			       "flood %u/%u, failures %u\n", round_no, resets, resets_expected,
			       spoofed, w_leaked, flood_got, FLOOD, total_failures);
			next = time_ms() + 3000;
		}
	}
}
