/* bhctl's requests: each sends one operation, checks the reply's size against the record it
 * must hold (nothing from the hypervisor is trusted), and prints the hypervisor's refusal. */
#include <stdlib.h>
#include <string.h>

#include "bhctl.h"

void report_refusal(const char *what, const struct reply *r)
{
	const char *text = (const char *)r->data; /* NUL-terminated by chan.c */
	char line[512];

	if (r->status == BHC_ECONFIG && *text) {
		/* One line per configuration error, each naming file, VM and field already. */
		while (*text) {
			size_t n = strcspn(text, "\n");

			copy_name(line, text, n + 1 < sizeof(line) ? n + 1 : sizeof(line));
			fprintf(stderr, "%s\n", line);
			text += n + (text[n] == '\n');
		}
		return;
	}
	copy_name(line, text, sizeof(line));
	fprintf(stderr, "bhctl: %s: refused by the hypervisor (%s)%s%s\n", what,
		bhc_err_name(r->status), *line ? ": " : "", line);
}

int op_simple(struct ctx *c, uint16_t type, const void *a, size_t alen, const void *b,
	      size_t blen, const char *what, struct reply *out)
{
	struct reply r;
	int rc = chan_open(c);

	if (rc)
		return rc;
	rc = chan_call(&c->ch, type, a, alen, b, blen, &r);
	if (rc)
		return rc;
	if (r.status != BHC_OK) {
		report_refusal(what, &r);
		reply_free(&r);
		return EXIT_FAIL;
	}
	if (out)
		*out = r;
	else
		reply_free(&r);
	return 0;
}

/* A reply whose size is not the record's. */
static int bad_size(const char *what, size_t got, size_t want)
{
	fprintf(stderr, "bhctl: protocol error: %s reply holds %zu bytes, expected %zu\n", what,
		got, want);
	return EXIT_CHAN;
}

/* The hypervisor's text fields are not trusted to be terminated or printable. */
static void clean_info(struct bhc_vm_info *vm)
{
	copy_name(vm->name, vm->name, sizeof(vm->name));
}

/* Checks what a VM record claims. */
static int check_info(const struct bhc_vm_info *vm)
{
	if (vm->nr_vcpus > BHC_MAX_VCPUS) {
		fprintf(stderr, "bhctl: protocol error: VM %u claims %u vCPUs (at most %d)\n",
			vm->id, vm->nr_vcpus, BHC_MAX_VCPUS);
		return EXIT_CHAN;
	}
	return 0;
}

int op_hello(struct ctx *c, struct bhc_hello *h)
{
	struct reply r;
	int rc = op_simple(c, BHC_HELLO, NULL, 0, NULL, 0, "info", &r);

	if (rc)
		return rc;
	if (r.len != sizeof(*h)) {
		reply_free(&r);
		return bad_size("HELLO", r.len, sizeof(*h));
	}
	memcpy(h, r.data, sizeof(*h));
	reply_free(&r);
	copy_name(h->hyp_version, h->hyp_version, sizeof(h->hyp_version));
	if (h->version != BHC_VERSION) {
		fprintf(stderr, "bhctl: the hypervisor speaks control protocol version %u; "
			"this bhctl speaks version %d\n", h->version, BHC_VERSION);
		return EXIT_CHAN;
	}
	return 0;
}

int op_list(struct ctx *c, struct bhc_vm_info **vms, uint32_t *n)
{
	struct reply r;
	uint32_t count;
	int rc = op_simple(c, BHC_LIST, NULL, 0, NULL, 0, "list", &r);

	if (rc)
		return rc;
	if (r.len < sizeof(count)) {
		reply_free(&r);
		return bad_size("LIST", r.len, sizeof(count));
	}
	memcpy(&count, r.data, sizeof(count));
	if (count > 1024 || r.len != sizeof(count) + (size_t)count * sizeof(**vms)) {
		fprintf(stderr, "bhctl: protocol error: LIST reply of %zu bytes claims %u VMs\n",
			r.len, count);
		reply_free(&r);
		return EXIT_CHAN;
	}
	*vms = calloc(count ? count : 1, sizeof(**vms));
	if (!*vms) {
		reply_free(&r);
		fprintf(stderr, "bhctl: out of memory\n");
		return EXIT_FAIL;
	}
	memcpy(*vms, r.data + sizeof(count), (size_t)count * sizeof(**vms));
	reply_free(&r);
	for (uint32_t i = 0; i < count; i++) {
		clean_info(&(*vms)[i]);
		if ((rc = check_info(&(*vms)[i]))) {
			free(*vms);
			return rc;
		}
	}
	*n = count;
	return 0;
}

