/* The control protocol between the management VM (bhctl) and the hypervisor: message format,
 * operations, records and error codes, version 1. Shared by hyp/core/ctl/ and tools/bhctl, so it
 * uses only <stdint.h> types. Documented in docs/control.md. */
#ifndef BULKHEAD_CTL_PROTO_H
#define BULKHEAD_CTL_PROTO_H

#include <stdint.h>

/* The transport: a generic port of the VM's virtio-console device with this name (Linux:
 * /dev/vportNpM, whose /sys/class/virtio-ports/vportNpM/name reads it). Every VM with a
 * virtio-console has the port; only the management VM's requests are served. */
#define BHC_PORT_NAME "bulkhead.ctl"

#define BHC_MAGIC 0x31434842u /* "BHC1", little-endian on the wire like every field */
#define BHC_VERSION 1
#define BHC_MAX_PAYLOAD 65536u /* bytes after the header, at most */
#define BHC_REPLY 0x8000u      /* a reply's type: the request's type | BHC_REPLY */
#define BHC_EVENT 0x4000u      /* unsolicited messages from the hypervisor */

/* Every message, both ways: this header, then len bytes of payload. A byte stream: messages
 * may arrive split or joined across port writes. A header with a wrong magic or version, or a
 * len over BHC_MAX_PAYLOAD, makes the hypervisor reply BHC_EPROTO (seq echoed) and drop
 * everything up to the next write boundary. */
struct bhc_hdr {
	uint32_t magic;
	uint16_t version;
	uint16_t type;  /* enum bhc_type (| BHC_REPLY) */
	uint32_t seq;   /* chosen by the requester, echoed in the reply */
	uint32_t len;   /* payload bytes */
};

enum bhc_type {
	BHC_HELLO = 1,    /* -> {}                      <- bhc_hello */
	BHC_LIST = 2,     /* -> {}                      <- uint32_t n, n x bhc_vm_info */
	BHC_STATS = 3,    /* -> bhc_vm_ref              <- bhc_vm_stats */
	BHC_CREATE = 4,   /* -> bhc_create + config DTB <- bhc_vm_ref (a VM in LOADING) */
	BHC_LOAD = 5,     /* -> bhc_load + data         <- {} */
	BHC_START = 6,    /* -> bhc_vm_ref              <- {}: LOADING (all loaded) or OFF/CRASHED
			   *    VM boots from its images */
	BHC_STOP = 7,     /* -> bhc_vm_ref              <- {}: presses the VM's power button (the
			   *    guest sees a KEY_POWER press, docs/guest-interface.md); the VM goes
			   *    OFF when the guest powers off. bhctl waits with a timeout */
	BHC_REBOOT = 8,   /* -> bhc_vm_ref              <- {}: immediate reset, boots again */
	BHC_PAUSE = 9,    /* -> bhc_vm_ref              <- {}: RUNNING -> PAUSED */
	BHC_UNPAUSE = 10, /* -> bhc_vm_ref              <- {}: PAUSED -> RUNNING */
	BHC_DESTROY = 11, /* -> bhc_vm_ref              <- {}: any state; the VM is gone, its
			   *    memory scrubbed and back in the pool */
	BHC_CONSOLE_ATTACH = 12, /* -> bhc_vm_ref  <- {}: then BHC_EV_CONSOLE events carry what
				  *    the VM writes to its console */
	BHC_CONSOLE_INPUT = 13,  /* -> bhc_vm_ref + bytes  <- {}: keyboard input for the VM */
	BHC_CONSOLE_DETACH = 14, /* -> {}          <- {} (closing the port detaches too) */
	BHC_NET_STATS = 15,      /* -> bhc_vm_ref  <- bhc_net_stats: its switch ports' counters */
	BHC_BLK_STATS = 16,      /* -> bhc_vm_ref  <- bhc_blk_stats: its disks' counters */
	BHC_EV_CONSOLE = BHC_EVENT | 1, /* <- bhc_vm_ref + bytes (no reply) */
};

/* Replies: this, then the operation's data (on BHC_OK) or a NUL-terminated message saying
 * why (on an error; for BHC_ECONFIG one line per configuration error). */
struct bhc_status {
	int32_t status; /* enum bhc_err */
	uint32_t reserved;
};

enum bhc_err {
	BHC_OK = 0,
	BHC_EPROTO = -1,   /* bad magic, version, length or payload size for the type */
	BHC_ETYPE = -2,    /* unknown operation */
	BHC_EPERM = -3,    /* the requesting VM is not the management VM (counted) */
	BHC_ENOENT = -4,   /* no VM with that id */
	BHC_ESTATE = -5,   /* the VM's state does not allow it (message says which) */
	BHC_ENOMEM = -6,   /* the pool (or the hypervisor) has not enough memory */
	BHC_EFULL = -7,    /* no VM slot, physical CPU slot or device left */
	BHC_ECONFIG = -8,  /* the configuration is refused: messages name file, VM and field */
	BHC_ERANGE = -9,   /* LOAD outside the declared size, or not in order */
	BHC_EBUSY = -10,   /* another console is attached; or the VM is the caller itself */
};

