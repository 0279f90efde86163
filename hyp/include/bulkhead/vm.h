/* Virtual machines and virtual CPUs: the state the core keeps for each, and the lifecycle
 * operations (create, power off, reset, stop on a fault). */
#ifndef BULKHEAD_VM_H
#define BULKHEAD_VM_H

#include <arch/vcpu.h>
#include <arch/vm.h>
#include <bulkhead/config.h>
#include <bulkhead/mmio.h>
#include <bulkhead/spinlock.h>
#include <bulkhead/types.h>
#include <bulkhead/vuart.h>

#define MAX_VMS CFG_MAX_VMS

struct virtio_blk;
struct virtio_net;
struct virtio_console;
struct ivc_end;

/* Why a vCPU left the guest: counted per vCPU, summed per VM. */
enum exit_kind {
	EXIT_HYPERCALL,
	EXIT_MMIO,
	EXIT_SYSREG,
	EXIT_WFX,
	EXIT_IRQ,
	EXIT_FAULT, /* guest fault reflected back (abort, undefined instruction) */
	EXIT_OTHER,
	EXIT_KINDS
};

enum vcpu_state {
	VCPU_OFF,      /* powered off: waits for PSCI CPU_ON or a VM reset */
	VCPU_RUNNABLE, /* may run */
	VCPU_WFI,      /* waiting for an interrupt (or its timer deadline) */
};

struct vcpu {
	struct arch_vcpu arch; /* first: the exception vectors save into it */
	struct vm *vm;
	u32 id;
	u32 pcpu;          /* physical CPU it is pinned to */
	u32 priority;
	u32 state;         /* enum vcpu_state; written under vm->lock, read lock-free */
	bool on_pending;   /* CPU_ON accepted, not yet run */
	bool boot_pending; /* reset to boot_entry when next loaded (CPU_ON, VM reset) */
	gpa_t boot_entry;
	u64 boot_arg;
	bool running;      /* loaded on its physical CPU (its state is in hardware) */
	u64 wake_at;       /* counter value that ends a WFI wait, 0 for none */
	u64 exits[EXIT_KINDS];
};

/* What a VM boots: its image, and optionally an initrd and its own device tree; and the
 * initial contents of its disks (NULL: empty), in cfg.disk[] order. */
struct vm_images {
	const u8 *image, *initrd, *dtb;
	u64 image_size, initrd_size, dtb_size;
	const u8 *disk[CFG_MAX_VIRTIO];
	u64 disk_size[CFG_MAX_VIRTIO];
};

enum vm_state {
	VM_RUNNING,
	VM_OFF,     /* powered off by the guest */
	VM_STOPPED, /* stopped by the hypervisor after an unrecoverable guest error */
	VM_RESETTING,
};

struct vm {
	u32 id;
	char name[CFG_NAME_MAX];
	u32 state; /* enum vm_state */
	spinlock_t lock;
	struct cfg_vm cfg;

	paddr_t ram_pa; /* RAM: contiguous, 2 MiB aligned */
	gpa_t ram_base;
	u64 ram_size;
	struct vm_images img; /* in the system package, kept for resets */
	gpa_t load_addr;   /* where the image is placed, also the entry point */
	gpa_t initrd_addr; /* where the initrd is placed (if any) */
	gpa_t dtb_addr;    /* the device tree vCPU 0 gets in x0 */

	struct arch_vm arch; /* stage-2, virtual GIC distributor */
	struct mmio_table mmio;
	struct vuart uart;
	struct virtio_blk *blk[CFG_MAX_VIRTIO]; /* cfg.disk[i]'s device (virtio_vm.c) */
	struct virtio_net *net[CFG_MAX_VIRTIO]; /* cfg.nic[i]'s device (virtio_vm.c) */
	struct virtio_console *vcon;            /* the virtio-console, if any (virtio_vm.c) */
	u32 nr_ivc;                             /* shared-memory channels it is in (ivc.c) */
	struct ivc_end *ivc[CFG_MAX_CHANNELS];
	u32 nr_vcpus;
	struct vcpu vcpu[CFG_MAX_VCPUS];
	u32 fault_reports; /* console lines about guest faults so far (rate limit) */
};

extern struct vm vms[MAX_VMS];
extern u32 nr_vms;

/* Creates a VM from a validated configuration and its images; does not start it. Refuses
 * (and says why) if they do not fit in its RAM. */
int vm_create(const struct cfg_vm *cfg, const struct vm_images *img, struct vm **out);
/* Writes the generated device tree again (after channels were added; not with a 'dtb'). */
void vm_write_dtb(struct vm *vm);
/* Starts vCPU 0 at the image's entry point. */
void vm_start(struct vm *vm);
/* Guest-requested power off (PSCI SYSTEM_OFF), reset (SYSTEM_RESET), and the hypervisor's
 * stop after an error it cannot reflect. Called from an exit of one of the VM's vCPUs. */
void vm_power_off(struct vcpu *caller);
void vm_reset(struct vcpu *caller);
void vm_stop(struct vcpu *caller, const char *why);
/* Finds a vCPU of vm by its id; NULL if none. */
struct vcpu *vm_vcpu(struct vm *vm, u32 id);
/* Powers on a vCPU (PSCI CPU_ON): E_BUSY if not off, E_INVAL for a bad entry. */
int vcpu_power_on(struct vcpu *v, gpa_t entry, u64 arg);
/* The calling vCPU powers itself off (PSCI CPU_OFF). */
void vcpu_power_off(struct vcpu *v);
/* WFI: the vCPU waits until deadline (0 = no deadline) or an event. */
void vcpu_wait(struct vcpu *v, u64 deadline);
/* Something arrived for v (an interrupt): end its WFI and make its CPU look at it. */
void vcpu_wake(struct vcpu *v);
/* True if the guest-physical range lies inside the VM's RAM. */
bool vm_ram_contains(const struct vm *vm, gpa_t addr, u64 size);
/* Rate-limited console line about a guest fault. */
void vm_report(struct vcpu *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The same for a fault not tied to a vCPU (a device's), under the same limit. */
void vm_report_vm(struct vm *vm, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
