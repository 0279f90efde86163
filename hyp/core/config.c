/* Parses and validates the system configuration DTB (docs/config.md) into struct cfg_system.
 * Shared by the hypervisor and bhpack: every problem gets one message naming file, VM and field. */
#include <bulkhead/config.h>
#include <bulkhead/fdt.h>
#include <bulkhead/package.h>
#include <bulkhead/string.h>

#include "config_internal.h"

#define CFG_COMPATIBLE "bulkhead,system-v1"

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
	F_MANAGEMENT,
	F_IDENTITY,
	F_COUNT
};
static const char *const vm_field_names[F_COUNT] = {
	"vcpus", "pcpus", "priority", "memory", "image", "bootargs", "initrd", "dtb", "management",
	"identity-map",
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
void cfg_vm_err(struct cfg_ctx *c, struct cfg_vm *vm,
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
void cfg_printable(char *dst, size_t cap, const char *src, size_t len)
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
		cfg_vm_err(c, vm, "name", "the VM's node name is empty");
		return;
	}
	if (len > CFG_NAME_MAX - 1) {
		cfg_vm_err(c, vm, "name", "name is %d characters long (at most %d)", len,
		       CFG_NAME_MAX - 1);
		return;
	}
	for (int i = 0; i < len; i++) {
		char ch = name[i];

		if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '_')
			continue;
		if (ch > 0x20 && ch < 0x7f)
			cfg_vm_err(c, vm, "name", "invalid character '%c' (use a-z, 0-9, '-' and '_')",
			       ch);
		else
			cfg_vm_err(c, vm, "name",
			       "invalid character 0x%02x (use a-z, 0-9, '-' and '_')",
			       (unsigned)(u8)ch);
		return;
	}
	if (len == 3 && memcmp(name, "hyp", 3) == 0)
		cfg_vm_err(c, vm, "name", "'hyp' is reserved for the hypervisor's own messages");
}

/* Reports an unknown property or subnode; field is its (untrusted) name, prefix its parent. */
void cfg_unknown_field(struct cfg_ctx *c, struct cfg_vm *vm, const char *prefix,
			  const char *name, size_t len)
{
	char shown[CFG_SHOWN_MAX], field[2 * CFG_SHOWN_MAX + 2]; /* prefix, name */

	cfg_printable(shown, sizeof(shown), name, len);
	snprintf(field, sizeof(field), "%s%s", prefix, shown);
	cfg_vm_err(c, vm, field, "unknown field '%s'", shown);
}

/* True for properties dtc may add to any node, which carry no configuration. */
bool cfg_ignored_prop(const char *name)
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
		if (fdt_prop_at(c->fdt, prop, &name, &val, &len) || cfg_ignored_prop(name))
			continue;
		for (f = 0; f < F_COUNT && strcmp(name, vm_field_names[f]) != 0; f++)
			;
		if (f == F_COUNT)
			cfg_unknown_field(c, vm, "", name, strlen(name));
		else if (p->val[f])
			cfg_vm_err(c, vm, vm_field_names[f], "defined twice");
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
			cfg_vm_err(c, vm, vm_field_names[f], "missing (required)");
		return false;
	}
	if (p->len[f] != 4) {
		cfg_vm_err(c, vm, vm_field_names[f], "must be one cell, as in <1>");
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
		cfg_vm_err(c, vm, "vcpus", "%u is out of range (1..%u)", v, CFG_MAX_VCPUS);
		return;
	}
	vm->vcpus = v;
}

