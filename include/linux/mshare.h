/* SPDX-License-Identifier: GPL-2.0 */
/*
 * msharefs kernel-internal interface between fs/msharefs/ (the files) and
 * mm/mshare.c (the host mm each region owns).
 */
#ifndef _LINUX_MSHARE_H
#define _LINUX_MSHARE_H

#include <linux/types.h>
#include <linux/list.h>
#include <linux/mm_types.h>
#include <linux/mmu_notifier.h>
#include <linux/mutex.h>
#include <linux/pgtable.h>
#include <linux/sched/coredump.h>
#include <linux/spinlock.h>
#include <linux/rwsem.h>
#include <linux/semaphore.h>
#include <linux/workqueue.h>

struct folio;
struct mmu_gather;
struct seq_file;

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

/* Host ranges whose emptied tables are waiting to be freed, at most. */
#define MSHARE_PT_RANGES	4

struct mshare_pt_range {
	unsigned long start;
	unsigned long end;
};

/**
 * struct mshare_region - the host address space behind one msharefs file
 * @mm: the host mm, NULL until the region is first mapped or given a
 *	mapping; it never runs on a CPU and has no owner task
 * @size: size of the region in bytes, 0 until the file is sized; set once
 * @lock: serialises changes to @sharers (with @sharers_sem), to the
 *	sharers' link counts and to @nr_links
 * @sharers: the process VMAs that link host page tables (struct
 *	mshare_sharer); RCU-protected for the TLB flushes, which run under
 *	page-table locks
 * @sharers_sem: held for reading while host invalidations are forwarded to
 *	the sharers (which may sleep), for writing to add or remove one
 * @nr_links: how many process PUD entries link host PMD tables
 * @mn: flushes the sharers' TLBs when the host's page tables change
 * @mn_fwd: forwards the host's invalidations to the sharers' notifiers (the
 *	core wants TLB flushes and range invalidations in two subscriptions)
 * @mn_lock: serialises creating @mm and registering @mn and @mn_fwd on it
 *	(at the first mmap or mapping)
 * @op_sem: lets one op on @mm (MSHAREFS_CREATE_MAPPING, MSHAREFS_UNMAP) be
 *	queued at a time, so that callers killed while they wait cannot pile
 *	ops up
 * @host_node: in the table that finds the region of a host mm
 * @pt_node: in the list of host mms the page-table shrinker goes through
 * @pt_cursor: where the shrinker goes on in @mm
 * @pt_pass_pending: @pt_pending when the shrinker's pass through @mm began
 * @pt_pending: host PTE tables that zaps touched since the shrinker last
 *	went through @mm: what it may find to free
 * @pt_freed: host PTE tables freed by page-table reclaim, all triggers
 * @pt_work: frees the tables that a truncation or hole punch of an object
 *	emptied
 * @pt_ranges: the host ranges @pt_work frees (under @lock)
 * @rcu: frees the region after an RCU grace period: the table is read
 *	under RCU
 */
struct mshare_region {
	struct mm_struct *mm;
	loff_t size;
	spinlock_t lock;		/* sharers, links */
	struct list_head sharers;
	struct rw_semaphore sharers_sem;
	unsigned long nr_links;
	struct mmu_notifier mn;
	struct mmu_notifier mn_fwd;
	struct mutex mn_lock;		/* creating mm */
	struct semaphore op_sem;
	struct hlist_node host_node;
	struct list_head pt_node;
	unsigned long pt_cursor;
	long pt_pass_pending;
	atomic_long_t pt_pending;
	atomic_long_t pt_freed;
	struct work_struct pt_work;
	struct mshare_pt_range pt_ranges[MSHARE_PT_RANGES];
	struct rcu_head rcu;
};

#ifdef CONFIG_MSHAREFS
extern const struct vm_operations_struct mshare_vm_ops;

/* Is @vma a process's mapping of a region? */
static inline bool vma_is_mshare(const struct vm_area_struct *vma)
{
	return vma->vm_ops == &mshare_vm_ops;
}

/* Is @mm the host mm of a region? */
static inline bool mm_is_mshare_host(const struct mm_struct *mm)
{
	return test_bit(MMF_MSHARE_HOST, &mm->flags);
}

struct mshare_region *mshare_region_alloc(void);
void mshare_region_free(struct mshare_region *region);
int mshare_region_set_size(struct mshare_region *region, loff_t size);
long mshare_region_ioctl(struct file *file, unsigned int cmd,
			 unsigned long arg);
unsigned long mshare_region_get_unmapped_area(struct file *file,
					      unsigned long addr,
					      unsigned long len,
					      unsigned long pgoff,
					      unsigned long flags);
int mshare_region_mmap(struct file *file, struct vm_area_struct *vma);
int mshare_region_fsync(struct file *file, loff_t start, loff_t end,
			int datasync);
void mshare_region_show_fdinfo(struct seq_file *m, struct file *file);

vm_fault_t mshare_fault(struct vm_area_struct *vma, unsigned long address,
			unsigned int flags);
void mshare_unmap_vma(struct mmu_gather *tlb, struct vm_area_struct *vma,
		      unsigned long start, unsigned long end);
int mshare_madvise(struct vm_area_struct *vma, struct vm_area_struct **prev,
		   unsigned long start, unsigned long end, int behavior);
bool mshare_gup_folio_allowed(struct folio *folio, unsigned int flags);
struct arch_tlbflush_unmap_batch;
void mshare_tlbbatch_add_pending(struct arch_tlbflush_unmap_batch *batch,
				 struct mm_struct *host, unsigned long addr);
int mshare_pt_reclaim(struct vm_area_struct *vma, unsigned long start,
		      unsigned long end);
void mshare_pt_reclaimed(struct mm_struct *host, unsigned long nr);
#else
static inline bool vma_is_mshare(const struct vm_area_struct *vma)
{
	return false;
}

static inline bool mm_is_mshare_host(const struct mm_struct *mm)
{
	return false;
}

static inline vm_fault_t mshare_fault(struct vm_area_struct *vma,
				      unsigned long address, unsigned int flags)
{
	return VM_FAULT_SIGBUS;
}

static inline void mshare_unmap_vma(struct mmu_gather *tlb,
				    struct vm_area_struct *vma,
				    unsigned long start, unsigned long end)
{
}

static inline int mshare_madvise(struct vm_area_struct *vma,
				 struct vm_area_struct **prev,
				 unsigned long start, unsigned long end,
				 int behavior)
{
	return -EINVAL;
}

static inline bool mshare_gup_folio_allowed(struct folio *folio,
					    unsigned int flags)
{
	return true;
}

struct arch_tlbflush_unmap_batch;
static inline void
mshare_tlbbatch_add_pending(struct arch_tlbflush_unmap_batch *batch,
			    struct mm_struct *host, unsigned long addr)
{
}

static inline int mshare_pt_reclaim(struct vm_area_struct *vma,
				    unsigned long start, unsigned long end)
{
	return 0;
}

static inline void mshare_pt_reclaimed(struct mm_struct *host,
				       unsigned long nr)
{
}
#endif

#endif /* _LINUX_MSHARE_H */
