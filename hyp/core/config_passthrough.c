/* Configuration of passed-through physical devices (passthrough@... in a VM) and the rules
 * around them: whole pages mapped 1:1, SPIs owned by one VM, DMA only with identity-mapped RAM. */
#include <bulkhead/config.h>
#include <bulkhead/fdt.h>
#include <bulkhead/string.h>

#include "config_internal.h"

#define PT_FIELD_MAX (CFG_SHOWN_MAX + 16)

/* The first INTID of the VM's emulated devices: its PL011 (SPI 1) and virtio slot n
 * (SPI 16 + n); channel n's doorbell is SPI 48 + n. */
#define PL011_INTID 33
#define VIRTIO_INTID0 (32 + CFG_VIRTIO_SPI0)
#define CHAN_INTID0 (32 + CFG_CHAN_SPI0)

enum pt_prop { P_REG, P_INTERRUPTS, P_COMPATIBLE, P_DMA, P_COUNT };
static const char *const pt_prop_names[P_COUNT] = { "reg", "interrupts", "compatible", "dma" };

struct pt_props {
	const u8 *val[P_COUNT];
	int len[P_COUNT];
};

static void field_of(char *buf, const struct cfg_passthrough *pt, const char *prop)
{
	snprintf(buf, PT_FIELD_MAX, "%s/%s", pt->name, prop);
}

/* Collects the node's known properties; reports unknown and repeated ones, and subnodes. */
static void collect(struct cfg_ctx *c, struct cfg_vm *vm, int node,
		    const struct cfg_passthrough *pt, struct pt_props *p)
{
	char prefix[CFG_NAME_MAX + 2], f[PT_FIELD_MAX];
	const char *name;
	const void *v;
	int n, k;

	memset(p, 0, sizeof(*p));
	snprintf(prefix, sizeof(prefix), "%s/", pt->name);
	for (int prop = fdt_first_prop(c->fdt, node); prop >= 0;
	     prop = fdt_next_prop(c->fdt, prop)) {
		if (fdt_prop_at(c->fdt, prop, &name, &v, &n) || cfg_ignored_prop(name))
			continue;
		for (k = 0; k < P_COUNT && strcmp(name, pt_prop_names[k]) != 0; k++)
			;
		if (k == P_COUNT) {
			cfg_unknown_field(c, vm, prefix, name, strlen(name));
		} else if (p->val[k]) {
			field_of(f, pt, name);
			cfg_vm_err(c, vm, f, "defined twice");
		} else {
			p->val[k] = v;
			p->len[k] = n;
		}
	}
	for (int child = fdt_first_child(c->fdt, node); child >= 0;
	     child = fdt_next_sibling(c->fdt, child))
		if ((name = fdt_node_name(c->fdt, child, &n)))
			cfg_unknown_field(c, vm, prefix, name, (size_t)n);
}

/* compatible: a list of 1..n non-empty strings, at most CFG_PT_COMPAT_MAX bytes. */
static void parse_compatible(struct cfg_ctx *c, struct cfg_vm *vm, struct cfg_passthrough *pt,
			     const char *s, int len)
{
	char f[PT_FIELD_MAX];
	bool ok = len > 0 && s[len - 1] == 0 && s[0] != 0;

	field_of(f, pt, "compatible");
	if (!s) {
		cfg_vm_err(c, vm, f, "missing (required: what the VM's device tree calls the device, "
		       "as in \"virtio,mmio\")");
		return;
	}
	for (int i = 1; ok && i < len; i++)
		ok = !(s[i] == 0 && s[i - 1] == 0); /* no empty string in the list */
	if (!ok)
		cfg_vm_err(c, vm, f, "must be one or more non-empty strings, as in \"virtio,mmio\"");
	else if (len > CFG_PT_COMPAT_MAX)
		cfg_vm_err(c, vm, f, "is %d bytes long (at most %d)", len, CFG_PT_COMPAT_MAX);
	else {
		pt->compatible = s;
		pt->compatible_len = (u32)len;
	}
}

/* One register range, page-rounded: below the IPA limit, clear of the VM's RAM, device window,
 * PL011, used virtio slots and the device's earlier ranges and earlier devices' ranges. */
