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

/*
 * Offset 0 of a region is this address in its host mm: clear of
 * mmap_min_addr, and aligned so that host PMD tables line up with the PUD
 * entries of the processes that map the region.
 */
#define MSHARE_HOST_BASE	PUD_SIZE

/*
 * Mappings in a region must end below this offset: the host mm's limit. It
 * is the default user address space (47 bits on x86-64), whether or not the
 * CPU has 5-level paging, so that what a region can hold does not depend on
 * the machine.
 */
#ifdef DEFAULT_MAP_WINDOW
#define MSHARE_HOST_END		DEFAULT_MAP_WINDOW
#else
#define MSHARE_HOST_END		TASK_SIZE_MAX
#endif
#define MSHARE_HOST_LIMIT	((MSHARE_HOST_END & PUD_MASK) - MSHARE_HOST_BASE)

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
long mshare_region_ioctl(struct file *file, unsigned int cmd,
			 unsigned long arg);
#endif

#endif /* _LINUX_MSHARE_H */
