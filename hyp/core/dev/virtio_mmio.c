/* The virtio-mmio transport (virtio 1.2 §4.2.2, version 2): registers, feature negotiation,
 * device status and reset, queue setup, notifications served at once, and the interrupt line. */
#include <bulkhead/arch.h>
#include <bulkhead/string.h>
#include <bulkhead/virtio.h>
#include <bulkhead/vm.h>

#define MAGIC_VALUE 0x000
#define VERSION 0x004
#define DEVICE_ID 0x008
#define VENDOR_ID 0x00c
#define DEVICE_FEATURES 0x010
#define DEVICE_FEATURES_SEL 0x014
#define DRIVER_FEATURES 0x020
#define DRIVER_FEATURES_SEL 0x024
#define QUEUE_SEL 0x030
#define QUEUE_NUM_MAX 0x034
#define QUEUE_NUM 0x038
#define QUEUE_READY 0x044
#define QUEUE_NOTIFY 0x050
#define INTERRUPT_STATUS 0x060
#define INTERRUPT_ACK 0x064
#define STATUS 0x070
#define QUEUE_DESC_LOW 0x080
#define QUEUE_DESC_HIGH 0x084
#define QUEUE_DRIVER_LOW 0x090
#define QUEUE_DRIVER_HIGH 0x094
#define QUEUE_DEVICE_LOW 0x0a0
#define QUEUE_DEVICE_HIGH 0x0a4
#define SHM_LEN_LOW 0x0b0 /* ..SHM_BASE_HIGH 0x0bc: no shared memory regions, all ones */
#define SHM_BASE_HIGH 0x0bc
#define CONFIG_GENERATION 0x0fc
#define CONFIG 0x100

void virtio_dev_init(struct virtio_dev *d, const struct virtio_dev_ops *ops, struct vm *vm,
		     u32 slot, const struct guest_ram *ram)
{
	d->ops = ops;
	d->vm = vm;
	d->slot = slot;
	d->intid = 32 + CFG_VIRTIO_SPI0 + slot;
	d->ram = *ram;
}

/* Drives the interrupt line from InterruptStatus (lock held, so levels arrive in order). */
static void update_line(struct virtio_dev *d)
{
	bool level = d->isr != 0;

	if (level != d->irq_level) {
		d->irq_level = level;
		arch_vm_irq_line(d->vm, d->intid, level);
	}
}

static void reset_locked(struct virtio_dev *d)
{
	d->status = d->isr = 0;
	d->dev_features_sel = d->drv_features_sel = d->queue_sel = 0;
	d->drv_features = 0;
	for (u32 i = 0; i < VIRTIO_MAX_QUEUES; i++)
		virtq_reset(&d->q[i]);
	d->epoch++;
	if (d->ops->reset)
		d->ops->reset(d);
	update_line(d);
}

void virtio_dev_reset(struct virtio_dev *d)
{
	spin_lock(&d->lock);
	reset_locked(d);
	spin_unlock(&d->lock);
	if (d->ops->unlocked)
		d->ops->unlocked(d);
}

/* The device refuses to go on (a broken ring or queue): DEVICE_NEEDS_RESET, a configuration
 * change interrupt once the driver is running (§2.1.2), one console report. */
static void needs_reset(struct virtio_dev *d, u32 q, const char *why)
{
	if (d->status & VIRTIO_STATUS_NEEDS_RESET)
		return;
	d->status |= VIRTIO_STATUS_NEEDS_RESET;
	if (d->status & VIRTIO_STATUS_DRIVER_OK) {
		d->isr |= VIRTIO_INT_CONFIG;
		update_line(d);
	}
	vm_report_vm(d->vm, "%s@%u: queue %u: %s; device needs reset", d->ops->name, d->slot, q,
		     why);
}

void virtio_dev_fail(struct virtio_dev *d, u32 q, const char *why)
{
	needs_reset(d, q, why);
}

void virtio_dev_used(struct virtio_dev *d, u32 qi)
{
	struct virtq *q = &d->q[qi];

	if (q->signal) {
		q->signal = false;
		d->isr |= VIRTIO_INT_USED;
		update_line(d);
	}
}