static void check_range(struct cfg_ctx *c, struct cfg_vm *vm, struct cfg_passthrough *pt,
			const struct cfg_region *r, bool ram_ok)
{
	char f[PT_FIELD_MAX];
	u64 b, s;
	unsigned long long lo, hi;

	field_of(f, pt, "reg");
	if (!r->size) {
		cfg_vm_err(c, vm, f, "range at 0x%llx has size 0", (unsigned long long)r->base);
		return;
	}
	if (!cfg_in_ipa_range(r->base, r->size) || r->base + r->size > CFG_IPA_LIMIT - KiB(4)) {
		cfg_vm_err(c, vm, f, "0x%llx + 0x%llx ends above 512 GiB (the 39-bit stage-2 input "
		       "range)", (unsigned long long)r->base, (unsigned long long)r->size);
		return;
	}
	cfg_pt_pages(r, &b, &s);
	lo = b;
	hi = b + s;
	if (ram_ok && ranges_overlap(b, s, vm->ram.base, vm->ram.size))
		cfg_vm_err(c, vm, f, "pages 0x%llx..0x%llx overlap the VM's RAM 0x%llx..0x%llx", lo, hi,
		       (unsigned long long)vm->ram.base,
		       (unsigned long long)(vm->ram.base + vm->ram.size));
	if (ranges_overlap(b, s, CFG_DEVWIN_BASE, CFG_DEVWIN_SIZE))
		cfg_vm_err(c, vm, f, "pages 0x%llx..0x%llx overlap the device window 0x%llx..0x%llx "
		       "(the VM's GIC and PL011; the hypervisor's own GIC and UART on QEMU virt)",
		       lo, hi, CFG_DEVWIN_BASE, CFG_DEVWIN_BASE + CFG_DEVWIN_SIZE);
	else if (ranges_overlap(b, s, vm->pl011.base, CFG_PL011_SIZE))
		cfg_vm_err(c, vm, f, "pages 0x%llx..0x%llx overlap the VM's PL011 at 0x%llx", lo, hi,
		       (unsigned long long)vm->pl011.base);
	for (u32 i = 0; i < vm->nr_disks + vm->nr_nics; i++) {
		bool disk = i < vm->nr_disks;
		u32 slot = disk ? vm->disk[i].slot : vm->nic[i - vm->nr_disks].slot;
		u64 sb = CFG_VIRTIO_BASE + slot * CFG_VIRTIO_STRIDE;

		if (ranges_overlap(b, s, sb, CFG_VIRTIO_STRIDE))
			cfg_vm_err(c, vm, f, "pages 0x%llx..0x%llx overlap the VM's emulated %s@%u at "
			       "0x%llx (a virtio slot cannot be emulated and passed through)", lo, hi,
			       disk ? "virtio-blk" : "virtio-net", slot, (unsigned long long)sb);
	}
	for (u32 d = 0; d <= vm->nr_pt; d++) {
		const struct cfg_passthrough *o = &vm->pt[d];
		u32 end = o == pt ? (u32)(r - pt->reg) : o->nr_regs;

		for (u32 k = 0; k < end; k++) {
			u64 ob, os;

			cfg_pt_pages(&o->reg[k], &ob, &os);
			if (ranges_overlap(b, s, ob, os)) {
				cfg_vm_err(c, vm, f, "pages 0x%llx..0x%llx overlap those of %s "
				       "(0x%llx..0x%llx)", lo, hi, o->name, (unsigned long long)ob,
				       (unsigned long long)(ob + os));
				return;
			}
		}
	}
}

/* reg = <base-hi base-lo size-hi size-lo>...: 1..CFG_PT_MAX_REGS ranges. */
static void parse_reg(struct cfg_ctx *c, struct cfg_vm *vm, struct cfg_passthrough *pt,
		      const u8 *val, int len, bool ram_ok)
{
	char f[PT_FIELD_MAX];

	field_of(f, pt, "reg");
	if (!val) {
		cfg_vm_err(c, vm, f, "missing (required: the device's register ranges)");
		return;
	}
	if (len <= 0 || len % 16) {
		cfg_vm_err(c, vm, f, "must be ranges of 4 cells <base-hi base-lo size-hi size-lo>");
		return;
	}
	if (len / 16 > CFG_PT_MAX_REGS) {
		cfg_vm_err(c, vm, f, "has %d ranges (at most %d)", len / 16, CFG_PT_MAX_REGS);
		return;
	}
	for (int i = 0; i < len / 16; i++) {
		struct cfg_region *r = &pt->reg[pt->nr_regs++];

		r->base = fdt_cells_ld(val + 16 * i, 2);
		r->size = fdt_cells_ld(val + 16 * i + 8, 2);
		check_range(c, vm, pt, r, ram_ok);
	}
}

