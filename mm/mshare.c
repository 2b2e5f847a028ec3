// SPDX-License-Identifier: GPL-2.0-only
/*
 * msharefs regions: the host mm behind each msharefs file.
 *
 * A region owns an mm_struct that no task runs on. Mappings are created in
 * it on behalf of the region's users, and processes that map the region
 * share its page tables. This file holds the mm side; fs/msharefs/ holds
 * the files.
 *
 * Copyright (C) 2026 The msharefs developers
 */

#include <linux/mm.h>
#include <linux/mshare.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>

/**
 * mshare_region_alloc - allocate a region and its host mm
 *
 * The host mm is created empty. Its lifetime is that of the region, not of
 * the task that created it, so it has no owner task: with CONFIG_MEMCG an
 * mm's owner is used to find the memcg to charge, and mm_alloc() makes the
 * caller the owner, which would leave a dangling pointer once the caller
 * exits. With no owner, charges against the host mm go to the root memcg.
 *
 * Return: the new region, or NULL if memory ran out.
 */
struct mshare_region *mshare_region_alloc(void)
{
	struct mshare_region *region;

	region = kzalloc(sizeof(*region), GFP_KERNEL_ACCOUNT);
	if (!region)
		return NULL;

	region->mm = mm_alloc();
	if (!region->mm) {
		kfree(region);
		return NULL;
	}
#ifdef CONFIG_MEMCG
	RCU_INIT_POINTER(region->mm->owner, NULL);
#endif
	/* Default VMA flags of the creator (VM_NOHUGEPAGE) must not leak in. */
	region->mm->def_flags = 0;
	return region;
}

/**
 * mshare_region_free - tear down a region and its host mm
 * @region: the region, which nobody maps or uses any more
 *
 * Unmaps everything left in the host mm and frees its page tables.
 */
void mshare_region_free(struct mshare_region *region)
{
	if (!region)
		return;
	mmput(region->mm);
	kfree(region);
}

/**
 * mshare_region_set_size - give a region its size, once
 * @region: the region
 * @size: the size in bytes
 *
 * The caller serialises calls (the file's inode lock). A region is sized
 * once; a size must be a non-zero multiple of MSHARE_ALIGN no larger than
 * MSHARE_MAX_SIZE.
 *
 * Return: 0, or -EINVAL for a bad size or a region that already has one.
 */
int mshare_region_set_size(struct mshare_region *region, loff_t size)
{
	if (region->size)
		return -EINVAL;
	if (size <= 0 || size > MSHARE_MAX_SIZE || !IS_ALIGNED(size, MSHARE_ALIGN))
		return -EINVAL;
	/* Pairs with the READ_ONCE() of users that find the region sized. */
	WRITE_ONCE(region->size, size);
	return 0;
}

