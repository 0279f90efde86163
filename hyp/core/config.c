/* Parses and validates the system configuration DTB (docs/config.md) into struct cfg_system.
 * Shared by the hypervisor and bhpack: every problem gets one message naming file, VM and field. */
#include <bulkhead/config.h>
#include <bulkhead/fdt.h>
#include <bulkhead/package.h>
#include <bulkhead/string.h>

#define CFG_COMPATIBLE "bulkhead,system-v1"
#define CFG_PL011_SIZE KiB(4)
#define CFG_SHOWN_MAX 32 /* bytes of a name from the blob shown in a message, with the NUL */

/* The properties a VM node may have, in the order they are checked. */
enum vm_field {
	F_VCPUS,
	F_PCPUS,
	F_PRIORITY,
	F_MEMORY,
	F_IMAGE,
	F_BOOTARGS,
	F_INITRD,
	F_DTB,
	F_COUNT
};
static const char *const vm_field_names[F_COUNT] = {
	"vcpus", "pcpus", "priority", "memory", "image", "bootargs", "initrd", "dtb",
};

/* State shared by the parsing helpers of one config_parse call. */
struct cfg_ctx {
	const struct fdt *fdt;
	const char *file;
	const struct cfg_limits *lim;
	struct cfg_errors *errs;
	u32 global_errors; /* errors not tied to a VM */
};

/* The raw values of a VM's known properties (NULL if absent). */
struct vm_props {
	const u8 *val[F_COUNT];
	int len[F_COUNT];
};

/* Records one message: the prefix (file, VM if any, field) and then the formatted reason. */
static void verr(struct cfg_ctx *c, struct cfg_vm *vm, const char *field, const char *fmt,
		 va_list ap)
{
	struct cfg_errors *e = c->errs;
	char *m;
	int n;

	if (vm)
		vm->valid = false;
	else
		c->global_errors++;
	if (e->count >= CFG_MAX_ERRORS) {
		e->dropped++;
		return;
	}
	m = e->msg[e->count++];
	if (vm)
		n = snprintf(m, CFG_ERR_LEN, "%s: vm '%s': field '%s': ", c->file, vm->name, field);
	else
		n = snprintf(m, CFG_ERR_LEN, "%s: field '%s': ", c->file, field);
	if (n >= 0 && n < CFG_ERR_LEN)
		vsnprintf(m + n, CFG_ERR_LEN - (size_t)n, fmt, ap);
}

/* An error about one field of a VM; marks the VM invalid. */
__attribute__((format(printf, 4, 5))) static void vm_err(struct cfg_ctx *c, struct cfg_vm *vm,
							 const char *field, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verr(c, vm, field, fmt, ap);
	va_end(ap);
}

/* An error not tied to a VM (the blob, the root, /vms). */
__attribute__((format(printf, 3, 4))) static void sys_err(struct cfg_ctx *c, const char *field,
							  const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verr(c, NULL, field, fmt, ap);
	va_end(ap);
}

/* Copies src[0..len) into dst (cap bytes) for a message: non-printable bytes become '?', and
 * a name too long for dst is cut. Names in the blob are not trusted to be readable. */
static void printable(char *dst, size_t cap, const char *src, size_t len)
{
	size_t i;

	for (i = 0; i < len && i + 1 < cap; i++)
		dst[i] = (src[i] >= 0x20 && src[i] < 0x7f) ? src[i] : '?';
	dst[i] = 0;
}

/* Text for an fdt_init error (see config.h). */
const char *config_fdt_reason(int err)
{
	switch (err) {
	case FDT_ERR_BADMAGIC:
		return "bad magic";
	case FDT_ERR_BADVERSION:
		return "unsupported version";
	case FDT_ERR_TRUNCATED:
		return "truncated";
	case FDT_ERR_BADOFFSET:
		return "block outside the blob";
	default:
		return "corrupt structure block";
	}
}

/* Checks the node name of a VM: 1..31 characters of a-z 0-9 - _, and not "hyp". */
static void check_name(struct cfg_ctx *c, struct cfg_vm *vm, const char *name, int len)
{
	if (len == 0) {
		vm_err(c, vm, "name", "the VM's node name is empty");
		return;
	}
	if (len > CFG_NAME_MAX - 1) {
		vm_err(c, vm, "name", "name is %d characters long (at most %d)", len,
		       CFG_NAME_MAX - 1);
		return;
	}
	for (int i = 0; i < len; i++) {
		char ch = name[i];

		if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '_')
			continue;
		if (ch > 0x20 && ch < 0x7f)
			vm_err(c, vm, "name", "invalid character '%c' (use a-z, 0-9, '-' and '_')",
			       ch);
		else
			vm_err(c, vm, "name",
			       "invalid character 0x%02x (use a-z, 0-9, '-' and '_')",
			       (unsigned)(u8)ch);
		return;
	}
	if (len == 3 && memcmp(name, "hyp", 3) == 0)
		vm_err(c, vm, "name", "'hyp' is reserved for the hypervisor's own messages");
}

/* Reports an unknown property or subnode; field is its (untrusted) name, prefix its parent. */
static void unknown_field(struct cfg_ctx *c, struct cfg_vm *vm, const char *prefix,
			  const char *name, size_t len)
{
	char shown[CFG_SHOWN_MAX], field[2 * CFG_SHOWN_MAX + 2]; /* prefix, name */

	printable(shown, sizeof(shown), name, len);
	snprintf(field, sizeof(field), "%s%s", prefix, shown);
	vm_err(c, vm, field, "unknown field '%s'", shown);
}

/* True for properties dtc may add to any node, which carry no configuration. */
static bool ignored_prop(const char *name)
{
	return strcmp(name, "name") == 0 || strcmp(name, "phandle") == 0;
}

