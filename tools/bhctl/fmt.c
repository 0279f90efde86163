/* bhctl's output: names of states and exit reasons, durations and sizes, and the tables of
 * `list`, `stats` and `info`. Plain text, one record per line, stable columns for scripts. */
#include <string.h>

#include "bhctl.h"

const char *state_name(uint32_t state)
{
	static const char *const names[] = { "loading", "running", "paused", "off", "crashed" };

	return state < sizeof(names) / sizeof(names[0]) ? names[state] : "unknown";
}

const char *exit_name(unsigned i)
{
	static const char *const names[BHC_EXITS] = {
		"hypercall", "mmio", "sysreg", "wfx", "irq", "fault", "other", "reserved7",
	};

	return i < BHC_EXITS ? names[i] : "?";
}

/* 93784 s -> "1d02:03:04", 3723 s -> "1:02:03", 5 s -> "0:00:05". */
void fmt_duration(char *buf, size_t cap, uint64_t ns)
{
	uint64_t s = ns / 1000000000u;

	if (s >= 86400)
		snprintf(buf, cap, "%llud%02llu:%02llu:%02llu", (unsigned long long)(s / 86400),
			 (unsigned long long)(s / 3600 % 24), (unsigned long long)(s / 60 % 60),
			 (unsigned long long)(s % 60));
	else
		snprintf(buf, cap, "%llu:%02llu:%02llu", (unsigned long long)(s / 3600),
			 (unsigned long long)(s / 60 % 60), (unsigned long long)(s % 60));
}

/* Bytes in the largest binary unit that divides them ("512M", "1G", "4K", "1000"). */
void fmt_size(char *buf, size_t cap, uint64_t bytes)
{
	static const char units[] = "KMGT";
	int u = -1;

	while (u < 3 && bytes && bytes % 1024 == 0) {
		bytes /= 1024;
		u++;
	}
	if (u < 0)
		snprintf(buf, cap, "%llu", (unsigned long long)bytes);
	else
		snprintf(buf, cap, "%llu%c", (unsigned long long)bytes, units[u]);
}

/* Physical CPU of each vCPU: "0,1". */
void fmt_pcpus(char *buf, size_t cap, const struct bhc_vm_info *vm)
{
	size_t off = 0;

	buf[0] = 0;
	if (!vm->nr_vcpus)
		snprintf(buf, cap, "-");
	for (uint32_t i = 0; i < vm->nr_vcpus && i < BHC_MAX_VCPUS && off < cap; i++) {
		int n = snprintf(buf + off, cap - off, "%s%u", i ? "," : "", vm->pcpu[i]);

		if (n < 0)
			break;
		off += (size_t)n;
	}
}

void copy_name(char *dst, const char *src, size_t cap)
{
	size_t i;

	for (i = 0; i + 1 < cap && src[i]; i++)
		dst[i] = (src[i] >= 0x20 && src[i] < 0x7f) ? src[i] : '?';
	dst[i] = 0;
}

uint64_t total_exits(const struct bhc_vm_info *vm)
{
	uint64_t t = 0;

	for (unsigned i = 0; i < BHC_EXITS; i++)
		t += vm->exits[i];
	return t;
}

static const char *flag_text(uint32_t flags)
{
	if (flags & BHC_VM_F_MANAGEMENT)
		return "mgmt";
	return flags & BHC_VM_F_DYNAMIC ? "dyn" : "boot";
}

void print_list(FILE *f, const struct bhc_vm_info *vms, uint32_t n)
{
	fprintf(f, "%-3s %-20s %-8s %-5s %-5s %-15s %-6s %-10s %s\n", "ID", "NAME", "STATE",
		"KIND", "VCPUS", "PCPUS", "MEMORY", "UPTIME", "EXITS");
	for (uint32_t i = 0; i < n; i++) {
		const struct bhc_vm_info *vm = &vms[i];
		char pcpus[64], mem[24], up[32];

		fmt_pcpus(pcpus, sizeof(pcpus), vm);
		fmt_size(mem, sizeof(mem), vm->ram_size);
		fmt_duration(up, sizeof(up), vm->uptime_ns);
		fprintf(f, "%-3u %-20s %-8s %-5s %-5u %-15s %-6s %-10s %llu\n", vm->id, vm->name,
			state_name(vm->state), flag_text(vm->flags), vm->nr_vcpus, pcpus, mem, up,
			(unsigned long long)total_exits(vm));
	}
}