#define BHC_NAME_MAX 32
#define BHC_MAX_VCPUS 8
#define BHC_MAX_DISKS 8

struct bhc_vm_ref {
	uint32_t id;
	uint32_t reserved;
};

struct bhc_hello {
	uint32_t version;     /* BHC_VERSION */
	uint32_t nr_pcpus;
	uint32_t max_vms;
	uint32_t nr_vms;      /* existing now */
	uint64_t pool_total;  /* bytes set aside for VMs created at run time */
	uint64_t pool_free;
	char hyp_version[16]; /* "0.1", NUL-terminated */
	uint64_t hyp_free;    /* bytes the hypervisor's own allocator has free (leak checks) */
};

enum bhc_vm_state {
	BHC_VM_LOADING = 0, /* created by BHC_CREATE, images arriving */
	BHC_VM_RUNNING = 1,
	BHC_VM_PAUSED = 2,
	BHC_VM_OFF = 3,     /* powered off (by itself, or after BHC_STOP) */
	BHC_VM_CRASHED = 4, /* stopped by the hypervisor after an error it could not reflect */
};

#define BHC_VM_F_MANAGEMENT 0x1 /* the management VM */
#define BHC_VM_F_DYNAMIC 0x2    /* created at run time (its memory is the pool's) */

enum bhc_exit {
	BHC_EXIT_HYPERCALL,
	BHC_EXIT_MMIO,
	BHC_EXIT_SYSREG,
	BHC_EXIT_WFX,
	BHC_EXIT_IRQ,
	BHC_EXIT_FAULT,
	BHC_EXIT_OTHER,
	BHC_EXITS = 8 /* room kept */
};

struct bhc_vm_info {
	uint32_t id;
	uint32_t state; /* enum bhc_vm_state */
	uint32_t flags; /* BHC_VM_F_* */
	uint32_t nr_vcpus;
	char name[BHC_NAME_MAX];
	uint32_t pcpu[BHC_MAX_VCPUS]; /* vCPU i runs on physical CPU pcpu[i] */
	uint64_t ram_base, ram_size;  /* guest-physical */
	uint64_t uptime_ns;           /* since it last (re)booted; 0 unless running/paused */
	uint64_t run_ns;              /* time its vCPUs spent loaded on CPUs, summed */
	uint64_t exits[BHC_EXITS];    /* per enum bhc_exit, summed over vCPUs */
};

#define BHC_MAX_DEVS 16

struct bhc_dev_count {
	char name[16]; /* "pl011", "gicd", "gicr", "virtio-blk@1", ... */
	uint64_t count;
};

struct bhc_vm_stats {
	struct bhc_vm_info info;
	uint64_t irqs_injected;   /* virtual interrupts delivered (SGIs, SPIs, timer PPIs) */
	uint64_t ctl_refused;     /* control requests refused because it is not management */
	uint64_t mmio_unowned;    /* accesses to addresses nothing owns (aborts injected) */
	uint32_t nr_devs;
	uint32_t reserved;
	struct bhc_dev_count dev[BHC_MAX_DEVS]; /* MMIO exits per device, nr_devs used */
};

#define BHC_MAX_NICS 8

/* One virtio-net port of a VM on its switch. */
struct bhc_nic_stats {
	char dev[16];          /* "virtio-net@2" */
	char sw[BHC_NAME_MAX]; /* the switch it is plugged into */
	uint8_t mac[6];        /* its configured address */
	uint8_t reserved[2];
	uint64_t tx;         /* frames it sent into the switch */
	uint64_t rx;         /* frames delivered to it */
	uint64_t tx_bad;     /* frames it sent, refused: < 14 or > 1514 bytes, or another source MAC */
	uint64_t tx_limited; /* broadcast/unknown-destination frames held back by storm control */
	uint64_t rx_dropped; /* frames for it lost: the guest had no receive buffer posted */
};

struct bhc_net_stats {
	uint32_t nr_nics;
	uint32_t reserved;
	struct bhc_nic_stats nic[BHC_MAX_NICS]; /* nr_nics used, in slot order */
};

/* One virtio-blk disk of a VM. */
struct bhc_disk_stats {
	char dev[16];      /* "virtio-blk@1" */
	uint64_t size;     /* bytes */
	uint32_t mediated; /* 1: served by the management VM's daemon (bhctl blkd) */
	uint32_t reserved;
	uint64_t reads, writes, flushes;    /* requests that succeeded */
	uint64_t read_bytes, written_bytes; /* ... and their data */
	uint64_t errors;   /* requests that failed (I/O error or unsupported) */
};

struct bhc_blk_stats {
	uint32_t nr_disks;
	uint32_t reserved;
	struct bhc_disk_stats disk[BHC_MAX_DISKS]; /* nr_disks used, in file order */
};

#define BHC_CREATE_F_PAUSED 0x1 /* start paused (bhctl create -p) */

/* BHC_CREATE: sizes of the files bhctl will LOAD, then the configuration: a compiled system
 * description (the boot format, docs/config.md) whose /vms holds exactly one VM. Its paths
 * are bhctl's business; the hypervisor checks everything else again. */