/* Collects the VM's known properties; reports unknown and repeated ones. */
static void collect_props(struct cfg_ctx *c, int node, struct cfg_vm *vm, struct vm_props *p)
{
	const char *name;
	const void *val;
	int len, f;

	memset(p, 0, sizeof(*p));
	for (int prop = fdt_first_prop(c->fdt, node); prop >= 0;
	     prop = fdt_next_prop(c->fdt, prop)) {
		if (fdt_prop_at(c->fdt, prop, &name, &val, &len) || ignored_prop(name))
			continue;
		for (f = 0; f < F_COUNT && strcmp(name, vm_field_names[f]) != 0; f++)
			;
		if (f == F_COUNT)
			unknown_field(c, vm, "", name, strlen(name));
		else if (p->val[f])
			vm_err(c, vm, vm_field_names[f], "defined twice");
		else {
			p->val[f] = val;
			p->len[f] = len;
		}
	}
}

/* Reads a one-cell property; reports a missing (if required) or malformed one. */
static bool one_cell(struct cfg_ctx *c, struct cfg_vm *vm, const struct vm_props *p,
		     enum vm_field f, bool required, u32 *out)
{
	if (!p->val[f]) {
		if (required)
			vm_err(c, vm, vm_field_names[f], "missing (required)");
		return false;
	}
	if (p->len[f] != 4) {
		vm_err(c, vm, vm_field_names[f], "must be one cell, as in <1>");
		return false;
	}
	*out = fdt32_ld(p->val[f]);
	return true;
}

/* vcpus: 1..CFG_MAX_VCPUS. Leaves vm->vcpus 0 if it is wrong. */
static void parse_vcpus(struct cfg_ctx *c, struct cfg_vm *vm, const struct vm_props *p)
{
	u32 v;

	if (!one_cell(c, vm, p, F_VCPUS, true, &v))
		return;
	if (v < 1 || v > CFG_MAX_VCPUS) {
		vm_err(c, vm, "vcpus", "%u is out of range (1..%u)", v, CFG_MAX_VCPUS);
		return;
	}
	vm->vcpus = v;
}

/* pcpus: one physical CPU per vCPU, each one the machine has (when that is known). */
static void parse_pcpus(struct cfg_ctx *c, struct cfg_vm *vm, const struct vm_props *p)
{
	u32 n, nr_pcpus = c->lim ? c->lim->nr_pcpus : 0;

	if (!p->val[F_PCPUS]) {
		vm_err(c, vm, "pcpus", "missing (required)");
		return;
	}
	if (p->len[F_PCPUS] <= 0 || p->len[F_PCPUS] % 4) {
		vm_err(c, vm, "pcpus", "must be a list of cells, one per vCPU, as in <0 1>");
		return;
	}
	n = (u32)p->len[F_PCPUS] / 4;
	if (n > CFG_MAX_VCPUS)
		vm_err(c, vm, "pcpus", "has %u entries (at most %u)", n, CFG_MAX_VCPUS);
	else if (vm->vcpus && n != vm->vcpus)
		vm_err(c, vm, "pcpus", "needs one entry per vCPU: has %u, vcpus is %u", n,
		       vm->vcpus);
	for (u32 i = 0; i < n && i < CFG_MAX_VCPUS; i++) {
		vm->pcpus[i] = fdt32_ld(p->val[F_PCPUS] + 4 * i);
		if (nr_pcpus && vm->pcpus[i] >= nr_pcpus)
			vm_err(c, vm, "pcpus",
			       "physical CPU %u does not exist (the machine has %u)", vm->pcpus[i],
			       nr_pcpus);
	}
}

/* priority: optional, 0..CFG_MAX_PRIORITY. */
static void parse_priority(struct cfg_ctx *c, struct cfg_vm *vm, const struct vm_props *p)
{
	u32 v;

	if (!one_cell(c, vm, p, F_PRIORITY, false, &v))
		return;
	if (v > CFG_MAX_PRIORITY)
		vm_err(c, vm, "priority", "%u is out of range (0..%u)", v, CFG_MAX_PRIORITY);
	else
		vm->priority = v;
}

/* True if [base, base+size) is non-empty and ends at or below the IPA limit. */
static bool in_ipa_range(u64 base, u64 size)
{
	return size && base < CFG_IPA_LIMIT && size <= CFG_IPA_LIMIT - base;
}

/* memory: <base-hi base-lo size-hi size-lo>, 2 MiB granular, below the IPA limit, clear of the
 * device window. Returns true if vm->ram can be used for overlap checks. */
static bool parse_memory(struct cfg_ctx *c, struct cfg_vm *vm, const struct vm_props *p)
{
	u64 base, size;

	if (!p->val[F_MEMORY]) {
		vm_err(c, vm, "memory", "missing (required)");
		return false;
	}
	if (p->len[F_MEMORY] != 16) {
		vm_err(c, vm, "memory", "must be 4 cells <base-hi base-lo size-hi size-lo>");
		return false;
	}
	base = fdt_cells_ld(p->val[F_MEMORY], 2);
	size = fdt_cells_ld(p->val[F_MEMORY] + 8, 2);
	vm->ram.base = base;
	vm->ram.size = size;
	if (!IS_ALIGNED(base, CFG_RAM_ALIGN))
		vm_err(c, vm, "memory", "base 0x%llx is not a multiple of 2 MiB",
		       (unsigned long long)base);
	if (!IS_ALIGNED(size, CFG_RAM_ALIGN))
		vm_err(c, vm, "memory", "size 0x%llx is not a multiple of 2 MiB",
		       (unsigned long long)size);
	else if (size == 0)
		vm_err(c, vm, "memory", "size is 0 (at least 2 MiB)");
	else if (size > CFG_RAM_MAX)
		vm_err(c, vm, "memory", "size 0x%llx is more than 4 GiB", (unsigned long long)size);
	if (!size)
		return false;
	if (!in_ipa_range(base, size)) {
		vm_err(c, vm, "memory",
		       "base 0x%llx + size 0x%llx ends above 512 GiB "
		       "(the 39-bit stage-2 input range)",
		       (unsigned long long)base, (unsigned long long)size);
		return false;
	}
	if (ranges_overlap(base, size, CFG_DEVWIN_BASE, CFG_DEVWIN_SIZE))
		vm_err(c, vm, "memory", "0x%llx..0x%llx overlaps the device window 0x%llx..0x%llx",
		       (unsigned long long)base, (unsigned long long)(base + size), CFG_DEVWIN_BASE,
		       CFG_DEVWIN_BASE + CFG_DEVWIN_SIZE);
	return true;
}

