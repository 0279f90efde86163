/* Configuration of a VM's devices: the PL011, virtio-blk, virtio-net and virtio-console
 * subnodes, and MAC addresses unique across the system. Part of the parser in config.c (docs/config.md). */
#include <bulkhead/config.h>
#include <bulkhead/fdt.h>
#include <bulkhead/package.h>
#include <bulkhead/string.h>

#include "config_internal.h"

/* Checks the pl011 node's properties (only reg) and that it has no subnodes. */
static const u8 *pl011_reg(struct cfg_ctx *c, struct cfg_vm *vm, int node, int *reg_len)
{
	const u8 *reg = NULL;
	const char *name;
	const void *val;
	int len, nlen, child;

	for (int prop = fdt_first_prop(c->fdt, node); prop >= 0;
	     prop = fdt_next_prop(c->fdt, prop)) {
		if (fdt_prop_at(c->fdt, prop, &name, &val, &len) || cfg_ignored_prop(name))
			continue;
		if (strcmp(name, "reg") != 0)
			cfg_unknown_field(c, vm, "pl011/", name, strlen(name));
		else if (reg)
			cfg_vm_err(c, vm, "pl011/reg", "defined twice");
		else {
			reg = val;
			*reg_len = len;
		}
	}
	for (child = fdt_first_child(c->fdt, node); child >= 0;
	     child = fdt_next_sibling(c->fdt, child)) {
		name = fdt_node_name(c->fdt, child, &nlen);
		if (name)
			cfg_unknown_field(c, vm, "pl011/", name, (size_t)nlen);
	}
	return reg;
}

/* pl011 { reg = <base-hi base-lo size-hi size-lo>; }: 4 KiB at a 4 KiB boundary, outside RAM
 * and clear of the PL061. */
static void parse_pl011(struct cfg_ctx *c, struct cfg_vm *vm, int node, bool ram_ok)
{
	int len = 0;
	const u8 *reg = pl011_reg(c, vm, node, &len);
	u64 base, size;

	if (!reg) {
		cfg_vm_err(c, vm, "pl011", "missing 'reg'");
		return;
	}
	if (len != 16) {
		cfg_vm_err(c, vm, "pl011", "reg must be 4 cells <base-hi base-lo size-hi size-lo>");
		return;
	}
	base = fdt_cells_ld(reg, 2);
	size = fdt_cells_ld(reg + 8, 2);
	vm->pl011.base = base;
	vm->pl011.size = size;
	if (!IS_ALIGNED(base, KiB(4)))
		cfg_vm_err(c, vm, "pl011", "base 0x%llx is not 4 KiB aligned",
		       (unsigned long long)base);
	if (size != CFG_PL011_SIZE) {
		cfg_vm_err(c, vm, "pl011", "size 0x%llx is not 4 KiB (0x1000)",
		       (unsigned long long)size);
		return;
	}
	if (!cfg_in_ipa_range(base, size))
		cfg_vm_err(c, vm, "pl011",
		       "base 0x%llx ends above 512 GiB (the 39-bit stage-2 input range)",
		       (unsigned long long)base);
	else if (ram_ok && ranges_overlap(base, size, vm->ram.base, vm->ram.size))
		cfg_vm_err(c, vm, "pl011", "0x%llx..0x%llx overlaps the VM's RAM 0x%llx..0x%llx",
		       (unsigned long long)base, (unsigned long long)(base + size),
		       (unsigned long long)vm->ram.base,
		       (unsigned long long)(vm->ram.base + vm->ram.size));
	else if (ranges_overlap(base, size, CFG_PL061_BASE, CFG_PL061_SIZE))
		cfg_vm_err(c, vm, "pl011", "0x%llx..0x%llx overlaps the PL061 (power button) at "
			   "0x%llx", (unsigned long long)base, (unsigned long long)(base + size),
			   CFG_PL061_BASE);
}

bool cfg_node_is(const char *name, int len, const char *base)
{
	int n = (int)strlen(base);

	return len >= n && memcmp(name, base, (size_t)n) == 0 && (len == n || name[n] == '@');
}

/* The slot of "virtio-blk@N": N in decimal, 0..CFG_VIRTIO_SLOTS-1. -1 if wrong (reported). */
static int virtio_slot(struct cfg_ctx *c, struct cfg_vm *vm, const char *field, const char *name,
		       int len)
{
	int at = 0, slot = 0;

	while (at < len && name[at] != '@')
		at++;
	if (at == len) {
		cfg_vm_err(c, vm, field, "needs a slot number, as in virtio-blk@0");
		return -1;
	}
	for (int i = at + 1; i < len && slot >= 0; i++)
		slot = (name[i] >= '0' && name[i] <= '9' && i - at <= 2) ?
			       slot * 10 + (name[i] - '0') : -1;
	if (len - at < 2 || slot < 0 || slot >= CFG_VIRTIO_SLOTS) {
		cfg_vm_err(c, vm, field, "the slot after '@' must be a decimal number from 0 to %d",
		       CFG_VIRTIO_SLOTS - 1);
		return -1;
	}
	return slot;
}

