/* Configuration of shared-memory channels between two VMs (/channels). Part of the parser in
 * config.c (docs/config.md). */
#include <bulkhead/config.h>
#include <bulkhead/fdt.h>
#include <bulkhead/package.h>
#include <bulkhead/string.h>

#include "config_internal.h"

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
		cfg_printable(shown, sizeof(shown), s[k], (size_t)n[k]);
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
	cfg_printable(ch->name, sizeof(ch->name), name ? name : "", name ? (size_t)len : 0);
	chan_name(c, ch, name ? name : "", name ? len : 0);
	for (int prop = fdt_first_prop(c->fdt, node); prop >= 0;
	     prop = fdt_next_prop(c->fdt, prop)) {
		if (fdt_prop_at(c->fdt, prop, &pname, &v, &len) || cfg_ignored_prop(pname))
			continue;
		for (f = 0; f < 3 && strcmp(pname, names[f]) != 0; f++)
			;
		cfg_printable(shown, sizeof(shown), pname, strlen(pname));
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
			cfg_printable(shown, sizeof(shown), pname, (size_t)len);
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
	if (!cfg_in_ipa_range(ipa, size + CFG_CHAN_DOORBELL)) {
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
void cfg_parse_channels(struct cfg_ctx *c, int node, struct cfg_system *sys)
{
	u32 count = 0;

	for (int child = fdt_first_child(c->fdt, node); child >= 0;
	     child = fdt_next_sibling(c->fdt, child), count++) {
		struct cfg_channel *ch, extra;
		int len, olen;
		const char *name = fdt_node_name(c->fdt, child, &len);

		if (count >= CFG_MAX_CHANNELS) {
			memset(&extra, 0, sizeof(extra));
			cfg_printable(extra.name, sizeof(extra.name), name ? name : "",
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