/* A property that must be one NUL-terminated string (example shows how). Returns it and its
 * length in *n, or NULL if it is absent (reported if required) or malformed (reported). */
static const char *one_string(struct cfg_ctx *c, struct cfg_vm *vm, const struct vm_props *p,
			      enum vm_field f, bool required, const char *example, int *n)
{
	const char *s = (const char *)p->val[f];
	int len = p->len[f];

	*n = 0;
	if (!s) {
		if (required)
			vm_err(c, vm, vm_field_names[f], "missing (required)");
		return NULL;
	}
	while (*n < len && s[*n])
		(*n)++;
	if (*n + 1 != len) {
		vm_err(c, vm, vm_field_names[f], "must be one string, as in \"%s\"", example);
		return NULL;
	}
	return s;
}

/* image, initrd, dtb: one non-empty string that fits a package path. */
static const char *parse_path(struct cfg_ctx *c, struct cfg_vm *vm, const struct vm_props *p,
			      enum vm_field f, bool required, const char *example)
{
	int n;
	const char *s = one_string(c, vm, p, f, required, example, &n);

	if (!s)
		return NULL;
	if (n == 0) {
		vm_err(c, vm, vm_field_names[f], "the path is empty");
		return NULL;
	}
	if (n >= PKG_PATH_LEN) {
		vm_err(c, vm, vm_field_names[f], "the path is %d characters long (at most %d)", n,
		       PKG_PATH_LEN - 1);
		return NULL;
	}
	return s;
}

/* bootargs: optional, one string of fewer than CFG_BOOTARGS_MAX bytes (it may be empty). */
static void parse_bootargs(struct cfg_ctx *c, struct cfg_vm *vm, const struct vm_props *p)
{
	int n;
	const char *s = one_string(c, vm, p, F_BOOTARGS, false, "console=ttyAMA0", &n);

	if (!s)
		return;
	if (n >= CFG_BOOTARGS_MAX) {
		vm_err(c, vm, "bootargs", "is %d characters long (at most %d)", n,
		       CFG_BOOTARGS_MAX - 1);
		return;
	}
	vm->bootargs = s;
}

/* Checks the pl011 node's properties (only reg) and that it has no subnodes. */
static const u8 *pl011_reg(struct cfg_ctx *c, struct cfg_vm *vm, int node, int *reg_len)
{
	const u8 *reg = NULL;
	const char *name;
	const void *val;
	int len, nlen, child;

	for (int prop = fdt_first_prop(c->fdt, node); prop >= 0;
	     prop = fdt_next_prop(c->fdt, prop)) {
		if (fdt_prop_at(c->fdt, prop, &name, &val, &len) || ignored_prop(name))
			continue;
		if (strcmp(name, "reg") != 0)
			unknown_field(c, vm, "pl011/", name, strlen(name));
		else if (reg)
			vm_err(c, vm, "pl011/reg", "defined twice");
		else {
			reg = val;
			*reg_len = len;
		}
	}
	for (child = fdt_first_child(c->fdt, node); child >= 0;
	     child = fdt_next_sibling(c->fdt, child)) {
		name = fdt_node_name(c->fdt, child, &nlen);
		if (name)
			unknown_field(c, vm, "pl011/", name, (size_t)nlen);
	}
	return reg;
}

/* pl011 { reg = <base-hi base-lo size-hi size-lo>; }: 4 KiB at a 4 KiB boundary, outside RAM. */
static void parse_pl011(struct cfg_ctx *c, struct cfg_vm *vm, int node, bool ram_ok)
{
	int len = 0;
	const u8 *reg = pl011_reg(c, vm, node, &len);
	u64 base, size;

	if (!reg) {
		vm_err(c, vm, "pl011", "missing 'reg'");
		return;
	}
	if (len != 16) {
		vm_err(c, vm, "pl011", "reg must be 4 cells <base-hi base-lo size-hi size-lo>");
		return;
	}
	base = fdt_cells_ld(reg, 2);
	size = fdt_cells_ld(reg + 8, 2);
	vm->pl011.base = base;
	vm->pl011.size = size;
	if (!IS_ALIGNED(base, KiB(4)))
		vm_err(c, vm, "pl011", "base 0x%llx is not 4 KiB aligned",
		       (unsigned long long)base);
	if (size != CFG_PL011_SIZE) {
		vm_err(c, vm, "pl011", "size 0x%llx is not 4 KiB (0x1000)",
		       (unsigned long long)size);
		return;
	}
	if (!in_ipa_range(base, size))
		vm_err(c, vm, "pl011",
		       "base 0x%llx ends above 512 GiB (the 39-bit stage-2 input range)",
		       (unsigned long long)base);
	else if (ram_ok && ranges_overlap(base, size, vm->ram.base, vm->ram.size))
		vm_err(c, vm, "pl011", "0x%llx..0x%llx overlaps the VM's RAM 0x%llx..0x%llx",
		       (unsigned long long)base, (unsigned long long)(base + size),
		       (unsigned long long)vm->ram.base,
		       (unsigned long long)(vm->ram.base + vm->ram.size));
}