/* A virtio-blk node's properties (size, image) into val/len; anything else is reported. */
static void disk_props(struct cfg_ctx *c, struct cfg_vm *vm, int node, const char *field,
		       const u8 **val, int *len)
{
	static const char *const names[3] = { "size", "image", "mediated" };
	char prefix[CFG_SHOWN_MAX + 2], twice[CFG_SHOWN_MAX + 8];
	const char *name;
	const void *v;
	int n, f;

	snprintf(prefix, sizeof(prefix), "%s/", field);
	for (int prop = fdt_first_prop(c->fdt, node); prop >= 0;
	     prop = fdt_next_prop(c->fdt, prop)) {
		if (fdt_prop_at(c->fdt, prop, &name, &v, &n) || cfg_ignored_prop(name))
			continue;
		for (f = 0; f < 3 && strcmp(name, names[f]) != 0; f++)
			;
		if (f == 3) {
			cfg_unknown_field(c, vm, prefix, name, strlen(name));
		} else if (val[f]) {
			snprintf(twice, sizeof(twice), "%s%s", prefix, name);
			cfg_vm_err(c, vm, twice, "defined twice");
		} else {
			val[f] = v;
			len[f] = n;
		}
	}
	for (int child = fdt_first_child(c->fdt, node); child >= 0;
	     child = fdt_next_sibling(c->fdt, child))
		if ((name = fdt_node_name(c->fdt, child, &n)))
			cfg_unknown_field(c, vm, prefix, name, (size_t)n);
}

/* size = <size-hi size-lo>: a multiple of CFG_SECTOR, at most CFG_DISK_MAX. 0 if wrong. */
static u64 disk_size(struct cfg_ctx *c, struct cfg_vm *vm, const char *field, const u8 *val,
		     int len)
{
	char f[CFG_SHOWN_MAX + 8];
	u64 size;

	snprintf(f, sizeof(f), "%s/size", field);
	if (len != 8) {
		cfg_vm_err(c, vm, f, "must be 2 cells <size-hi size-lo>");
		return 0;
	}
	size = fdt_cells_ld(val, 2);
	if (!size)
		cfg_vm_err(c, vm, f, "size is 0 (at least 512 bytes)");
	else if (size % CFG_SECTOR)
		cfg_vm_err(c, vm, f, "0x%llx is not a multiple of 512 bytes", (unsigned long long)size);
	else if (size > CFG_DISK_MAX)
		cfg_vm_err(c, vm, f, "0x%llx is more than 1 GiB", (unsigned long long)size);
	else
		return size;
	return 0;
}

/* image = "path": one non-empty string that fits a package path. NULL if wrong. */
static const char *disk_image(struct cfg_ctx *c, struct cfg_vm *vm, const char *field,
			      const char *s, int len)
{
	char f[CFG_SHOWN_MAX + 8];
	int n = 0;

	snprintf(f, sizeof(f), "%s/image", field);
	while (n < len && s[n])
		n++;
	if (n + 1 != len)
		cfg_vm_err(c, vm, f, "must be one string, as in \"disks/root.img\"");
	else if (n == 0)
		cfg_vm_err(c, vm, f, "the path is empty");
	else if (n >= PKG_PATH_LEN)
		cfg_vm_err(c, vm, f, "the path is %d characters long (at most %d)", n,
		       PKG_PATH_LEN - 1);
	else
		return s;
	return NULL;
}

/* mediated = "/abs/path": the disk is a file in the management VM, served by its daemon. */
static const char *disk_mediated(struct cfg_ctx *c, struct cfg_vm *vm, const char *field,
				 const char *s, int len, bool sized, bool imaged)
{
	char f[CFG_SHOWN_MAX + 12];
	int n = 0;

	snprintf(f, sizeof(f), "%s/mediated", field);
	while (n < len && s[n])
		n++;
	if (n + 1 != len)
		cfg_vm_err(c, vm, f, "must be one string, as in \"/var/disks/guest.img\"");
	else if (n == 0 || s[0] != '/')
		cfg_vm_err(c, vm, f, "must be an absolute path in the management VM");
	else if (n >= CFG_MEDIATED_PATH_MAX)
		cfg_vm_err(c, vm, f, "the path is %d characters long (at most %d)", n,
			   CFG_MEDIATED_PATH_MAX - 1);
	else if (imaged)
		cfg_vm_err(c, vm, f, "a mediated disk's contents are its file's: no 'image'");
	else if (!sized)
		cfg_vm_err(c, vm, f, "needs 'size' (the hypervisor tells the guest the capacity)");
	else
		return s;
	return NULL;
}