/* Why the VM's own emulated devices already use intid, or NULL. */
static const char *emulated_user(const struct cfg_vm *vm, u32 intid, char *buf, size_t cap)
{
	if (intid == PL011_INTID)
		return "the VM's PL011";
	for (u32 i = 0; i < vm->nr_disks + vm->nr_nics; i++) {
		bool disk = i < vm->nr_disks;
		u32 slot = disk ? vm->disk[i].slot : vm->nic[i - vm->nr_disks].slot;

		if (intid == VIRTIO_INTID0 + slot) {
			snprintf(buf, cap, "the VM's emulated %s@%u", disk ? "virtio-blk" : "virtio-net",
				 slot);
			return buf;
		}
	}
	return NULL;
}

/* interrupts = <INTID>...: SPIs 32..CFG_PT_INTID_MAX, each once, not the VM's own. */
static void parse_irqs(struct cfg_ctx *c, struct cfg_vm *vm, struct cfg_passthrough *pt,
		       const u8 *val, int len)
{
	char f[PT_FIELD_MAX], who[64];
	const char *user;

	field_of(f, pt, "interrupts");
	if (!val)
		return; /* a device without interrupts (polled) */
	if (len <= 0 || len % 4) {
		cfg_vm_err(c, vm, f, "must be a list of INTIDs, one cell each, as in <79>");
		return;
	}
	if (len / 4 > CFG_PT_MAX_IRQS) {
		cfg_vm_err(c, vm, f, "has %d interrupts (at most %d)", len / 4, CFG_PT_MAX_IRQS);
		return;
	}
	for (int i = 0; i < len / 4; i++) {
		u32 intid = fdt32_ld(val + 4 * i);
		bool dup = false;

		if (intid < 32) {
			cfg_vm_err(c, vm, f, "INTID %u is %s, not an SPI (SPIs are INTIDs 32..%u)",
			       intid, intid < 16 ? "an SGI" : "a PPI", CFG_PT_INTID_MAX);
			continue;
		}
		if (intid > CFG_PT_INTID_MAX) {
			cfg_vm_err(c, vm, f, "INTID %u is beyond the virtual GIC's SPIs (32..%u)", intid,
			       CFG_PT_INTID_MAX);
			continue;
		}
		if ((user = emulated_user(vm, intid, who, sizeof(who)))) {
			cfg_vm_err(c, vm, f, "INTID %u is used by %s", intid, user);
			continue;
		}
		for (u32 d = 0; d <= vm->nr_pt && !dup; d++)
			for (u32 k = 0; k < (&vm->pt[d] == pt ? pt->nr_irqs : vm->pt[d].nr_irqs); k++)
				if (vm->pt[d].irq[k] == intid) {
					cfg_vm_err(c, vm, f, "INTID %u is given twice (also %s)", intid,
					       vm->pt[d].name);
					dup = true;
					break;
				}
		if (!dup)
			pt->irq[pt->nr_irqs++] = intid;
	}
}

void cfg_parse_passthrough(struct cfg_ctx *c, struct cfg_vm *vm, int node, bool ram_ok)
{
	struct cfg_passthrough *pt;
	struct pt_props p;
	char f[PT_FIELD_MAX];
	const char *name;
	int len;

	if (vm->nr_pt == CFG_MAX_PT) {
		cfg_vm_err(c, vm, "passthrough", "more than %d passed-through devices in one VM",
		       CFG_MAX_PT);
		return;
	}
	pt = &vm->pt[vm->nr_pt];
	memset(pt, 0, sizeof(*pt));
	name = fdt_node_name(c->fdt, node, &len);
	cfg_printable(pt->name, sizeof(pt->name), name ? name : "", name ? (size_t)len : 0);
	collect(c, vm, node, pt, &p);
	parse_reg(c, vm, pt, p.val[P_REG], p.len[P_REG], ram_ok);
	parse_irqs(c, vm, pt, p.val[P_INTERRUPTS], p.len[P_INTERRUPTS]);
	parse_compatible(c, vm, pt, (const char *)p.val[P_COMPATIBLE], p.len[P_COMPATIBLE]);
	field_of(f, pt, "dma");
	if (p.val[P_DMA] && p.len[P_DMA] != 0)
		cfg_vm_err(c, vm, f, "takes no value (write 'dma;')");
	pt->dma = p.val[P_DMA] != NULL;
	if (pt->dma && !vm->identity)
		cfg_vm_err(c, vm, f, "the device does DMA and there is no IOMMU: the VM's RAM must "
		       "be identity-mapped (guest-physical == physical): add 'identity-map;'");
	vm->nr_pt++;
}