/* True if a node is called base, or base@<unit address>. */
static bool node_is(const char *name, int len, const char *base)
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
		vm_err(c, vm, field, "needs a slot number, as in virtio-blk@0");
		return -1;
	}
	for (int i = at + 1; i < len && slot >= 0; i++)
		slot = (name[i] >= '0' && name[i] <= '9' && i - at <= 2) ?
			       slot * 10 + (name[i] - '0') : -1;
	if (len - at < 2 || slot < 0 || slot >= CFG_VIRTIO_SLOTS) {
		vm_err(c, vm, field, "the slot after '@' must be a decimal number from 0 to %d",
		       CFG_VIRTIO_SLOTS - 1);
		return -1;
	}
	return slot;
}

/* A virtio-blk node's properties (size, image) into val/len; anything else is reported. */
static void disk_props(struct cfg_ctx *c, struct cfg_vm *vm, int node, const char *field,
		       const u8 **val, int *len)
{
	static const char *const names[2] = { "size", "image" };
	char prefix[CFG_SHOWN_MAX + 2], twice[CFG_SHOWN_MAX + 8];
	const char *name;
	const void *v;
	int n, f;

	snprintf(prefix, sizeof(prefix), "%s/", field);
	for (int prop = fdt_first_prop(c->fdt, node); prop >= 0;
	     prop = fdt_next_prop(c->fdt, prop)) {
		if (fdt_prop_at(c->fdt, prop, &name, &v, &n) || ignored_prop(name))
			continue;
		for (f = 0; f < 2 && strcmp(name, names[f]) != 0; f++)
			;
		if (f == 2) {
			unknown_field(c, vm, prefix, name, strlen(name));
		} else if (val[f]) {
			snprintf(twice, sizeof(twice), "%s%s", prefix, name);
			vm_err(c, vm, twice, "defined twice");
		} else {
			val[f] = v;
			len[f] = n;
		}
	}
	for (int child = fdt_first_child(c->fdt, node); child >= 0;
	     child = fdt_next_sibling(c->fdt, child))
		if ((name = fdt_node_name(c->fdt, child, &n)))
			unknown_field(c, vm, prefix, name, (size_t)n);
}

/* size = <size-hi size-lo>: a multiple of CFG_SECTOR, at most CFG_DISK_MAX. 0 if wrong. */
static u64 disk_size(struct cfg_ctx *c, struct cfg_vm *vm, const char *field, const u8 *val,
		     int len)
{
	char f[CFG_SHOWN_MAX + 8];
	u64 size;

	snprintf(f, sizeof(f), "%s/size", field);
	if (len != 8) {
		vm_err(c, vm, f, "must be 2 cells <size-hi size-lo>");
		return 0;
	}
	size = fdt_cells_ld(val, 2);
	if (!size)
		vm_err(c, vm, f, "size is 0 (at least 512 bytes)");
	else if (size % CFG_SECTOR)
		vm_err(c, vm, f, "0x%llx is not a multiple of 512 bytes", (unsigned long long)size);
	else if (size > CFG_DISK_MAX)
		vm_err(c, vm, f, "0x%llx is more than 1 GiB", (unsigned long long)size);
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
		vm_err(c, vm, f, "must be one string, as in \"disks/root.img\"");
	else if (n == 0)
		vm_err(c, vm, f, "the path is empty");
	else if (n >= PKG_PATH_LEN)
		vm_err(c, vm, f, "the path is %d characters long (at most %d)", n,
		       PKG_PATH_LEN - 1);
	else
		return s;
	return NULL;
}