/* virtio-blk@N { size = <hi lo>; image = "path"; }: one disk in slot N (either or both); or
 * { size = <hi lo>; mediated = "/path"; }: served by the management VM from a file. */
static void parse_disk(struct cfg_ctx *c, struct cfg_vm *vm, int node, const char *name,
		       int len)
{
	char field[CFG_SHOWN_MAX];
	const u8 *val[3] = { NULL, NULL, NULL };
	int vlen[3] = { 0, 0, 0 }, slot;
	struct cfg_disk *d;
	const char *mediated = NULL;

	cfg_printable(field, sizeof(field), name, (size_t)len);
	slot = virtio_slot(c, vm, field, name, len);
	disk_props(c, vm, node, field, val, vlen);
	if (val[2])
		mediated = disk_mediated(c, vm, field, (const char *)val[2], vlen[2], val[0] != NULL,
					 val[1] != NULL);
	else if (!val[0] && !val[1])
		cfg_vm_err(c, vm, field, "needs 'size' (an empty disk) or 'image' (or both)");
	if (slot < 0)
		return;
	if (cfg_nr_virtio(vm) == CFG_MAX_VIRTIO) {
		cfg_vm_err(c, vm, field, "more than %d virtio devices in one VM", CFG_MAX_VIRTIO);
		return;
	}
	d = &vm->disk[vm->nr_disks++];
	d->slot = (u32)slot;
	d->size = val[0] ? disk_size(c, vm, field, val[0], vlen[0]) : 0;
	d->image = val[1] ? disk_image(c, vm, field, (const char *)val[1], vlen[1]) : NULL;
	d->mediated = mediated;
}

/* virtio-net@N { mac = [6 bytes]; switch = "name"; }: one port of a virtual switch in slot N. */
static void parse_nic(struct cfg_ctx *c, struct cfg_vm *vm, int node, const char *name, int len)
{
	static const char *const names[2] = { "mac", "switch" };
	char field[CFG_SHOWN_MAX], prefix[CFG_SHOWN_MAX + 2], f[CFG_SHOWN_MAX + 8];
	const u8 *val[2] = { NULL, NULL };
	int vlen[2] = { 0, 0 }, slot, n, k;
	const char *pname;
	const void *v;
	struct cfg_nic *nic;
	bool ok = true;

	cfg_printable(field, sizeof(field), name, (size_t)len);
	slot = virtio_slot(c, vm, field, name, len);
	snprintf(prefix, sizeof(prefix), "%s/", field);
	for (int prop = fdt_first_prop(c->fdt, node); prop >= 0;
	     prop = fdt_next_prop(c->fdt, prop)) {
		if (fdt_prop_at(c->fdt, prop, &pname, &v, &n) || cfg_ignored_prop(pname))
			continue;
		for (k = 0; k < 2 && strcmp(pname, names[k]) != 0; k++)
			;
		if (k == 2) {
			cfg_unknown_field(c, vm, prefix, pname, strlen(pname));
		} else if (val[k]) {
			snprintf(f, sizeof(f), "%s%s", prefix, pname);
			cfg_vm_err(c, vm, f, "defined twice");
		} else {
			val[k] = v;
			vlen[k] = n;
		}
	}
	for (int child = fdt_first_child(c->fdt, node); child >= 0;
	     child = fdt_next_sibling(c->fdt, child))
		if ((pname = fdt_node_name(c->fdt, child, &n)))
			cfg_unknown_field(c, vm, prefix, pname, (size_t)n);
	snprintf(f, sizeof(f), "%smac", prefix);
	if (!val[0]) {
		cfg_vm_err(c, vm, f, "missing (required)");
		ok = false;
	} else if (vlen[0] != 6) {
		cfg_vm_err(c, vm, f, "must be 6 bytes, as in [52 54 00 12 34 01]");
		ok = false;
	} else if (val[0][0] & 1) {
		cfg_vm_err(c, vm, f, "%02x:%02x:%02x:%02x:%02x:%02x is a multicast address (the first "
		       "byte must be even)", val[0][0], val[0][1], val[0][2], val[0][3], val[0][4],
		       val[0][5]);
		ok = false;
	} else if (!(val[0][0] | val[0][1] | val[0][2] | val[0][3] | val[0][4] | val[0][5])) {
		cfg_vm_err(c, vm, f, "00:00:00:00:00:00 is not a valid address");
		ok = false;
	}
	snprintf(f, sizeof(f), "%sswitch", prefix);
	n = 0;
	if (!val[1]) {
		cfg_vm_err(c, vm, f, "missing (required)");
		ok = false;
	} else {
		const char *sw = (const char *)val[1];

		while (n < vlen[1] && sw[n])
			n++;
		if (n + 1 != vlen[1]) {
			cfg_vm_err(c, vm, f, "must be one string, as in \"lan0\"");
			ok = false;
		} else if (n == 0 || n > CFG_NAME_MAX - 1) {
			cfg_vm_err(c, vm, f, "the name must be 1..%d characters long",
			       CFG_NAME_MAX - 1);
			ok = false;
		} else {
			for (int i = 0; i < n && ok; i++) {
				char ch = sw[i];

				if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
				      ch == '-' || ch == '_')) {
					if (ch > 0x20 && ch < 0x7f)
						cfg_vm_err(c, vm, f, "invalid character '%c' (use "
						       "a-z, 0-9, '-' and '_')", ch);
					else
						cfg_vm_err(c, vm, f, "invalid character 0x%02x (use "
						       "a-z, 0-9, '-' and '_')", (unsigned)(u8)ch);
					ok = false;
				}
			}
		}
	}
	if (slot < 0 || !ok)
		return;
	if (cfg_nr_virtio(vm) == CFG_MAX_VIRTIO) {
		cfg_vm_err(c, vm, field, "more than %d virtio devices in one VM", CFG_MAX_VIRTIO);
		return;
	}
	nic = &vm->nic[vm->nr_nics++];
	nic->slot = (u32)slot;
	memcpy(nic->mac, val[0], 6);
	memcpy(nic->sw, val[1], (size_t)n);
	nic->sw[n] = 0;
}