/* Earlier valid VMs' passed-through pages, INTIDs and identity-mapped RAM are theirs: a later
 * VM that repeats one is refused. (A refused VM owns nothing.) */
static void check_against(struct cfg_ctx *c, struct cfg_vm *vm, const struct cfg_vm *o)
{
	char f[PT_FIELD_MAX];

	if (vm->identity && o->identity &&
	    ranges_overlap(vm->ram.base, vm->ram.size, o->ram.base, o->ram.size))
		cfg_vm_err(c, vm, "memory", "identity-mapped RAM 0x%llx..0x%llx overlaps that of vm "
		       "'%s' (0x%llx..0x%llx)", (unsigned long long)vm->ram.base,
		       (unsigned long long)(vm->ram.base + vm->ram.size), o->name,
		       (unsigned long long)o->ram.base, (unsigned long long)(o->ram.base + o->ram.size));
	for (u32 d = 0; d < vm->nr_pt; d++) {
		const struct cfg_passthrough *pt = &vm->pt[d];

		for (u32 od = 0; od < o->nr_pt; od++) {
			const struct cfg_passthrough *op = &o->pt[od];

			for (u32 k = 0; k < pt->nr_regs; k++)
				for (u32 ok = 0; ok < op->nr_regs; ok++) {
					u64 b, s, ob, os;

					cfg_pt_pages(&pt->reg[k], &b, &s);
					cfg_pt_pages(&op->reg[ok], &ob, &os);
					if (!ranges_overlap(b, s, ob, os))
						continue;
					field_of(f, pt, "reg");
					cfg_vm_err(c, vm, f, "pages 0x%llx..0x%llx are already passed "
					       "through to vm '%s' (%s)", (unsigned long long)b,
					       (unsigned long long)(b + s), o->name, op->name);
				}
			for (u32 k = 0; k < pt->nr_irqs; k++)
				for (u32 ok = 0; ok < op->nr_irqs; ok++)
					if (pt->irq[k] == op->irq[ok]) {
						field_of(f, pt, "interrupts");
						cfg_vm_err(c, vm, f, "INTID %u is already passed through "
						       "to vm '%s' (%s)", pt->irq[k], o->name, op->name);
					}
		}
	}
}

void cfg_check_passthrough(struct cfg_ctx *c, struct cfg_system *sys)
{
	for (u32 v = 0; v < sys->nr_vms; v++)
		for (u32 w = 0; w < v; w++)
			if (sys->vm[w].valid)
				check_against(c, &sys->vm[v], &sys->vm[w]);
}

void cfg_check_pt_channels(struct cfg_ctx *c, struct cfg_system *sys)
{
	char f[PT_FIELD_MAX];

	for (u32 n = 0; n < sys->nr_channels; n++) {
		const struct cfg_channel *ch = &sys->chan[n];
		u64 span = ch->size + CFG_CHAN_DOORBELL;

		if (!ch->valid)
			continue;
		for (u32 r = 0; r < 2; r++) {
			struct cfg_vm *vm = &sys->vm[ch->vm[r]];

			for (u32 d = 0; d < vm->nr_pt; d++) {
				const struct cfg_passthrough *pt = &vm->pt[d];

				for (u32 k = 0; k < pt->nr_irqs; k++)
					if (pt->irq[k] == CHAN_INTID0 + ch->id) {
						field_of(f, pt, "interrupts");
						cfg_vm_err(c, vm, f, "INTID %u is the doorbell of "
						       "channel '%s' in this VM", pt->irq[k], ch->name);
					}
				for (u32 k = 0; k < pt->nr_regs; k++) {
					u64 b, s;

					cfg_pt_pages(&pt->reg[k], &b, &s);
					if (!ranges_overlap(b, s, ch->ipa, span))
						continue;
					field_of(f, pt, "reg");
					cfg_vm_err(c, vm, f, "pages 0x%llx..0x%llx overlap channel '%s' "
					       "(0x%llx..0x%llx)", (unsigned long long)b,
					       (unsigned long long)(b + s), ch->name,
					       (unsigned long long)ch->ipa,
					       (unsigned long long)(ch->ipa + span));
				}
			}
		}
	}
}