bool virtio_dev_serving(const struct virtio_dev *d, u32 qi)
{
	return qi < d->ops->nr_queues && d->q[qi].ready &&
	       (d->status & VIRTIO_STATUS_DRIVER_OK) && !(d->status & VIRTIO_STATUS_NEEDS_RESET);
}

/* The selected queue, or NULL if QueueSel names none. */
static struct virtq *cur_queue(struct virtio_dev *d)
{
	return d->queue_sel < d->ops->nr_queues ? &d->q[d->queue_sel] : NULL;
}

static u32 features_word(u64 features, u32 sel)
{
	return sel < 2 ? (u32)(features >> (32 * sel)) : 0;
}

static u32 reg_read(struct virtio_dev *d, u64 off)
{
	struct virtq *q = cur_queue(d);

	switch (off) {
	case MAGIC_VALUE: return VIRTIO_MMIO_MAGIC;
	case VERSION: return VIRTIO_MMIO_VERSION;
	case DEVICE_ID: return d->ops->device_id;
	case VENDOR_ID: return VIRTIO_VENDOR_ID;
	case DEVICE_FEATURES: return features_word(d->ops->features, d->dev_features_sel);
	case QUEUE_NUM_MAX: return q ? VIRTQ_MAX_SIZE : 0;
	case QUEUE_READY: return q && q->ready;
	case INTERRUPT_STATUS: return d->isr;
	case STATUS: return d->status;
	case CONFIG_GENERATION: return 0; /* the configuration never changes */
	}
	if (off >= SHM_LEN_LOW && off <= SHM_BASE_HIGH)
		return ~0u;
	return 0; /* write-only and reserved registers */
}

/* FEATURES_OK is accepted only for a subset of the offered features with VERSION_1. */
static bool features_ok(const struct virtio_dev *d)
{
	return !(d->drv_features & ~d->ops->features) && (d->drv_features & VIRTIO_F_VERSION_1);
}

static void write_status(struct virtio_dev *d, u32 val)
{
	if (val == 0) {
		reset_locked(d);
		return;
	}
	val &= 0xFF & ~VIRTIO_STATUS_NEEDS_RESET; /* the device's bit, kept until a reset */
	if ((val & VIRTIO_STATUS_FEATURES_OK) && !(d->status & VIRTIO_STATUS_FEATURES_OK) &&
	    !features_ok(d))
		val &= ~VIRTIO_STATUS_FEATURES_OK;
	d->status = val | (d->status & VIRTIO_STATUS_NEEDS_RESET);
}

static void write_driver_features(struct virtio_dev *d, u32 val)
{
	u32 shift = 32 * d->drv_features_sel;

	if (d->drv_features_sel > 1 || (d->status & VIRTIO_STATUS_FEATURES_OK))
		return; /* only two words exist; fixed once FEATURES_OK is set */
	d->drv_features = (d->drv_features & ~(0xFFFFFFFFULL << shift)) | ((u64)val << shift);
}

static void write_queue_ready(struct virtio_dev *d, struct virtq *q, u32 val)
{
	const char *why;
	u64 feat;

	if (!(val & 1)) {
		q->ready = false;
		d->epoch++;
		return;
	}
	if (q->ready || (d->status & VIRTIO_STATUS_NEEDS_RESET))
		return;
	d->epoch++;
	/* the ring features the driver accepted: none before FEATURES_OK (then fixed) */
	feat = (d->status & VIRTIO_STATUS_FEATURES_OK) ? d->drv_features : 0;
	q->indirect = feat & VIRTIO_F_INDIRECT_DESC;
	q->event_idx = feat & VIRTIO_F_EVENT_IDX;
	why = virtq_enable(q, &d->ram);
	if (why)
		needs_reset(d, d->queue_sel, why);
}