/* virtio-console@N { }: the VM's console (and named ports) in slot N; no properties yet. */
static void parse_vcon(struct cfg_ctx *c, struct cfg_vm *vm, int node, const char *name, int len)
{
	char field[CFG_SHOWN_MAX], prefix[CFG_SHOWN_MAX + 2];
	const char *pname;
	const void *v;
	int slot, n;

	cfg_printable(field, sizeof(field), name, (size_t)len);
	slot = virtio_slot(c, vm, field, name, len);
	snprintf(prefix, sizeof(prefix), "%s/", field);
	for (int prop = fdt_first_prop(c->fdt, node); prop >= 0;
	     prop = fdt_next_prop(c->fdt, prop))
		if (!fdt_prop_at(c->fdt, prop, &pname, &v, &n) && !cfg_ignored_prop(pname))
			cfg_unknown_field(c, vm, prefix, pname, strlen(pname));
	for (int child = fdt_first_child(c->fdt, node); child >= 0;
	     child = fdt_next_sibling(c->fdt, child))
		if ((pname = fdt_node_name(c->fdt, child, &n)))
			cfg_unknown_field(c, vm, prefix, pname, (size_t)n);
	if (slot < 0)
		return;
	if (vm->nr_vcons) {
		cfg_vm_err(c, vm, field, "a VM has at most one virtio-console (already in slot %u)",
			   vm->vcon_slot);
		return;
	}
	if (cfg_nr_virtio(vm) == CFG_MAX_VIRTIO) {
		cfg_vm_err(c, vm, field, "more than %d virtio devices in one VM", CFG_MAX_VIRTIO);
		return;
	}
	vm->nr_vcons = 1;
	vm->vcon_slot = (u32)slot;
}

/* The slot of the VM's virtio device i: disks first, then ports, then the console. */
static u32 dev_slot(const struct cfg_vm *vm, u32 i)
{
	if (i < vm->nr_disks)
		return vm->disk[i].slot;
	if (i < vm->nr_disks + vm->nr_nics)
		return vm->nic[i - vm->nr_disks].slot;
	return vm->vcon_slot;
}

static const char *dev_kind(const struct cfg_vm *vm, u32 i)
{
	return i < vm->nr_disks ? "virtio-blk" :
	       i < vm->nr_disks + vm->nr_nics ? "virtio-net" : "virtio-console";
}

