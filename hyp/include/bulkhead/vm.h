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
#include <bulkhead/vgpio.h>
#include <bulkhead/vuart.h>

#define MAX_VMS CFG_MAX_VMS

struct virtio_blk;
struct virtio_net;
struct virtio_console;
struct ivc_end;
struct ctl_port;

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
	u64 mmio_hits[VM_MAX_MMIO]; /* MMIO exits per region of vm->mmio (same index) */
	u64 irqs_injected; /* virtual interrupts put into a list register as pending */
	u64 run_ticks;     /* counter ticks spent loaded on its CPU (sched.c) */
	u64 loaded_at;     /* counter value when it was last loaded */
};

/* What a VM boots: its image, and optionally an initrd and its own device tree; and the
 * initial contents of its disks (NULL: empty), in cfg.disk[] order. */
struct vm_images {
	const u8 *image, *initrd, *dtb;
	u64 image_size, initrd_size, dtb_size;
	const u8 *disk[CFG_MAX_VIRTIO];
	u64 disk_size[CFG_MAX_VIRTIO];
	bool dynamic;       /* a VM created at run time: its memory comes from the VM pool */
	paddr_t staging_pa; /* dynamic: the pool pages holding the images above (freed with it) */
	u64 staging_pages;
	u32 slot_hint;      /* 1 + the id to take if it is free (dynamic: promised at CREATE); 0: the
			     * lowest free */
};

enum vm_state {
	VM_RUNNING,
	VM_OFF,     /* powered off by the guest (or never started) */
	VM_STOPPED, /* stopped by the hypervisor after an unrecoverable guest error */
	VM_RESETTING,
	VM_LOADING, /* created at run time, its images still arriving (ctl) */
	VM_DYING,   /* being destroyed */
};

struct vm {
	u32 id;       /* its slot in vms[]; reused after a destroy */
	bool used;    /* the slot holds a VM */
	bool dynamic; /* created at run time: RAM, disks and images come from the VM pool */
	bool paused;  /* its vCPUs are not scheduled (bhctl pause) */
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
	struct vgpio gpio; /* the PL061 with the power button (vgpio_pl061.c) */
	struct virtio_blk *blk[CFG_MAX_VIRTIO]; /* cfg.disk[i]'s device (virtio_vm.c) */
	struct virtio_net *net[CFG_MAX_VIRTIO]; /* cfg.nic[i]'s device (virtio_vm.c) */
	struct virtio_console *vcon;            /* the virtio-console, if any (virtio_vm.c) */
	u32 nr_ivc;                             /* shared-memory channels it is in (ivc.c) */
	struct ivc_end *ivc[CFG_MAX_CHANNELS];
	u32 nr_vcpus;
	struct vcpu vcpu[CFG_MAX_VCPUS];
	u32 fault_reports; /* console lines about guest faults so far (rate limit) */
	/* the guest's own resets (PSCI SYSTEM_RESET), for the console's sake: a window of
	 * RESET_WINDOW_S seconds from reset_window (counter), resets in it, and those not shown */
	u64 reset_window;
	u32 resets_in_window, resets_hidden;
	u64 booted_at;     /* counter value at its last boot (uptime) */
	u64 mmio_unowned;  /* accesses nothing owns (aborts injected) */
	u64 ctl_refused;   /* control requests refused: it is not the management VM */
	struct ctl_port *ctl; /* its control port's state (ctl.c), NULL if none */
};

extern struct vm vms[MAX_VMS];
extern u32 nr_vms; /* slots in use */

/* The VM in slot id, or NULL if the slot is free. */
struct vm *vm_get(u32 id);

/* Creates a VM from a validated configuration and its images; does not start it. Refuses
 * (and says why) if they do not fit in its RAM. */
int vm_create(const struct cfg_vm *cfg, const struct vm_images *img, struct vm **out);
/* Pages for a VM's own use (RAM, disks): from the VM pool for a dynamic VM, else the page
 * allocator. Zeroed; scrubbed when freed. */
paddr_t vm_alloc_pages(const struct vm *vm, u64 npages, u64 align);
void vm_free_pages(const struct vm *vm, paddr_t pa, u64 npages);
/* Writes the generated device tree again (after channels were added; not with a 'dtb'). */
void vm_write_dtb(struct vm *vm);
/* Starts vCPU 0 at the image's entry point. */
void vm_start(struct vm *vm);
/* Guest-requested power off (PSCI SYSTEM_OFF), reset (SYSTEM_RESET), and the hypervisor's
 * stop after an error it cannot reflect. Called from an exit of one of the VM's vCPUs. */
void vm_power_off(struct vcpu *caller);
void vm_reset(struct vcpu *caller);
void vm_stop(struct vcpu *caller, const char *why);
/* Operations of the control service, called from another VM's exit (never from one of vm's
 * own vCPUs). Each returns E_OK, or E_STATE when the VM's state does not allow it. */
int vm_pause(struct vm *vm);   /* RUNNING -> paused: no vCPU runs until vm_unpause */
int vm_unpause(struct vm *vm);
int vm_reboot(struct vm *vm);  /* RUNNING/paused: stop now and boot again from its images */
int vm_boot(struct vm *vm);    /* OFF/STOPPED: boot again from its images */
/* Stops the VM at once whatever its state, frees everything it has (memory scrubbed) and
 * frees its slot; the peer of each of its shared-memory channels keeps the region, and its
 * doorbell rings nobody. E_STATE if it is already being destroyed. */
int vm_destroy(struct vm *vm);
/* Presses the VM's power button (pin 3 of its PL061, docs/guest-interface.md): the guest is
 * asked to power off, as by a machine's power key; what it does is up to it. Callable from any
 * CPU (the control service). E_OK: pressed; E_BUSY: the VM is not running, nothing done. A
 * press while the button is still held (the guest has not read it yet) changes nothing. */
int vm_power_button(struct vm *vm);
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
