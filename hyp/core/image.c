/* Boot image placement (Documentation/arch/arm64/booting.rst's header), shared by the
 * hypervisor and bhpack so both accept exactly the same images. */
#include <bulkhead/image.h>
#include <bulkhead/string.h>

#define ARM64_MAGIC_OFF 0x38
#define ARM64_HDR_SIZE 64

static u64 le64(const u8 *p)
{
	u64 v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

const char *image_place(const u8 *img, u64 size, u64 ram_size, struct image_place *out)
{
	if (!size)
		return "image is empty";
	out->linux = size >= ARM64_HDR_SIZE && !memcmp(img + ARM64_MAGIC_OFF, "ARM\x64", 4);
	if (out->linux) {
		u64 text_offset = le64(img + 8), image_size = le64(img + 16);

		if (!image_size) /* pre-3.17 kernels: offset 0x80000, size unknown */
			text_offset = 0x80000;
		if (text_offset & 0xFFF)
			return "arm64 Image header: text_offset is not 4 KiB aligned";
		out->offset = text_offset;
		out->span = MAX(image_size, size);
	} else {
		out->offset = 0;
		out->span = size;
	}
	if (out->offset >= ram_size || out->span > ram_size - out->offset)
		return "image does not fit in the VM's RAM";
	return NULL;
}