/* QueueNotify: the queue is served now, in this exit (synchronously). */
static void notify(struct virtio_dev *d, u32 qi)
{
	struct virtq *q = qi < d->ops->nr_queues ? &d->q[qi] : NULL;
	const char *why;

	if (!q || !q->ready || !(d->status & VIRTIO_STATUS_DRIVER_OK) ||
	    (d->status & VIRTIO_STATUS_NEEDS_RESET))
		return;
	why = d->ops->notify(d, qi);
	if (q->signal) {
		q->signal = false;
		d->isr |= VIRTIO_INT_USED;
		update_line(d);
	}
	if (why)
		needs_reset(d, qi, why);
}

/* Sets the low or high half of a queue address; ignored while the queue is ready. */
static void set_half(struct virtq *q, gpa_t *addr, bool high, u32 val)
{
	if (!q || q->ready)
		return;
	if (high)
		*addr = (*addr & 0xFFFFFFFFULL) | ((u64)val << 32);
	else
		*addr = (*addr & ~0xFFFFFFFFULL) | val;
}

static void queue_write(struct virtio_dev *d, struct virtq *q, u64 off, u32 val)
{
	switch (off) {
	case QUEUE_NUM:
		if (q && !q->ready)
			q->num = val;
		break;
	case QUEUE_READY:
		if (q)
			write_queue_ready(d, q, val);
		break;
	case QUEUE_DESC_LOW: case QUEUE_DESC_HIGH:
		set_half(q, q ? &q->desc : NULL, off == QUEUE_DESC_HIGH, val);
		break;
	case QUEUE_DRIVER_LOW: case QUEUE_DRIVER_HIGH:
		set_half(q, q ? &q->driver : NULL, off == QUEUE_DRIVER_HIGH, val);
		break;
	case QUEUE_DEVICE_LOW: case QUEUE_DEVICE_HIGH:
		set_half(q, q ? &q->device : NULL, off == QUEUE_DEVICE_HIGH, val);
		break;
	}
}

static void reg_write(struct virtio_dev *d, u64 off, u32 val)
{
	switch (off) {
	case DEVICE_FEATURES_SEL: d->dev_features_sel = val; break;
	case DRIVER_FEATURES: write_driver_features(d, val); break;
	case DRIVER_FEATURES_SEL: d->drv_features_sel = val; break;
	case QUEUE_SEL: d->queue_sel = val; break;
	case QUEUE_NOTIFY: notify(d, val); break;
	case INTERRUPT_ACK:
		d->isr &= ~val;
		update_line(d);
		break;
	case STATUS: write_status(d, val); break;
	default: queue_write(d, cur_queue(d), off, val); break; /* read-only: ignored */
	}
}

/* Configuration space: 8-, 16-, 32- and 64-bit aligned reads; bytes past what the device
 * keeps read as 0; writes are ignored (virtio-blk has no writable field we offer). */
static u64 config_read(const struct virtio_dev *d, u64 off, u32 width)
{
	u8 bytes[8] = { 0 };
	u64 value;

	for (u32 i = 0; i < width && off + i < VIRTIO_CONFIG_MAX; i++)
		bytes[i] = d->config[off + i];
	memcpy(&value, bytes, sizeof(bytes)); /* little-endian, as the guest reads it */
	return value;
}

static bool vmmio_read(void *dev, u64 off, u32 width, u64 *value)
{
	struct virtio_dev *d = dev;

	if (off & (width - 1))
		return false;
	if (off >= CONFIG) {
		*value = config_read(d, off - CONFIG, width); /* set once at creation: no lock */
		return true;
	}
	if (width != 4)
		return false; /* the registers are 32-bit only (§4.2.2.2) */
	spin_lock(&d->lock);
	*value = reg_read(d, off);
	spin_unlock(&d->lock);
	return true;
}

static bool vmmio_write(void *dev, u64 off, u32 width, u64 value)
{
	struct virtio_dev *d = dev;

	if (off & (width - 1))
		return false;
	if (off >= CONFIG)
		return true;
	if (width != 4)
		return false;
	spin_lock(&d->lock);
	reg_write(d, off, (u32)value);
	spin_unlock(&d->lock);
	if (d->ops->unlocked)
		d->ops->unlocked(d);
	return true;
}

const struct mmio_ops virtio_mmio_ops = { "virtio-mmio", vmmio_read, vmmio_write };