/* pcpus: one physical CPU per vCPU, each one the machine has (when that is known). */
static void parse_pcpus(struct cfg_ctx *c, struct cfg_vm *vm, const struct vm_props *p)
{
	u32 n, nr_pcpus = c->lim ? c->lim->nr_pcpus : 0;

	if (!p->val[F_PCPUS]) {
		cfg_vm_err(c, vm, "pcpus", "missing (required)");
		return;
	}
	if (p->len[F_PCPUS] <= 0 || p->len[F_PCPUS] % 4) {
		cfg_vm_err(c, vm, "pcpus", "must be a list of cells, one per vCPU, as in <0 1>");
		return;
	}
	n = (u32)p->len[F_PCPUS] / 4;
	if (n > CFG_MAX_VCPUS)
		cfg_vm_err(c, vm, "pcpus", "has %u entries (at most %u)", n, CFG_MAX_VCPUS);
	else if (vm->vcpus && n != vm->vcpus)
		cfg_vm_err(c, vm, "pcpus", "needs one entry per vCPU: has %u, vcpus is %u", n,
		       vm->vcpus);
	for (u32 i = 0; i < n && i < CFG_MAX_VCPUS; i++) {
		vm->pcpus[i] = fdt32_ld(p->val[F_PCPUS] + 4 * i);
		if (nr_pcpus && vm->pcpus[i] >= nr_pcpus)
			cfg_vm_err(c, vm, "pcpus",
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
		cfg_vm_err(c, vm, "priority", "%u is out of range (0..%u)", v, CFG_MAX_PRIORITY);
	else
		vm->priority = v;
}

/* True if [base, base+size) is non-empty and ends at or below the IPA limit. */
bool cfg_in_ipa_range(u64 base, u64 size)
{
	return size && base < CFG_IPA_LIMIT && size <= CFG_IPA_LIMIT - base;
}

/* memory: <base-hi base-lo size-hi size-lo>, 2 MiB granular, below the IPA limit, clear of the
 * device window. Returns true if vm->ram can be used for overlap checks. */
static bool parse_memory(struct cfg_ctx *c, struct cfg_vm *vm, const struct vm_props *p)
{
	u64 base, size;

	if (!p->val[F_MEMORY]) {
		cfg_vm_err(c, vm, "memory", "missing (required)");
		return false;
	}
	if (p->len[F_MEMORY] != 16) {
		cfg_vm_err(c, vm, "memory", "must be 4 cells <base-hi base-lo size-hi size-lo>");
		return false;
	}
	base = fdt_cells_ld(p->val[F_MEMORY], 2);
	size = fdt_cells_ld(p->val[F_MEMORY] + 8, 2);
	vm->ram.base = base;
	vm->ram.size = size;
	if (!IS_ALIGNED(base, CFG_RAM_ALIGN))
		cfg_vm_err(c, vm, "memory", "base 0x%llx is not a multiple of 2 MiB",
		       (unsigned long long)base);
	if (!IS_ALIGNED(size, CFG_RAM_ALIGN))
		cfg_vm_err(c, vm, "memory", "size 0x%llx is not a multiple of 2 MiB",
		       (unsigned long long)size);
	else if (size == 0)
		cfg_vm_err(c, vm, "memory", "size is 0 (at least 2 MiB)");
	else if (size > CFG_RAM_MAX)
		cfg_vm_err(c, vm, "memory", "size 0x%llx is more than 4 GiB", (unsigned long long)size);
	if (!size)
		return false;
	if (!cfg_in_ipa_range(base, size)) {
		cfg_vm_err(c, vm, "memory",
		       "base 0x%llx + size 0x%llx ends above 512 GiB "
		       "(the 39-bit stage-2 input range)",
		       (unsigned long long)base, (unsigned long long)size);
		return false;
	}
	if (ranges_overlap(base, size, CFG_DEVWIN_BASE, CFG_DEVWIN_SIZE))
		cfg_vm_err(c, vm, "memory", "0x%llx..0x%llx overlaps the device window 0x%llx..0x%llx",
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
			cfg_vm_err(c, vm, vm_field_names[f], "missing (required)");
		return NULL;
	}
	while (*n < len && s[*n])
		(*n)++;
	if (*n + 1 != len) {
		cfg_vm_err(c, vm, vm_field_names[f], "must be one string, as in \"%s\"", example);
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
		cfg_vm_err(c, vm, vm_field_names[f], "the path is empty");
		return NULL;
	}
	if (n >= PKG_PATH_LEN) {
		cfg_vm_err(c, vm, vm_field_names[f], "the path is %d characters long (at most %d)", n,
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
		cfg_vm_err(c, vm, "bootargs", "is %d characters long (at most %d)", n,
		       CFG_BOOTARGS_MAX - 1);
		return;
	}
	vm->bootargs = s;
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
	cfg_printable(vm->name, sizeof(vm->name), name ? name : "", name ? (size_t)len : 0);
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
	if (p.val[F_MANAGEMENT] && p.len[F_MANAGEMENT] != 0)
		cfg_vm_err(c, vm, "management", "takes no value (write: management;)");
	vm->management = p.val[F_MANAGEMENT] != NULL;
	if (p.val[F_IDENTITY] && p.len[F_IDENTITY] != 0)
		cfg_vm_err(c, vm, "identity-map", "takes no value (write 'identity-map;')");
	vm->identity = p.val[F_IDENTITY] != NULL;
	cfg_parse_subnodes(c, vm, node, ram_ok);
}

/* At most one VM manages; a later one claiming it is refused. */
static void check_management(struct cfg_ctx *c, struct cfg_system *sys)
{
	for (u32 i = 0; i < sys->nr_vms; i++) {
		for (u32 j = 0; sys->vm[i].management && j < i; j++) {
			if (sys->vm[j].management) {
				cfg_vm_err(c, &sys->vm[i], "management",
					   "VM '%s' is already the management VM (at most one)",
					   sys->vm[j].name);
				break;
			}
		}
	}
}

/* /pool { size = <hi lo>; }: memory set aside for VMs created at run time. */
static void parse_pool(struct cfg_ctx *c, int node, struct cfg_system *sys)
{
	const void *val;
	const char *name;
	int len;

	for (int prop = fdt_first_prop(c->fdt, node); prop >= 0;
	     prop = fdt_next_prop(c->fdt, prop)) {
		if (fdt_prop_at(c->fdt, prop, &name, &val, &len) || cfg_ignored_prop(name))
			continue;
		if (strcmp(name, "size") != 0) {
			char shown[CFG_SHOWN_MAX];

			cfg_printable(shown, sizeof(shown), name, strlen(name));
			sys_err(c, "/pool", "unknown field '%s'", shown);
		} else if (len != 8) {
			sys_err(c, "/pool/size", "must be two cells, as in <0x0 0x20000000>");
		} else {
			sys->pool_size = fdt_cells_ld(val, 2);
		}
	}
	if (!sys->pool_size || sys->pool_size % CFG_RAM_ALIGN || sys->pool_size > CFG_POOL_MAX)
		sys_err(c, "/pool/size", "0x%llx is not a multiple of 2 MiB between 2 MiB and 16 GiB",
			(unsigned long long)sys->pool_size);
}

/* Refuses a VM whose node name repeats an earlier VM's (dtc refuses that, the blob may not). */
static void check_duplicate(struct cfg_ctx *c, struct cfg_system *sys, const int *nodes, u32 i)
{
	int len, olen;
	const char *name = fdt_node_name(c->fdt, nodes[i], &len), *other;

	for (u32 j = 0; name && j < i; j++) {
		other = fdt_node_name(c->fdt, nodes[j], &olen);
		if (other && olen == len && memcmp(name, other, (size_t)len) == 0) {
			cfg_vm_err(c, &sys->vm[i], "name", "VM %u has the same name", j);
			return;
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
	cfg_check_macs(c, sys);
	check_management(c, sys);
	cfg_check_passthrough(c, sys);
	if (count == 0)
		sys_err(c, "/vms", "no VMs defined");
	else if (count > CFG_MAX_VMS)
		sys_err(c, "/vms", "%u VMs defined (at most %u)", count, CFG_MAX_VMS);
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

		cfg_printable(shown, sizeof(shown), compat, strlen(compat));
		sys_err(&c, "compatible", "\"%s\" is not \"%s\"", shown, CFG_COMPATIBLE);
	}
	vms = fdt_subnode(&fdt, root, "vms");
	if (vms < 0)
		sys_err(&c, "/vms", "missing (one child node per VM)");
	else
		parse_vms(&c, vms, sys);
	if (!c.global_errors && (vms = fdt_subnode(&fdt, root, "channels")) >= 0)
		cfg_parse_channels(&c, vms, sys);
	if ((vms = fdt_subnode(&fdt, root, "pool")) >= 0)
		parse_pool(&c, vms, sys);
	cfg_check_pt_channels(&c, sys);
	if (c.global_errors) {
		sys->nr_vms = 0;
		sys->nr_channels = 0;
	}
	return errs->count + errs->dropped;
}