/* virtio-blk@N { size = <hi lo>; image = "path"; }: one disk in slot N (either or both). */
static void parse_disk(struct cfg_ctx *c, struct cfg_vm *vm, int node, const char *name,
		       int len)
{
	char field[CFG_SHOWN_MAX];
	const u8 *val[2] = { NULL, NULL };
	int vlen[2] = { 0, 0 }, slot;
	struct cfg_disk *d;

	printable(field, sizeof(field), name, (size_t)len);
	slot = virtio_slot(c, vm, field, name, len);
	disk_props(c, vm, node, field, val, vlen);
	if (!val[0] && !val[1])
		vm_err(c, vm, field, "needs 'size' (an empty disk) or 'image' (or both)");
	if (slot < 0)
		return;
	if (vm->nr_disks + vm->nr_nics == CFG_MAX_VIRTIO) {
		vm_err(c, vm, field, "more than %d virtio devices in one VM", CFG_MAX_VIRTIO);
		return;
	}
	d = &vm->disk[vm->nr_disks++];
	d->slot = (u32)slot;
	d->size = val[0] ? disk_size(c, vm, field, val[0], vlen[0]) : 0;
	d->image = val[1] ? disk_image(c, vm, field, (const char *)val[1], vlen[1]) : NULL;
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

	printable(field, sizeof(field), name, (size_t)len);
	slot = virtio_slot(c, vm, field, name, len);
	snprintf(prefix, sizeof(prefix), "%s/", field);
	for (int prop = fdt_first_prop(c->fdt, node); prop >= 0;
	     prop = fdt_next_prop(c->fdt, prop)) {
		if (fdt_prop_at(c->fdt, prop, &pname, &v, &n) || ignored_prop(pname))
			continue;
		for (k = 0; k < 2 && strcmp(pname, names[k]) != 0; k++)
			;
		if (k == 2) {
			unknown_field(c, vm, prefix, pname, strlen(pname));
		} else if (val[k]) {
			snprintf(f, sizeof(f), "%s%s", prefix, pname);
			vm_err(c, vm, f, "defined twice");
		} else {
			val[k] = v;
			vlen[k] = n;
		}
	}
	for (int child = fdt_first_child(c->fdt, node); child >= 0;
	     child = fdt_next_sibling(c->fdt, child))
		if ((pname = fdt_node_name(c->fdt, child, &n)))
			unknown_field(c, vm, prefix, pname, (size_t)n);
	snprintf(f, sizeof(f), "%smac", prefix);
	if (!val[0]) {
		vm_err(c, vm, f, "missing (required)");
		ok = false;
	} else if (vlen[0] != 6) {
		vm_err(c, vm, f, "must be 6 bytes, as in [52 54 00 12 34 01]");
		ok = false;
	} else if (val[0][0] & 1) {
		vm_err(c, vm, f, "%02x:%02x:%02x:%02x:%02x:%02x is a multicast address (the first "
		       "byte must be even)", val[0][0], val[0][1], val[0][2], val[0][3], val[0][4],
		       val[0][5]);
		ok = false;
	} else if (!(val[0][0] | val[0][1] | val[0][2] | val[0][3] | val[0][4] | val[0][5])) {
		vm_err(c, vm, f, "00:00:00:00:00:00 is not a valid address");
		ok = false;
	}
	snprintf(f, sizeof(f), "%sswitch", prefix);
	n = 0;
	if (!val[1]) {
		vm_err(c, vm, f, "missing (required)");
		ok = false;
	} else {
		const char *sw = (const char *)val[1];

		while (n < vlen[1] && sw[n])
			n++;
		if (n + 1 != vlen[1]) {
			vm_err(c, vm, f, "must be one string, as in \"lan0\"");
			ok = false;
		} else if (n == 0 || n > CFG_NAME_MAX - 1) {
			vm_err(c, vm, f, "the name must be 1..%d characters long",
			       CFG_NAME_MAX - 1);
			ok = false;
		} else {
			for (int i = 0; i < n && ok; i++) {
				char ch = sw[i];

				if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
				      ch == '-' || ch == '_')) {
					if (ch > 0x20 && ch < 0x7f)
						vm_err(c, vm, f, "invalid character '%c' (use "
						       "a-z, 0-9, '-' and '_')", ch);
					else
						vm_err(c, vm, f, "invalid character 0x%02x (use "
						       "a-z, 0-9, '-' and '_')", (unsigned)(u8)ch);
					ok = false;
				}
			}
		}
	}
	if (slot < 0 || !ok)
		return;
	if (vm->nr_disks + vm->nr_nics == CFG_MAX_VIRTIO) {
		vm_err(c, vm, field, "more than %d virtio devices in one VM", CFG_MAX_VIRTIO);
		return;
	}
	nic = &vm->nic[vm->nr_nics++];
	nic->slot = (u32)slot;
	memcpy(nic->mac, val[0], 6);
	memcpy(nic->sw, val[1], (size_t)n);
	nic->sw[n] = 0;
}

/* The slot of the VM's virtio device i: disks first, then ports. */
static u32 dev_slot(const struct cfg_vm *vm, u32 i)
{
	return i < vm->nr_disks ? vm->disk[i].slot : vm->nic[i - vm->nr_disks].slot;
}

/* Each virtio device's slot is used once and its registers overlap neither RAM nor the PL011. */
static void check_disks(struct cfg_ctx *c, struct cfg_vm *vm, bool ram_ok)
{
	for (u32 i = 0; i < vm->nr_disks + vm->nr_nics; i++) {
		u32 slot = dev_slot(vm, i);
		u64 base = CFG_VIRTIO_BASE + slot * CFG_VIRTIO_STRIDE;
		char field[CFG_SHOWN_MAX];

		snprintf(field, sizeof(field), "%s@%u", i < vm->nr_disks ? "virtio-blk" :
			 "virtio-net", slot);
		for (u32 j = 0; j < i; j++)
			if (dev_slot(vm, j) == slot)
				vm_err(c, vm, field, "slot %u is used twice", slot);
		if (ram_ok && ranges_overlap(base, CFG_VIRTIO_STRIDE, vm->ram.base, vm->ram.size))
			vm_err(c, vm, field, "0x%llx..0x%llx overlaps the VM's RAM 0x%llx..0x%llx",
			       (unsigned long long)base,
			       (unsigned long long)(base + CFG_VIRTIO_STRIDE),
			       (unsigned long long)vm->ram.base,
			       (unsigned long long)(vm->ram.base + vm->ram.size));
		if (vm->pl011.size == CFG_PL011_SIZE &&
		    ranges_overlap(base, CFG_VIRTIO_STRIDE, vm->pl011.base, vm->pl011.size))
			vm_err(c, vm, field, "0x%llx..0x%llx overlaps the PL011 at 0x%llx",
			       (unsigned long long)base,
			       (unsigned long long)(base + CFG_VIRTIO_STRIDE),
			       (unsigned long long)vm->pl011.base);
	}
}

/* The VM's subnodes: at most one pl011 (or pl011@...), virtio-blk@N disks, nothing else. */
static void parse_subnodes(struct cfg_ctx *c, struct cfg_vm *vm, int node, bool ram_ok)
{
	const char *name;
	int len, pl011 = -1;

	for (int child = fdt_first_child(c->fdt, node); child >= 0;
	     child = fdt_next_sibling(c->fdt, child)) {
		name = fdt_node_name(c->fdt, child, &len);
		if (!name)
			continue;
		if (node_is(name, len, "virtio-blk"))
			parse_disk(c, vm, child, name, len);
		else if (node_is(name, len, "virtio-net"))
			parse_nic(c, vm, child, name, len);
		else if (!node_is(name, len, "pl011"))
			unknown_field(c, vm, "", name, (size_t)len);
		else if (pl011 >= 0)
			vm_err(c, vm, "pl011", "defined twice");
		else
			pl011 = child;
	}
	if (pl011 >= 0)
		parse_pl011(c, vm, pl011, ram_ok);
	check_disks(c, vm, ram_ok);
}