int op_stats(struct ctx *c, uint32_t id, struct bhc_vm_stats *st)
{
	struct bhc_vm_ref ref = { .id = id };
	struct reply r;
	int rc = op_simple(c, BHC_STATS, &ref, sizeof(ref), NULL, 0, "stats", &r);

	if (rc)
		return rc;
	if (r.len != sizeof(*st)) {
		reply_free(&r);
		return bad_size("STATS", r.len, sizeof(*st));
	}
	memcpy(st, r.data, sizeof(*st));
	reply_free(&r);
	clean_info(&st->info);
	if ((rc = check_info(&st->info)))
		return rc;
	if (st->nr_devs > BHC_MAX_DEVS) {
		fprintf(stderr, "bhctl: protocol error: STATS claims %u devices (at most %d)\n",
			st->nr_devs, BHC_MAX_DEVS);
		return EXIT_CHAN;
	}
	for (uint32_t i = 0; i < st->nr_devs; i++)
		copy_name(st->dev[i].name, st->dev[i].name, sizeof(st->dev[i].name));
	return 0;
}

/* A per-device counters record (NET_STATS, BLK_STATS) of size bytes into out; all zero (no
 * devices) from a hypervisor older than the operation (it answers BHC_ETYPE). */
static int op_dev_stats(struct ctx *c, uint16_t type, uint32_t id, void *out, size_t size)
{
	struct bhc_vm_ref ref = { .id = id };
	struct reply r;
	int rc = chan_open(c);

	if (rc)
		return rc;
	if ((rc = chan_call(&c->ch, type, &ref, sizeof(ref), NULL, 0, &r)))
		return rc;
	memset(out, 0, size);
	if (r.status == BHC_ETYPE) {
		reply_free(&r);
		return 0;
	}
	if (r.status != BHC_OK) {
		report_refusal("stats", &r);
		reply_free(&r);
		return EXIT_FAIL;
	}
	if (r.len != size) {
		reply_free(&r);
		return bad_size(bhc_type_name(type), r.len, size);
	}
	memcpy(out, r.data, size);
	reply_free(&r);
	return 0;
}

/* A record claiming more devices than it has room for. */
static int too_many(uint16_t type, uint32_t n, int max)
{
	fprintf(stderr, "bhctl: protocol error: %s claims %u devices (at most %d)\n",
		bhc_type_name(type), n, max);
	return EXIT_CHAN;
}

int op_net_stats(struct ctx *c, uint32_t id, struct bhc_net_stats *ns)
{
	int rc = op_dev_stats(c, BHC_NET_STATS, id, ns, sizeof(*ns));

	if (rc)
		return rc;
	if (ns->nr_nics > BHC_MAX_NICS)
		return too_many(BHC_NET_STATS, ns->nr_nics, BHC_MAX_NICS);
	for (uint32_t i = 0; i < ns->nr_nics; i++) {
		copy_name(ns->nic[i].dev, ns->nic[i].dev, sizeof(ns->nic[i].dev));
		copy_name(ns->nic[i].sw, ns->nic[i].sw, sizeof(ns->nic[i].sw));
	}
	return 0;
}

int op_blk_stats(struct ctx *c, uint32_t id, struct bhc_blk_stats *bs)
{
	int rc = op_dev_stats(c, BHC_BLK_STATS, id, bs, sizeof(*bs));

	if (rc)
		return rc;
	if (bs->nr_disks > BHC_MAX_DISKS)
		return too_many(BHC_BLK_STATS, bs->nr_disks, BHC_MAX_DISKS);
	for (uint32_t i = 0; i < bs->nr_disks; i++)
		copy_name(bs->disk[i].dev, bs->disk[i].dev, sizeof(bs->disk[i].dev));
	return 0;
}

int resolve_vm(struct ctx *c, const char *arg, struct bhc_vm_info *out)
{
	struct bhc_vm_info *vms;
	unsigned long id;
	bool numeric = parse_uint(arg, UINT32_MAX, &id);
	uint32_t n;
	int rc = op_list(c, &vms, &n);

	if (rc)
		return rc;
	/* A name first (names may be digits too), then an id. */
	for (int pass = 0; pass < 2; pass++)
		for (uint32_t i = 0; i < n; i++)
			if (pass == 0 ? !strcmp(vms[i].name, arg)
				      : (numeric && vms[i].id == id)) {
				*out = vms[i];
				free(vms);
				return 0;
			}
	free(vms);
	fprintf(stderr, "bhctl: no VM named '%s'%s (see `bhctl list`)\n", arg,
		numeric ? " or with that id" : "");
	return EXIT_FAIL;
}
