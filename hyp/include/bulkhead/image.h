/* Where a VM's boot image goes in its RAM: an arm64 Linux Image honours its header
 * (text_offset, image_size); anything else is a flat binary at the start of RAM. */
#ifndef BULKHEAD_IMAGE_H
#define BULKHEAD_IMAGE_H

#include <bulkhead/types.h>

struct image_place {
	u64 offset;  /* load offset from the RAM base; also the entry point */
	u64 span;    /* bytes the image needs from there (Image: image_size incl. BSS) */
	bool linux;  /* an arm64 Image header was found */
};

/* Returns NULL if the image fits in ram_size bytes, else the reason. */
const char *image_place(const u8 *img, u64 size, u64 ram_size, struct image_place *out);

#endif