struct bhc_create {
	char file[64];          /* the configuration's file name, for messages */
	uint32_t config_size;   /* bytes of DTB following this record */
	uint32_t flags;
	uint64_t image_size, initrd_size, dtb_size; /* 0: none (image is required) */
	uint64_t disk_size[BHC_MAX_DISKS];          /* initial contents of disk i, 0: none */
};

enum bhc_blob {
	BHC_BLOB_IMAGE = 0,
	BHC_BLOB_INITRD = 1,
	BHC_BLOB_DTB = 2,
	BHC_BLOB_DISK0 = 16, /* + i */
};

/* BHC_LOAD: the next bytes of one file, in order (offset = bytes already loaded). */
struct bhc_load {
	uint32_t id;
	uint32_t blob; /* enum bhc_blob */
	uint64_t offset;
};

/* The wire layout: both sides send these records as they are in memory (little-endian, no
 * hidden padding), so their sizes are part of the protocol. */
_Static_assert(sizeof(struct bhc_hdr) == 16, "bhc_hdr is 16 bytes on the wire");
_Static_assert(sizeof(struct bhc_status) == 8, "bhc_status is 8 bytes on the wire");
_Static_assert(sizeof(struct bhc_vm_ref) == 8, "bhc_vm_ref is 8 bytes on the wire");
_Static_assert(sizeof(struct bhc_hello) == 56, "bhc_hello is 56 bytes on the wire");
_Static_assert(sizeof(struct bhc_vm_info) == 176, "bhc_vm_info is 176 bytes on the wire");
_Static_assert(sizeof(struct bhc_dev_count) == 24, "bhc_dev_count is 24 bytes on the wire");
_Static_assert(sizeof(struct bhc_vm_stats) == 592, "bhc_vm_stats is 592 bytes on the wire");
_Static_assert(sizeof(struct bhc_nic_stats) == 96, "bhc_nic_stats is 96 bytes on the wire");
_Static_assert(sizeof(struct bhc_net_stats) == 776, "bhc_net_stats is 776 bytes on the wire");
_Static_assert(sizeof(struct bhc_disk_stats) == 80, "bhc_disk_stats is 80 bytes on the wire");
_Static_assert(sizeof(struct bhc_blk_stats) == 648, "bhc_blk_stats is 648 bytes on the wire");
_Static_assert(sizeof(struct bhc_create) == 160, "bhc_create is 160 bytes on the wire");
_Static_assert(sizeof(struct bhc_load) == 16, "bhc_load is 16 bytes on the wire");

/* ---- The mediated disk port (the Rust-Shyper design, docs/control.md) ----
 * A VM's virtio-blk configured with `mediated = "PATH"` is served by a daemon in the management
 * VM (`bhctl blkd`) from the file PATH there. The daemon opens the management VM's port named
 * BHC_BLK_PORT_NAME; the hypervisor sends it one BHC_BLK_REQ per guest request (with bhc_hdr
 * framing; seq 0) and the daemon answers each with one BHC_BLK_DONE, in any order. Requests
 * the daemon never answers leave the guest's I/O waiting (a stalled disk), nothing else. */
#define BHC_BLK_PORT_NAME "bulkhead.blk"
#define BHC_BLK_MAX_DATA 32768u /* bytes of data in one request or answer, at most */
#define BHC_BLK_PATH_MAX 128

enum bhc_blk_type {
	BHC_BLK_REQ = BHC_EVENT | 0x10,  /* hypervisor -> daemon: bhc_blk_req (+ data: WRITE) */
	BHC_BLK_DONE = BHC_EVENT | 0x11, /* daemon -> hypervisor: bhc_blk_done (+ data: READ) */
};

enum bhc_blk_op {
	BHC_BLK_READ = 0,
	BHC_BLK_WRITE = 1,
	BHC_BLK_FLUSH = 2,
};

struct bhc_blk_req {
	uint32_t vm;     /* the guest VM's id */
	uint32_t slot;   /* its virtio-blk's slot */
	uint64_t tag;    /* the hypervisor's: echoed in the answer */
	uint32_t op;     /* enum bhc_blk_op */
	uint32_t len;    /* bytes to read, or the written bytes that follow */
	uint64_t offset; /* byte offset in the disk (a multiple of 512) */
	uint64_t size;   /* the disk's size in bytes (the configuration's 'size') */
	char path[BHC_BLK_PATH_MAX]; /* the backing file in the management VM, NUL-terminated */
};

struct bhc_blk_done {
	uint64_t tag;
	int32_t status; /* 0, or -errno: the guest's request fails with VIRTIO_BLK_S_IOERR */
	uint32_t len;   /* bytes read that follow (READ; equal to the request's len on success) */
};

_Static_assert(sizeof(struct bhc_blk_req) == 168, "bhc_blk_req is 168 bytes on the wire");
_Static_assert(sizeof(struct bhc_blk_done) == 16, "bhc_blk_done is 16 bytes on the wire");

#endif
