/* What the parts of the configuration parser share: config.c (the system and each VM's own
 * fields), config_devices.c (PL011, virtio devices), config_channels.c (shared memory). */
#ifndef CONFIG_INTERNAL_H
#define CONFIG_INTERNAL_H

#include <bulkhead/config.h>
#include <bulkhead/fdt.h>

#define CFG_PL011_SIZE KiB(4)
#define CFG_SHOWN_MAX 32 /* bytes of a name from the blob shown in a message, with the NUL */

/* State shared by the parsing helpers of one config_parse call. */
struct cfg_ctx {
	const struct fdt *fdt;
	const char *file;
	const struct cfg_limits *lim;
	struct cfg_errors *errs;
	u32 global_errors; /* errors not tied to a VM */
};

/* An error about one field of a VM ("file: vm 'x': field 'y': reason"); marks it invalid. */
void cfg_vm_err(struct cfg_ctx *c, struct cfg_vm *vm, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Reports an unknown property or subnode; name is untrusted, prefix its parent. */
void cfg_unknown_field(struct cfg_ctx *c, struct cfg_vm *vm, const char *prefix, const char *name,
		       size_t len);
/* Properties every node may carry that the parser ignores ("name", "phandle"). */
bool cfg_ignored_prop(const char *name);
/* True if [base, base+size) lies below the stage-2 input limit. */
bool cfg_in_ipa_range(u64 base, u64 size);
/* Copies an untrusted name for a message, replacing what is not printable. */
void cfg_printable(char *dst, size_t cap, const char *src, size_t len);

/* config_devices.c: a VM's device subnodes, and MAC uniqueness across the system. */
void cfg_parse_subnodes(struct cfg_ctx *c, struct cfg_vm *vm, int node, bool ram_ok);
void cfg_check_macs(struct cfg_ctx *c, struct cfg_system *sys);
/* True if a node is called base, or base@<unit address>. */
bool cfg_node_is(const char *name, int len, const char *base);
/* config_passthrough.c: a passthrough@... subnode (after the VM's other devices), the rules
 * across VMs (ranges, interrupts, identity-mapped RAM), and against the channels. */
void cfg_parse_passthrough(struct cfg_ctx *c, struct cfg_vm *vm, int node, bool ram_ok);
void cfg_check_passthrough(struct cfg_ctx *c, struct cfg_system *sys);
void cfg_check_pt_channels(struct cfg_ctx *c, struct cfg_system *sys);
/* config_channels.c: the /channels node. */
void cfg_parse_channels(struct cfg_ctx *c, int node, struct cfg_system *sys);

#endif