/* Each virtio device's slot is used once and its registers overlap neither RAM nor the PL011. */
static void check_disks(struct cfg_ctx *c, struct cfg_vm *vm, bool ram_ok)
{
	for (u32 i = 0; i < cfg_nr_virtio(vm); i++) {
		u32 slot = dev_slot(vm, i);
		u64 base = CFG_VIRTIO_BASE + slot * CFG_VIRTIO_STRIDE;
		char field[CFG_SHOWN_MAX];

		snprintf(field, sizeof(field), "%s@%u", dev_kind(vm, i), slot);
		for (u32 j = 0; j < i; j++)
			if (dev_slot(vm, j) == slot)
				cfg_vm_err(c, vm, field, "slot %u is used twice", slot);
		if (ram_ok && ranges_overlap(base, CFG_VIRTIO_STRIDE, vm->ram.base, vm->ram.size))
			cfg_vm_err(c, vm, field, "0x%llx..0x%llx overlaps the VM's RAM 0x%llx..0x%llx",
			       (unsigned long long)base,
			       (unsigned long long)(base + CFG_VIRTIO_STRIDE),
			       (unsigned long long)vm->ram.base,
			       (unsigned long long)(vm->ram.base + vm->ram.size));
		if (vm->pl011.size == CFG_PL011_SIZE &&
		    ranges_overlap(base, CFG_VIRTIO_STRIDE, vm->pl011.base, vm->pl011.size))
			cfg_vm_err(c, vm, field, "0x%llx..0x%llx overlaps the PL011 at 0x%llx",
			       (unsigned long long)base,
			       (unsigned long long)(base + CFG_VIRTIO_STRIDE),
			       (unsigned long long)vm->pl011.base);
	}
}

/* The VM's subnodes: at most one pl011 (or pl011@...), virtio-blk@N disks, virtio-net@N ports,
 * at most one virtio-console@N, passthrough@... devices, nothing else. */
void cfg_parse_subnodes(struct cfg_ctx *c, struct cfg_vm *vm, int node, bool ram_ok)
{
	const char *name;
	int len, pl011 = -1, pt[CFG_MAX_PT + 1], nr_pt = 0;

	for (int child = fdt_first_child(c->fdt, node); child >= 0;
	     child = fdt_next_sibling(c->fdt, child)) {
		name = fdt_node_name(c->fdt, child, &len);
		if (!name)
			continue;
		if (cfg_node_is(name, len, "virtio-blk"))
			parse_disk(c, vm, child, name, len);
		else if (cfg_node_is(name, len, "virtio-net"))
			parse_nic(c, vm, child, name, len);
		else if (cfg_node_is(name, len, "virtio-console"))
			parse_vcon(c, vm, child, name, len);
		else if (cfg_node_is(name, len, "passthrough")) {
			if (nr_pt < CFG_MAX_PT + 1) /* one more is refused as too many */
				pt[nr_pt++] = child;
		}
		else if (!cfg_node_is(name, len, "pl011"))
			cfg_unknown_field(c, vm, "", name, (size_t)len);
		else if (pl011 >= 0)
			cfg_vm_err(c, vm, "pl011", "defined twice");
		else
			pl011 = child;
	}
	if (pl011 >= 0)
		parse_pl011(c, vm, pl011, ram_ok);
	check_disks(c, vm, ram_ok);
	/* After the virtio devices and the PL011: their places are known then. */
	for (int i = 0; i < nr_pt; i++)
		cfg_parse_passthrough(c, vm, pt[i], ram_ok);
}

/* A MAC address is used by one virtio-net port of the whole system: a later port repeating
 * an earlier one's refuses its VM. */
void cfg_check_macs(struct cfg_ctx *c, struct cfg_system *sys)
{
	for (u32 v = 0; v < sys->nr_vms; v++) {
		struct cfg_vm *vm = &sys->vm[v];

		for (u32 i = 0; i < vm->nr_nics; i++) {
			const u8 *m = vm->nic[i].mac;

			for (u32 w = 0; w <= v; w++) {
				const struct cfg_vm *o = &sys->vm[w];
				u32 end = w == v ? i : o->nr_nics, j;
				char f[CFG_SHOWN_MAX + 8];

				for (j = 0; j < end && memcmp(o->nic[j].mac, m, 6) != 0; j++)
					;
				if (j == end)
					continue;
				snprintf(f, sizeof(f), "virtio-net@%u/mac", vm->nic[i].slot);
				cfg_vm_err(c, vm, f, "%02x:%02x:%02x:%02x:%02x:%02x is already used by vm "
				       "'%s' (virtio-net@%u)", m[0], m[1], m[2], m[3], m[4], m[5],
				       o->name, o->nic[j].slot);
				break;
			}
		}
	}
}