void print_stats(FILE *f, const struct bhc_vm_stats *st)
{
	const struct bhc_vm_info *vm = &st->info;
	char pcpus[64], mem[24], up[32], run[32];

	fmt_pcpus(pcpus, sizeof(pcpus), vm);
	fmt_size(mem, sizeof(mem), vm->ram_size);
	fmt_duration(up, sizeof(up), vm->uptime_ns);
	fmt_duration(run, sizeof(run), vm->run_ns);
	fprintf(f, "vm %u '%s': %s, %s\n", vm->id, vm->name, state_name(vm->state),
		flag_text(vm->flags));
	fprintf(f, "  vcpus            %u on pcpus %s\n", vm->nr_vcpus, pcpus);
	fprintf(f, "  memory           %s at 0x%llx\n", mem, (unsigned long long)vm->ram_base);
	fprintf(f, "  uptime           %s\n", up);
	fprintf(f, "  run time         %s (%llu ns)\n", run, (unsigned long long)vm->run_ns);
	fprintf(f, "exits              %llu\n", (unsigned long long)total_exits(vm));
	for (unsigned i = 0; i < BHC_EXITS; i++)
		if (i < BHC_EXIT_OTHER + 1 || vm->exits[i])
			fprintf(f, "  %-16s %llu\n", exit_name(i),
				(unsigned long long)vm->exits[i]);
	fprintf(f, "mmio exits by device\n");
	for (uint32_t i = 0; i < st->nr_devs; i++)
		fprintf(f, "  %-16s %llu\n", st->dev[i].name, (unsigned long long)st->dev[i].count);
	fprintf(f, "  %-16s %llu\n", "(unowned)", (unsigned long long)st->mmio_unowned);
	fprintf(f, "interrupts injected %llu\n", (unsigned long long)st->irqs_injected);
	fprintf(f, "control refused    %llu\n", (unsigned long long)st->ctl_refused);
}

void print_net_stats(FILE *f, const struct bhc_net_stats *ns)
{
	if (ns->nr_nics)
		fprintf(f, "network (frames)\n");
	for (uint32_t i = 0; i < ns->nr_nics; i++) {
		const struct bhc_nic_stats *n = &ns->nic[i];

		fprintf(f, "  %-16s switch '%s', %02x:%02x:%02x:%02x:%02x:%02x\n", n->dev, n->sw,
			n->mac[0], n->mac[1], n->mac[2], n->mac[3], n->mac[4], n->mac[5]);
		fprintf(f, "    tx %llu rx %llu tx-bad %llu tx-limited %llu rx-dropped %llu\n",
			(unsigned long long)n->tx, (unsigned long long)n->rx,
			(unsigned long long)n->tx_bad, (unsigned long long)n->tx_limited,
			(unsigned long long)n->rx_dropped);
	}
}

void print_blk_stats(FILE *f, const struct bhc_blk_stats *bs)
{
	if (bs->nr_disks)
		fprintf(f, "disks\n");
	for (uint32_t i = 0; i < bs->nr_disks; i++) {
		const struct bhc_disk_stats *d = &bs->disk[i];
		char size[24];

		fmt_size(size, sizeof(size), d->size);
		fprintf(f, "  %-16s %s%s\n", d->dev, size,
			d->mediated ? ", mediated (bhctl blkd)" : ", RAM disk");
		fprintf(f, "    reads %llu (%llu bytes) writes %llu (%llu bytes) flushes %llu "
			"errors %llu\n", (unsigned long long)d->reads,
			(unsigned long long)d->read_bytes, (unsigned long long)d->writes,
			(unsigned long long)d->written_bytes, (unsigned long long)d->flushes,
			(unsigned long long)d->errors);
	}
}

void print_hello(FILE *f, const struct bhc_hello *h)
{
	char tot[24], fr[24];

	fmt_size(tot, sizeof(tot), h->pool_total);
	fmt_size(fr, sizeof(fr), h->pool_free);
	fprintf(f, "hypervisor       Bulkhead %s\n", h->hyp_version);
	fprintf(f, "protocol         %u (bhctl %d)\n", h->version, BHC_VERSION);
	fprintf(f, "physical cpus    %u\n", h->nr_pcpus);
	fprintf(f, "vms              %u of at most %u\n", h->nr_vms, h->max_vms);
	fprintf(f, "pool             %s free of %s (%llu of %llu bytes)\n", fr, tot,
		(unsigned long long)h->pool_free, (unsigned long long)h->pool_total);
	fprintf(f, "hypervisor free  %llu bytes\n", (unsigned long long)h->hyp_free);
}
