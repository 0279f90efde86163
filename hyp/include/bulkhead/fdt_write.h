/* A small flattened device tree (DTB, version 17) writer into a caller-supplied buffer.
 * No allocation and no global state: all of it is in struct fdtw. Nodes and properties are
 * written in order (begin_node, props, child nodes, end_node); property names are kept once
 * in the strings block. Errors are sticky: after the first one (the buffer is full, or a call
 * out of order) every call does nothing and fdtw_finish() returns the error. Nothing is ever
 * written outside [buf, buf + size), but all of it is scratch space while writing (the strings
 * block is kept at its end until fdtw_finish moves it down).
 *
 *	struct fdtw w;
 *	fdtw_init(&w, buf, sizeof(buf));
 *	fdtw_begin_node(&w, "");              // the root
 *	fdtw_prop_u32(&w, "#address-cells", 2);
 *	fdtw_begin_node(&w, "chosen");
 *	fdtw_prop_string(&w, "bootargs", "console=ttyAMA0");
 *	fdtw_end_node(&w);
 *	fdtw_end_node(&w);
 *	int size = fdtw_finish(&w);           // > 0: the blob's size; < 0: FDTW_ERR_*
 */
#ifndef BULKHEAD_FDT_WRITE_H
#define BULKHEAD_FDT_WRITE_H

#include <bulkhead/types.h>

/* Error codes (negative). */
#define FDTW_ERR_NOSPACE (-1) /* the buffer is too small */
#define FDTW_ERR_STATE (-2)   /* a call out of order (property outside a node or after a
			       * subnode, unbalanced end_node, finish with open nodes...) */
#define FDTW_ERR_NAME (-3)    /* an empty node or property name (only the root has none) */

struct fdtw {
	u8 *buf;
	u32 size;        /* usable bytes of buf (at most 1 GiB) */
	u32 off;         /* end of the structure block written so far */
	u32 strings_len; /* the strings block, kept at the end of buf until fdtw_finish */
	u32 depth;       /* open nodes */
	int err;         /* first error, sticky */
	bool root_done;  /* the root node has been closed */
	bool after_end;  /* the last token was an END_NODE: no property may follow */
	bool finished;
};

/* Starts a blob in buf (size bytes). Nothing is written to buf until there is something to
 * write; a size too small for the header only shows up as FDTW_ERR_NOSPACE. */
void fdtw_init(struct fdtw *w, void *buf, u32 size);

/* Opens a node; the first one is the root and must be named "". Returns the sticky error. */
int fdtw_begin_node(struct fdtw *w, const char *name);
/* Closes the innermost open node. */
int fdtw_end_node(struct fdtw *w);

/* A property of the open node, before any of its subnodes: len bytes of data (data may be NULL
 * if len is 0: an empty property such as "interrupt-controller"). */
int fdtw_prop(struct fdtw *w, const char *name, const void *data, u32 len);
/* An empty property (a flag). */
int fdtw_prop_empty(struct fdtw *w, const char *name);
/* One cell. */
int fdtw_prop_u32(struct fdtw *w, const char *name, u32 v);
/* One 64-bit number as two cells (high first). */
int fdtw_prop_u64(struct fdtw *w, const char *name, u64 v);
/* n cells. */
int fdtw_prop_cells(struct fdtw *w, const char *name, const u32 *cells, u32 n);
/* One NUL-terminated string. */
int fdtw_prop_string(struct fdtw *w, const char *name, const char *s);
/* A string list, as in compatible = "arm,pl011", "arm,primecell": n strings, each with its NUL. */
int fdtw_prop_strings(struct fdtw *w, const char *name, const char *const *list, u32 n);

/* Ends the blob: the root must have been closed. Moves the strings block after the structure
 * block and writes the header. Returns the blob's total size (> 0) or an FDTW_ERR_*. */
int fdtw_finish(struct fdtw *w);

#endif