/* Parses one VM node into vm; every problem is reported and marks the VM invalid. */
static void parse_vm(struct cfg_ctx *c, int node, u32 id, struct cfg_vm *vm)
{
	struct vm_props p;
	int len = 0;
	const char *name = fdt_node_name(c->fdt, node, &len);
	bool ram_ok;

	vm->id = id;
	vm->valid = true;
	vm->priority = CFG_DEFAULT_PRIORITY;
	vm->pl011.base = CFG_DEFAULT_PL011;
	vm->pl011.size = CFG_PL011_SIZE;
	printable(vm->name, sizeof(vm->name), name ? name : "", name ? (size_t)len : 0);
	check_name(c, vm, name ? name : "", len);
	collect_props(c, node, vm, &p);
	parse_vcpus(c, vm, &p);
	parse_pcpus(c, vm, &p);
	parse_priority(c, vm, &p);
	ram_ok = parse_memory(c, vm, &p);
	vm->image = parse_path(c, vm, &p, F_IMAGE, true, "guests/hello.bin");
	parse_bootargs(c, vm, &p);
	vm->initrd = parse_path(c, vm, &p, F_INITRD, false, "linux/initrd.cpio.gz");
	vm->dtb = parse_path(c, vm, &p, F_DTB, false, "linux/vm.dtb");
	parse_subnodes(c, vm, node, ram_ok);
}

/* Refuses a VM whose node name repeats an earlier VM's (dtc refuses that, the blob may not). */
static void check_duplicate(struct cfg_ctx *c, struct cfg_system *sys, const int *nodes, u32 i)
{
	int len, olen;
	const char *name = fdt_node_name(c->fdt, nodes[i], &len), *other;

	for (u32 j = 0; name && j < i; j++) {
		other = fdt_node_name(c->fdt, nodes[j], &olen);
		if (other && olen == len && memcmp(name, other, (size_t)len) == 0) {
			vm_err(c, &sys->vm[i], "name", "VM %u has the same name", j);
			return;
		}
	}
}

/* A MAC address is used by one virtio-net port of the whole system: a later port repeating
 * an earlier one's refuses its VM. */
static void check_macs(struct cfg_ctx *c, struct cfg_system *sys)
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
				vm_err(c, vm, f, "%02x:%02x:%02x:%02x:%02x:%02x is already used by vm "
				       "'%s' (virtio-net@%u)", m[0], m[1], m[2], m[3], m[4], m[5],
				       o->name, o->nic[j].slot);
				break;
			}
		}
	}
}

/* Parses every child of /vms, in file order. */
static void parse_vms(struct cfg_ctx *c, int vms, struct cfg_system *sys)
{
	int nodes[CFG_MAX_VMS];
	u32 count = 0;

	for (int node = fdt_first_child(c->fdt, vms); node >= 0;
	     node = fdt_next_sibling(c->fdt, node), count++) {
		if (count >= CFG_MAX_VMS)
			continue;
		nodes[count] = node;
		parse_vm(c, node, count, &sys->vm[count]);
		check_duplicate(c, sys, nodes, count);
	}
	sys->nr_vms = MIN(count, (u32)CFG_MAX_VMS);
	check_macs(c, sys);
	if (count == 0)
		sys_err(c, "/vms", "no VMs defined");
	else if (count > CFG_MAX_VMS)
		sys_err(c, "/vms", "%u VMs defined (at most %u)", count, CFG_MAX_VMS);
}

/* --- shared-memory channels (/channels) --- */

/* An error about one field of a channel ("file: channel 'x': field 'y': reason"); marks the
 * channel invalid (the VMs it names are not affected). */
__attribute__((format(printf, 4, 5))) static void chan_err(struct cfg_ctx *c,
							   struct cfg_channel *ch,
							   const char *field, const char *fmt, ...)
{
	struct cfg_errors *e = c->errs;
	va_list ap;
	char *m;
	int n;

	ch->valid = false;
	if (e->count >= CFG_MAX_ERRORS) {
		e->dropped++;
		return;
	}
	m = e->msg[e->count++];
	n = snprintf(m, CFG_ERR_LEN, "%s: channel '%s': field '%s': ", c->file, ch->name, field);
	va_start(ap, fmt);
	if (n >= 0 && n < CFG_ERR_LEN)
		vsnprintf(m + n, CFG_ERR_LEN - (size_t)n, fmt, ap);
	va_end(ap);
}

/* The channel's node name: the same rules as a VM's (1..31 characters of a-z 0-9 - _). */
static void chan_name(struct cfg_ctx *c, struct cfg_channel *ch, const char *name, int len)
{
	if (len == 0) {
		chan_err(c, ch, "name", "the channel's node name is empty");
		return;
	}
	if (len > CFG_NAME_MAX - 1) {
		chan_err(c, ch, "name", "name is %d characters long (at most %d)", len,
			 CFG_NAME_MAX - 1);
		return;
	}
	for (int i = 0; i < len; i++) {
		char ch_ = name[i];

		if (!((ch_ >= 'a' && ch_ <= 'z') || (ch_ >= '0' && ch_ <= '9') || ch_ == '-' ||
		      ch_ == '_')) {
			if (ch_ > 0x20 && ch_ < 0x7f)
				chan_err(c, ch, "name",
					 "invalid character '%c' (use a-z, 0-9, '-' and '_')", ch_);
			else
				chan_err(c, ch, "name",
					 "invalid character 0x%02x (use a-z, 0-9, '-' and '_')",
					 (unsigned)(u8)ch_);
			return;
		}
	}
}

