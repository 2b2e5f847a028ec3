/* SPDX-License-Identifier: GPL-2.0 */
/*
 * msharefs kernel-internal interface between fs/msharefs/ (the files) and
 * mm/mshare.c (the host mm each region owns).
 */
#ifndef _LINUX_MSHARE_H
#define _LINUX_MSHARE_H

#include <linux/types.h>
#include <linux/pgtable.h>

struct mm_struct;

/*
 * Regions are aligned to, and sized in multiples of, the span of one PUD
 * entry: a process links the host's PMD tables from its own PUD entries.
 */
#define MSHARE_ALIGN		PUD_SIZE

/* Largest region size: a multiple of MSHARE_ALIGN that loff_t can hold. */
#define MSHARE_MAX_SIZE		((loff_t)(MAX_LFS_FILESIZE & PUD_MASK))

/**
 * struct mshare_region - the host address space behind one msharefs file
 * @mm: the host mm; it never runs on a CPU and has no owner task
 * @size: size of the region in bytes, 0 until the file is sized; set once
 */
struct mshare_region {
	struct mm_struct *mm;
	loff_t size;
};

#ifdef CONFIG_MSHAREFS
struct mshare_region *mshare_region_alloc(void);
void mshare_region_free(struct mshare_region *region);
int mshare_region_set_size(struct mshare_region *region, loff_t size);
#endif

#endif /* _LINUX_MSHARE_H */