/* vms = "a", "b": two distinct VMs of /vms, both valid. Fills ch->vm; false if unusable. */
static bool chan_vms(struct cfg_ctx *c, struct cfg_channel *ch, const struct cfg_system *sys,
		     const char *val, int len)
{
	const char *s[2];
	int n[2], at = 0, k;
	char shown[CFG_SHOWN_MAX];
	bool ok = true;

	if (!val) {
		chan_err(c, ch, "vms", "missing (required)");
		return false;
	}
	for (k = 0; k < 2 && at < len; k++) {
		s[k] = val + at;
		n[k] = 0;
		while (at + n[k] < len && s[k][n[k]])
			n[k]++;
		at += n[k] + 1;
		if (at > len || n[k] == 0)
			break;
	}
	if (k != 2 || at != len) {
		chan_err(c, ch, "vms", "must be two VM names, as in \"alpha\", \"beta\"");
		return false;
	}
	for (k = 0; k < 2; k++) {
		u32 i;

		for (i = 0; i < sys->nr_vms; i++)
			if ((int)strlen(sys->vm[i].name) == n[k] &&
			    memcmp(sys->vm[i].name, s[k], (size_t)n[k]) == 0)
				break;
		printable(shown, sizeof(shown), s[k], (size_t)n[k]);
		if (i == sys->nr_vms) {
			chan_err(c, ch, "vms", "VM '%s' does not exist", shown);
			ok = false;
			continue;
		}
		ch->vm[k] = i;
		if (k == 1 && ok && ch->vm[0] == i) {
			chan_err(c, ch, "vms", "names VM '%s' twice (a channel joins two VMs)", shown);
			return false;
		}
		if (!sys->vm[i].valid) {
			chan_err(c, ch, "vms", "VM '%s' is refused (see its errors)", shown);
			ok = false;
		}
	}
	return ok;
}

/* A 2-cell property of a channel ("size" or "ipa"): false if missing or malformed. */
static bool chan_u64(struct cfg_ctx *c, struct cfg_channel *ch, const char *field,
		     const u8 *val, int len, const char *example, u64 *out)
{
	if (!val) {
		chan_err(c, ch, field, "missing (required)");
		return false;
	}
	if (len != 8) {
		chan_err(c, ch, field, "must be 2 cells %s", example);
		return false;
	}
	*out = fdt_cells_ld(val, 2);
	return true;
}

/* Where the channel's span [ipa, ipa + size + doorbell) may not be in VM vm: its RAM, the
 * device window, the virtio-mmio slots, its PL011, an earlier channel of the same VM. */
static void chan_place(struct cfg_ctx *c, struct cfg_channel *ch, const struct cfg_system *sys,
		       const struct cfg_vm *vm)
{
	u64 base = ch->ipa, span = ch->size + CFG_CHAN_DOORBELL;
	unsigned long long b = base, e = base + span;

	if (vm->ram.size && ranges_overlap(base, span, vm->ram.base, vm->ram.size))
		chan_err(c, ch, "ipa", "0x%llx..0x%llx overlaps the RAM of VM '%s' (0x%llx..0x%llx)",
			 b, e, vm->name, (unsigned long long)vm->ram.base,
			 (unsigned long long)(vm->ram.base + vm->ram.size));
	if (vm->pl011.size && ranges_overlap(base, span, vm->pl011.base, vm->pl011.size))
		chan_err(c, ch, "ipa", "0x%llx..0x%llx overlaps the PL011 of VM '%s' at 0x%llx", b,
			 e, vm->name, (unsigned long long)vm->pl011.base);
	for (u32 j = 0; j < ch->id; j++) {
		const struct cfg_channel *o = &sys->chan[j];

		if (o->size && (o->vm[0] == vm->id || o->vm[1] == vm->id) &&
		    ranges_overlap(base, span, o->ipa, o->size + CFG_CHAN_DOORBELL))
			chan_err(c, ch, "ipa", "0x%llx..0x%llx overlaps channel '%s' in VM '%s'", b,
				 e, o->name, vm->name);
	}
}

/* One channel node: vms, size, ipa; nothing else. */
static void parse_channel(struct cfg_ctx *c, int node, struct cfg_system *sys,
			  struct cfg_channel *ch)
{
	static const char *const names[3] = { "vms", "size", "ipa" };
	const u8 *val[3] = { NULL, NULL, NULL };
	int vlen[3] = { 0, 0, 0 }, len = 0, f;
	const char *name = fdt_node_name(c->fdt, node, &len), *pname;
	const void *v;
	char shown[CFG_SHOWN_MAX];
	bool vms_ok, size_ok, ipa_ok;
	u64 size = 0, ipa = 0;

	ch->valid = true;
	printable(ch->name, sizeof(ch->name), name ? name : "", name ? (size_t)len : 0);
	chan_name(c, ch, name ? name : "", name ? len : 0);
	for (int prop = fdt_first_prop(c->fdt, node); prop >= 0;
	     prop = fdt_next_prop(c->fdt, prop)) {
		if (fdt_prop_at(c->fdt, prop, &pname, &v, &len) || ignored_prop(pname))
			continue;
		for (f = 0; f < 3 && strcmp(pname, names[f]) != 0; f++)
			;
		printable(shown, sizeof(shown), pname, strlen(pname));
		if (f == 3)
			chan_err(c, ch, shown, "unknown field '%s'", shown);
		else if (val[f])
			chan_err(c, ch, names[f], "defined twice");
		else {
			val[f] = v;
			vlen[f] = len;
		}
	}
	for (int child = fdt_first_child(c->fdt, node); child >= 0;
	     child = fdt_next_sibling(c->fdt, child))
		if ((pname = fdt_node_name(c->fdt, child, &len))) {
			printable(shown, sizeof(shown), pname, (size_t)len);
			chan_err(c, ch, shown, "unknown field '%s'", shown);
		}
	vms_ok = chan_vms(c, ch, sys, (const char *)val[0], vlen[0]);
	size_ok = chan_u64(c, ch, "size", val[1], vlen[1], "<size-hi size-lo>", &size);
	if (size_ok && !size) {
		chan_err(c, ch, "size", "size is 0 (at least 4 KiB)");
		size_ok = false;
	} else if (size_ok && !IS_ALIGNED(size, KiB(4))) {
		chan_err(c, ch, "size", "0x%llx is not a multiple of 4 KiB", (unsigned long long)size);
		size_ok = false;
	} else if (size_ok && size > CFG_CHAN_SIZE_MAX) {
		chan_err(c, ch, "size", "0x%llx is more than 16 MiB", (unsigned long long)size);
		size_ok = false;
	}
	ipa_ok = chan_u64(c, ch, "ipa", val[2], vlen[2], "<base-hi base-lo>", &ipa);
	if (ipa_ok && !IS_ALIGNED(ipa, KiB(4))) {
		chan_err(c, ch, "ipa", "0x%llx is not 4 KiB aligned", (unsigned long long)ipa);
		ipa_ok = false;
	}
	if (!size_ok || !ipa_ok)
		return;
	if (!in_ipa_range(ipa, size + CFG_CHAN_DOORBELL)) {
		chan_err(c, ch, "ipa",
			 "0x%llx + size 0x%llx and the doorbell page end above 512 GiB "
			 "(the 39-bit stage-2 input range)",
			 (unsigned long long)ipa, (unsigned long long)size);
		return;
	}
	if (ranges_overlap(ipa, size + CFG_CHAN_DOORBELL, CFG_DEVWIN_BASE, CFG_DEVWIN_SIZE))
		chan_err(c, ch, "ipa", "0x%llx..0x%llx overlaps the device window 0x%llx..0x%llx",
			 (unsigned long long)ipa,
			 (unsigned long long)(ipa + size + CFG_CHAN_DOORBELL), CFG_DEVWIN_BASE,
			 CFG_DEVWIN_BASE + CFG_DEVWIN_SIZE);
	if (ranges_overlap(ipa, size + CFG_CHAN_DOORBELL, CFG_VIRTIO_BASE, CFG_VIRTIO_WINDOW))
		chan_err(c, ch, "ipa",
			 "0x%llx..0x%llx overlaps the virtio-mmio slots 0x%llx..0x%llx",
			 (unsigned long long)ipa,
			 (unsigned long long)(ipa + size + CFG_CHAN_DOORBELL), CFG_VIRTIO_BASE,
			 CFG_VIRTIO_BASE + CFG_VIRTIO_WINDOW);
	if (!vms_ok)
		return;
	ch->ipa = ipa;
	ch->size = size;
	for (int k = 0; k < 2; k++)
		chan_place(c, ch, sys, &sys->vm[ch->vm[k]]);
	if (!ch->valid)
		ch->size = 0; /* later channels are not checked against a refused one */
}

/* /channels: optional, at most CFG_MAX_CHANNELS children, after every VM is parsed. */
static void parse_channels(struct cfg_ctx *c, int node, struct cfg_system *sys)
{
	u32 count = 0;

	for (int child = fdt_first_child(c->fdt, node); child >= 0;
	     child = fdt_next_sibling(c->fdt, child), count++) {
		struct cfg_channel *ch, extra;
		int len, olen;
		const char *name = fdt_node_name(c->fdt, child, &len);

		if (count >= CFG_MAX_CHANNELS) {
			memset(&extra, 0, sizeof(extra));
			printable(extra.name, sizeof(extra.name), name ? name : "",
				  name ? (size_t)len : 0);
			chan_err(c, &extra, "name", "more than %u channels (the channels after the "
				 "first %u are refused)", CFG_MAX_CHANNELS, CFG_MAX_CHANNELS);
			continue;
		}
		ch = &sys->chan[count];
		ch->id = count;
		parse_channel(c, child, sys, ch);
		for (u32 j = 0; name && j < count; j++) {
			const char *other = fdt_node_name(c->fdt, sys->chan[j].node, &olen);

			if (other && olen == len && memcmp(name, other, (size_t)len) == 0) {
				chan_err(c, ch, "name", "channel %u has the same name", j);
				ch->size = 0;
				break;
			}
		}
		ch->node = child;
	}
	sys->nr_channels = MIN(count, (u32)CFG_MAX_CHANNELS);
}

u32 config_parse(const void *blob, u64 size, const char *file, const struct cfg_limits *lim,
		 struct cfg_system *sys, struct cfg_errors *errs)
{
	struct fdt fdt;
	struct cfg_ctx c = { &fdt, file ? file : "config", lim, errs, 0 };
	const char *compat;
	int err, root, vms;

	memset(sys, 0, sizeof(*sys));
	errs->count = 0;
	errs->dropped = 0;
	err = fdt_init(&fdt, blob, size);
	if (err) {
		sys_err(&c, "/", "not a valid device tree blob (%s)", config_fdt_reason(err));
		return errs->count + errs->dropped;
	}
	root = fdt_root(&fdt);
	compat = fdt_read_string(&fdt, root, "compatible");
	if (!compat) {
		sys_err(&c, "compatible", "missing (must be \"%s\")", CFG_COMPATIBLE);
	} else if (strcmp(compat, CFG_COMPATIBLE) != 0) {
		char shown[CFG_SHOWN_MAX];

		printable(shown, sizeof(shown), compat, strlen(compat));
		sys_err(&c, "compatible", "\"%s\" is not \"%s\"", shown, CFG_COMPATIBLE);
	}
	vms = fdt_subnode(&fdt, root, "vms");
	if (vms < 0)
		sys_err(&c, "/vms", "missing (one child node per VM)");
	else
		parse_vms(&c, vms, sys);
	if (!c.global_errors && (vms = fdt_subnode(&fdt, root, "channels")) >= 0)
		parse_channels(&c, vms, sys);
	if (c.global_errors) {
		sys->nr_vms = 0;
		sys->nr_channels = 0;
	}
	return errs->count + errs->dropped;
}
