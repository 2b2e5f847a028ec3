// SPDX-License-Identifier: GPL-2.0-only
/*
 * msharefs regions: the host mm behind each msharefs file.
 *
 * A region owns an mm_struct that no task runs on. Mappings are created in
 * it on behalf of the region's users, and processes that map the region
 * share its page tables. This file holds the mm side; fs/msharefs/ holds
 * the files.
 *
 * The rule of table lifetime
 *
 * A process walks a region's host PMD and PTE tables through the PUD
 * entries that link them, holding only its own locks: its mmap_lock (or a
 * VMA lock) for smaps, pagemap, mincore, GUP and the other page walkers,
 * RCU for pte_offset_map*() users, interrupts off for GUP-fast. Unlinking
 * does not wait for any of them. So:
 *
 * 1. A host PMD table is never freed while the region exists: once a slot
 *    has one, it stays until the host mm is torn down, when no process
 *    maps the region any more (a mapping holds the file). free_pgd_range()
 *    leaves a host's tables alone; mshare_region_free() frees them. This
 *    costs 4 KiB per GiB of the region ever mapped.
 * 2. A host PTE table is freed only by clearing its PMD entry under the
 *    PMD lock and the table's PTE lock, after checking under both that
 *    every entry is none, and then only after an RCU grace period
 *    (pte_free_defer()), which also waits for GUP-fast walkers with
 *    interrupts off. Every pte_offset_map*() user holds RCU, and either
 *    checks the PMD entry again under the PTE lock, or acts only if an
 *    entry still holds the non-none value it read (pte_same()), which an
 *    empty table never does: a walker that read the PMD entry before it
 *    was cleared finds it changed, or nothing to do in a table that is
 *    still allocated. So only empty tables may be freed this way.
 *    khugepaged's retract_page_tables() follows the same rule, and so
 *    does page-table reclaim (mm/pt_reclaim.c), which frees the host's
 *    emptied tables (see mshare_pt_note_zap()).
 * 3. A process's link (its PUD entry) is cleared only by the zap of its own
 *    VMA when no walker can be in it: munmap once the VMA has left the
 *    tree, exit once nobody else holds the mm. Walkers read a PUD entry
 *    twice (walk_pud_range() then pmd_offset(), follow_pud_mask() then
 *    follow_pmd_mask()): cleared in between, they would take physical
 *    page 0 for a PMD table. So MSHAREFS_UNMAP leaves links alone (rule 1
 *    lets it), and the OOM reaper skips region VMAs.
 * 4. A sharer stays counted (&struct mshare_sharer.nr_linked) until its
 *    TLB has been flushed after an unlink, so that host flushes reach it
 *    for as long as any of its CPUs may still translate through the link.
 *
 * Copyright (C) 2026 The msharefs developers
 */

#include <linux/cred.h>
#include <linux/file.h>
#include <linux/hashtable.h>
#include <linux/hugetlb.h>
#include <linux/init.h>
#include <linux/kthread.h>
#include <linux/magic.h>
#include <linux/memcontrol.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/mmu_notifier.h>
#include <linux/mount.h>
#include <linux/mshare.h>
#include <linux/pagewalk.h>
#include <linux/pgtable.h>
#include <linux/pt_reclaim.h>
#include <linux/sched/mm.h>
#include <linux/secretmem.h>
#include <linux/seq_file.h>
#include <linux/shmem_fs.h>
#include <linux/shrinker.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/userfaultfd_k.h>
#include <linux/workqueue.h>
#include <asm/tlb.h>
#include <asm/tlbflush.h>
#include <uapi/linux/msharefs.h>

#include "internal.h"

/*
 * The host mm's mmap_lock is taken inside a process's mmap_lock (or VMA
 * lock) by faults on a region: give it a class of its own, so that lockdep
 * tells this nesting from a real recursion on one mm.
 */
static struct lock_class_key mshare_host_mmap_lock_key;

/*
 * Host mms to their regions, for the batched flushes of reclaim, which
 * know the mm only. Looked up under RCU.
 */
static DEFINE_HASHTABLE(mshare_hosts, 8);
static DEFINE_SPINLOCK(mshare_hosts_lock);

/* Ops on host mms; see struct mshare_op. */
static struct workqueue_struct *mshare_wq;

/*
 * Host mms for the page-table shrinker, which goes through them in turn.
 * The mutex keeps a region on the list, and its host mm, while the
 * shrinker works on it; the shrinker only tries it.
 */
static LIST_HEAD(mshare_pt_regions);
static DEFINE_MUTEX(mshare_pt_mutex);
static unsigned long mshare_pt_nr_regions;	/* on the list */
static atomic_long_t mshare_pt_pending;		/* sum of pt_pending */

static void mshare_pt_work(struct work_struct *work);

/**
 * struct mshare_sharer - a process VMA that links the host's page tables
 * @node: in the region's list of sharers
 * @mm: the process's mm, which the sharer holds with mmgrab()
 * @start: the address of region offset 0 in @mm
 * @len: the length of the VMA
 * @nr_linked: how many PUD entries of the VMA link host PMD tables
 * @free_work: frees the sharer, and drops @mm, after an RCU grace period
 *
 * Allocated at the VMA's first fault, freed when the VMA is closed. It is
 * what the host's TLB flushes are forwarded to. Those run under page-table
 * locks, and walk the region's list under RCU alone: a sharer that left the
 * list stays allocated, with its mm, until they are done.
 */
struct mshare_sharer {
	struct list_head node;
	struct mm_struct *mm;
	unsigned long start;
	unsigned long len;
	unsigned long nr_linked;
	struct rcu_work free_work;
};

/**
 * mshare_region_alloc - allocate a region
 *
 * The host mm comes later, at the first mmap() or MSHAREFS_CREATE_MAPPING
 * (mshare_host_mm()), charged to whoever does that first, a read-only
 * opener included: a region that is never used costs its inode and this
 * structure, whatever its size.
 *
 * Return: the new region, or NULL if memory ran out.
 */
struct mshare_region *mshare_region_alloc(void)
{
	struct mshare_region *region;

	if (!mshare_wq)
		return NULL;
	region = kzalloc(sizeof(*region), GFP_KERNEL_ACCOUNT);
	if (!region)
		return NULL;
	spin_lock_init(&region->lock);
	INIT_LIST_HEAD(&region->sharers);
	init_rwsem(&region->sharers_sem);
	mutex_init(&region->mn_lock);
	sema_init(&region->op_sem, 1);
	INIT_LIST_HEAD(&region->pt_node);
	INIT_WORK(&region->pt_work, mshare_pt_work);
	return region;
}

static const struct mmu_notifier_ops mshare_mn_ops;
static const struct mmu_notifier_ops mshare_mn_fwd_ops;

/*
 * The region's host mm, created empty at its first use, by the task that
 * uses it first (which pays for it). Its lifetime is that of the region,
 * not of that task, so it has no owner task: with CONFIG_MEMCG an mm's
 * owner is used to find the memcg to charge, and mm_alloc() makes the
 * caller the owner, which would leave a dangling pointer once the caller
 * exits. Charges for a host mm go to the task that allocates (see
 * mshare_fault()).
 *
 * Return: the host mm, or NULL if memory ran out.
 */
static struct mm_struct *mshare_host_mm(struct mshare_region *region)
{
	struct mm_struct *mm;

	/* Pairs with the smp_store_release() below. */
	mm = smp_load_acquire(&region->mm);
	if (mm)
		return mm;

	mutex_lock(&region->mn_lock);
	mm = region->mm;
	if (mm)
		goto out;
	mm = mm_alloc();
	if (!mm)
		goto out;
	lockdep_set_class(&mm->mmap_lock, &mshare_host_mmap_lock_key);
#ifdef CONFIG_MEMCG
	RCU_INIT_POINTER(mm->owner, NULL);
#endif
	/*
	 * mm_alloc() copies the creator's MMF_* flags and default VMA flags
	 * (MDWE, THP disabled, KSM merge-any, VM_NOHUGEPAGE): a region is not
	 * the creator's, and must not make every user inherit them.
	 */
	mm->flags = MMF_DUMP_FILTER_DEFAULT;
	/* hugetlb must not share the host's PMD tables: see want_pmd_share(). */
	set_bit(MMF_MSHARE_HOST, &mm->flags);
	mm->def_flags = 0;
	mm->task_size = MSHARE_HOST_END;
	/*
	 * The notifiers are registered now, while the mm has no VMA:
	 * mmu_notifier_register() takes every VMA's locks, and gives up for
	 * any pending signal. Registered at the first mmap() of a populated
	 * host, a task that receives signals often could never map the
	 * region.
	 */
	region->mn.ops = &mshare_mn_ops;
	region->mn_fwd.ops = &mshare_mn_fwd_ops;
	if (mmu_notifier_register(&region->mn, mm)) {
		mmput(mm);
		mm = NULL;
		goto out;
	}
	/* With the subscriptions already allocated, this cannot fail now. */
	if (WARN_ON_ONCE(mmu_notifier_register(&region->mn_fwd, mm))) {
		mmu_notifier_unregister(&region->mn, mm);
		mmput(mm);
		mm = NULL;
		goto out;
	}

	spin_lock(&mshare_hosts_lock);
	hash_add_rcu(mshare_hosts, &region->host_node, (unsigned long)mm);
	spin_unlock(&mshare_hosts_lock);
	/* A reader that finds the mm finds it set up: see the top. */
	smp_store_release(&region->mm, mm);

	mutex_lock(&mshare_pt_mutex);
	list_add_tail(&region->pt_node, &mshare_pt_regions);
	mshare_pt_nr_regions++;
	mutex_unlock(&mshare_pt_mutex);
out:
	mutex_unlock(&region->mn_lock);
	return mm;
}

/*
 * exit_mmap() frees the tables its VMAs span; a host also keeps tables
 * where its mappings were unmapped (rule 1 below). Free those, in every
 * gap between the host's VMAs, first.
 */
static void mshare_free_gap_tables(struct mm_struct *mm)
{
	unsigned long prev_end = FIRST_USER_ADDRESS;
	struct vm_area_struct *vma;
	struct vma_iterator vmi;
	struct mmu_gather tlb;

	mmap_write_lock(mm);
	vma_iter_init(&vmi, mm, 0);
	tlb_gather_mmu(&tlb, mm);
	for_each_vma(vmi, vma) {
		if (vma->vm_start > prev_end)
			free_pgd_range(&tlb, prev_end, vma->vm_start, prev_end,
				       vma->vm_start);
		prev_end = vma->vm_end;
	}
	if (prev_end < MSHARE_HOST_END)
		free_pgd_range(&tlb, prev_end, MSHARE_HOST_END, prev_end,
			       USER_PGTABLES_CEILING);
	tlb_finish_mmu(&tlb);
	mmap_write_unlock(mm);
}

/**
 * mshare_region_free - tear down a region and its host mm
 * @region: the region, which nobody maps or uses any more
 *
 * Unmaps everything left in the host mm and frees its page tables. The
 * notifiers' unregistration waits for SRCU grace periods: only regions
 * that had a host mm (were mapped, or given a mapping) pay for it.
 */
void mshare_region_free(struct mshare_region *region)
{
	if (!region)
		return;
	/* Nobody maps the region any more: nothing links its tables. */
	WARN_ON_ONCE(!list_empty(&region->sharers));
	WARN_ON_ONCE(region->nr_links);
	if (!region->mm)
		goto out;		/* never used */
	spin_lock(&mshare_hosts_lock);
	hash_del_rcu(&region->host_node);
	spin_unlock(&mshare_hosts_lock);
	mmu_notifier_unregister(&region->mn_fwd, region->mm);
	mmu_notifier_unregister(&region->mn, region->mm);
	/* The notifier queues it and counts what is pending: nothing can now. */
	cancel_work_sync(&region->pt_work);
	mutex_lock(&mshare_pt_mutex);
	list_del(&region->pt_node);
	mshare_pt_nr_regions--;
	atomic_long_sub(atomic_long_xchg(&region->pt_pending, 0),
			&mshare_pt_pending);
	mutex_unlock(&mshare_pt_mutex);
	/* Nobody can walk the host's tables now: they may be freed. */
	clear_bit(MMF_MSHARE_HOST, &region->mm->flags);
	mshare_free_gap_tables(region->mm);
	mmput(region->mm);
out:
	mutex_destroy(&region->mn_lock);
	kfree_rcu(region, rcu);
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
 * Sizing allocates nothing: what a slot of the region needs (the host's
 * PMD table, and the PTE tables under it) is allocated when the slot
 * is first mapped or faulted, and charged to whoever does it. A region
 * sized to the maximum costs what an unsized one does.
 *
 * Return: 0, or -EINVAL for a bad size or a region that already has one.
 */
int mshare_region_set_size(struct mshare_region *region, loff_t size)
{
	if (region->size)
		return -EINVAL;
	if (size <= 0 || size > MSHARE_MAX_SIZE || !IS_ALIGNED(size, MSHARE_ALIGN))
		return -EINVAL;

	/* Pairs with smp_load_acquire() of users that find the region sized. */
	smp_store_release(&region->size, size);
	return 0;
}

/*
 * Changes to the host mm are made by a kworker that adopts the host mm with
 * kthread_use_mm(): do_mmap() and do_vmi_munmap() act on current->mm, and a
 * user task cannot lend its own mm slot without its CPU running on the host
 * page tables. The worker runs with the caller's credentials, so permission
 * and LSM checks on the object see the caller; the object's file is looked
 * up in the caller's file table before the work is queued.
 *
 * The caller waits killably: the host's mmap_lock may be held for long by
 * another op whose object's ->mmap() is stuck in its file system. A killed
 * caller leaves the op to the worker, which then frees it; the op holds the
 * region's file, so the region outlives it.
 */
enum { MSHARE_OP_RUNNING, MSHARE_OP_DONE, MSHARE_OP_ABANDONED };

struct mshare_op {
	struct work_struct work;
	struct completion done;
	atomic_t state;			/* MSHARE_OP_* */
	struct file *region_file;	/* pins the region and its host mm */
	struct mm_struct *mm;
	const struct cred *cred;
	struct mem_cgroup *memcg;	/* the caller's, charged for the work */
	struct file *file;		/* the object, NULL for anonymous */
	unsigned long addr;		/* in the host mm */
	unsigned long len;
	unsigned long prot;
	unsigned long flags;		/* MAP_*, or 0 for an unmap */
	unsigned long offset;		/* in the object */
	struct file **put;		/* files for the caller to fput() */
	unsigned int nr_put;
	unsigned int fail_nth;		/* the caller's fault injection */
	long ret;
};

static struct mshare_region *mshare_file_region(struct file *file)
{
	return file_inode(file)->i_private;
}

/* The host's PUD entry for @addr, or NULL if the host has no PUD table. */
static pud_t *mshare_host_pud(struct mm_struct *host, unsigned long addr)
{
	pgd_t *pgd = pgd_offset(host, addr);
	p4d_t *p4d;

	if (pgd_none(pgdp_get(pgd)))
		return NULL;
	p4d = p4d_offset(pgd, addr);
	if (p4d_none(p4dp_get(p4d)))
		return NULL;
	return pud_offset(p4d, addr);
}

/*
 * Free the host PTE tables in [start, end) that an unmap emptied, skipping
 * whole PUD spans that have no PMD table. munmap() left them, as it leaves
 * every host table (rule 1); what page-table reclaim does elsewhere it
 * does here, but for tables in the gap the unmap left, which no VMA
 * spans: that needs the host's mmap_lock for writing, which keeps any
 * other unmap out (rule 2 at the top of this file). A fault in a host VMA
 * that shares a table (one ends inside its span) may still run under that
 * VMA's lock, and walkers of the host and of the process side may be
 * reading it, under its locks or RCU: all of them recheck the PMD entry
 * under the PTE lock, and the table is freed after a grace period.
 */
static void mshare_free_empty_ptes(struct mm_struct *mm, unsigned long start,
				   unsigned long end)
{
	unsigned long addr = ALIGN_DOWN(start, PMD_SIZE);
	struct pt_reclaim_batch b;
	pud_t *pud, entry;

	mmap_assert_write_locked(mm);
	pt_reclaim_batch_init(&b);
	while (addr < end) {
		pud = mshare_host_pud(mm, addr);
		entry = pud ? pudp_get(pud) : __pud(0);
		if (!pud_present(entry) || pud_leaf(entry)) {
			addr = pud_addr_end(addr, end);
			continue;
		}
		pt_reclaim_pmd(mm, pmd_offset(pud, addr), addr, false, &b);
		addr += PMD_SIZE;
		cond_resched();
	}
	/*
	 * One flush for them all, before any can be freed: the notifier
	 * flushes the sharers, lazy CPUs' paging-structure caches included.
	 */
	pt_reclaim_finish(mm, &b, PT_RECLAIM_TRIGGER_ZAP);
}

/*
 * A kthread's final fput() is deferred to a global work item, so a file
 * unmapped here would be released some time after the ioctl returned (and
 * a hugetlb reservation given back late). Take a reference on every file
 * mapped in the range first, and let the caller drop them in its own
 * context once the host mappings are gone. (On the mmap side the caller
 * holds the only other reference, and drops it itself.)
 *
 * Processes that link the host's PMD tables in the range stay linked: the
 * tables outlive them (rule 1 at the top of this file), the zap empties
 * them and the notifier flushes those processes. Their next access faults,
 * and finds the range gone.
 */
static long mshare_op_munmap(struct mshare_op *op)
{
	struct mm_struct *mm = op->mm;
	unsigned long end = op->addr + op->len;
	struct vm_area_struct *vma;
	struct vma_iterator vmi;
	unsigned int nr = 0;
	LIST_HEAD(uf);
	long ret;

	mmap_write_lock(mm);
	vma_iter_init(&vmi, mm, op->addr);
	for_each_vma_range(vmi, vma, end)
		nr += !!vma->vm_file;
	op->put = kcalloc(nr, sizeof(*op->put), GFP_KERNEL);
	if (nr && !op->put) {
		mmap_write_unlock(mm);
		return -ENOMEM;
	}
	vma_iter_set(&vmi, op->addr);
	for_each_vma_range(vmi, vma, end) {
		if (vma->vm_file && op->nr_put < nr)
			op->put[op->nr_put++] = get_file(vma->vm_file);
	}

	vma_iter_set(&vmi, op->addr);
	ret = do_vmi_munmap(&vmi, mm, op->addr, op->len, &uf, false);
	/* munmap left the host's tables in place: free the emptied ones. */
	if (!ret)
		mshare_free_empty_ptes(mm, op->addr, end);
	mmap_write_unlock(mm);
	userfaultfd_unmap_complete(mm, &uf);
	return ret;
}

static void mshare_op_free(struct mshare_op *op)
{
	unsigned int i;

	for (i = 0; i < op->nr_put; i++)
		fput(op->put[i]);
	kfree(op->put);
	if (op->file)
		fput(op->file);
	fput(op->region_file);
	put_cred(op->cred);
	mem_cgroup_put(op->memcg);
	kfree(op);
}

/*
 * An op's allocations are the caller's: its fail-nth count (fault
 * injection, /proc/thread-self/fail-nth) goes with the op to the worker
 * and comes back, so that fault injection reaches what
 * MSHAREFS_CREATE_MAPPING and MSHAREFS_UNMAP allocate in the host mm.
 */
#ifdef CONFIG_FAULT_INJECTION
static void mshare_op_give_fail_nth(struct mshare_op *op)
{
	op->fail_nth = READ_ONCE(current->fail_nth);
	WRITE_ONCE(current->fail_nth, 0);
}

static void mshare_op_take_fail_nth(struct mshare_op *op)
{
	WRITE_ONCE(current->fail_nth, op->fail_nth);
	op->fail_nth = 0;
}
#else
static inline void mshare_op_give_fail_nth(struct mshare_op *op) { }
static inline void mshare_op_take_fail_nth(struct mshare_op *op) { }
#endif

static void mshare_op_work(struct work_struct *work)
{
	struct mshare_op *op = container_of(work, struct mshare_op, work);
	struct mem_cgroup *old_memcg;
	const struct cred *old_cred;

	kthread_use_mm(op->mm);
	old_cred = override_creds(op->cred);
	/*
	 * VMAs, maple nodes, page tables and the inodes of anonymous mappings
	 * are charged to the caller's memcg, not to the kworker's (root).
	 */
	old_memcg = set_active_memcg(op->memcg);
	mshare_op_take_fail_nth(op);
	if (op->flags)
		op->ret = vm_mmap(op->file, op->addr, op->len, op->prot,
				  op->flags, op->offset);
	else
		op->ret = mshare_op_munmap(op);
	mshare_op_give_fail_nth(op);
	set_active_memcg(old_memcg);
	revert_creds(old_cred);
	kthread_unuse_mm(op->mm);
	/* The region file, held by the op, keeps the region. */
	up(&mshare_file_region(op->region_file)->op_sem);

	/* complete() is the last touch of an op whose caller still waits. */
	if (atomic_xchg(&op->state, MSHARE_OP_DONE) == MSHARE_OP_ABANDONED)
		mshare_op_free(op);
	else
		complete(&op->done);
}

/*
 * Run a copy of @tmpl in the worker and wait for it, killably. The copy
 * takes over the reference to @tmpl->file. Files are released in the
 * caller's context, unless it was killed.
 *
 * Return: what the op returned, -EINTR if the caller was killed while it
 * waited, or -ENOMEM.
 */
static long mshare_op_run(struct file *region_file, struct mshare_op *tmpl)
{
	struct mshare_region *region = mshare_file_region(region_file);
	struct mshare_op *op;
	long ret;

	/*
	 * One op at a time per region: a caller killed while it waits leaves
	 * at most that one behind, and holds no worker while it queues.
	 */
	if (down_killable(&region->op_sem)) {
		ret = -EINTR;
		goto out_fput;
	}
	op = kmemdup(tmpl, sizeof(*op), GFP_KERNEL_ACCOUNT);
	if (!op) {
		up(&region->op_sem);
		ret = -ENOMEM;
		goto out_fput;
	}
	op->region_file = get_file(region_file);
	op->cred = get_current_cred();
	op->memcg = get_mem_cgroup_from_mm(current->mm);
	init_completion(&op->done);
	atomic_set(&op->state, MSHARE_OP_RUNNING);
	INIT_WORK(&op->work, mshare_op_work);
	mshare_op_give_fail_nth(op);
	queue_work(mshare_wq, &op->work);

	if (wait_for_completion_killable(&op->done)) {
		if (atomic_xchg(&op->state, MSHARE_OP_ABANDONED) ==
		    MSHARE_OP_RUNNING)
			return -EINTR;
		/* It finished meanwhile, and is about to say so. */
		wait_for_completion(&op->done);
	}
	mshare_op_take_fail_nth(op);
	ret = op->ret;
	mshare_op_free(op);
	return ret;

out_fput:
	if (tmpl->file)
		fput(tmpl->file);
	return ret;
}

/*
 * Is [offset, offset + size) a page-aligned, non-empty range inside the
 * region and inside what the host mm can hold?
 */
static bool mshare_range_ok(struct mshare_region *region, u64 offset, u64 size)
{
	u64 end;

	if (!size || !PAGE_ALIGNED(offset) || !PAGE_ALIGNED(size))
		return false;
	if (check_add_overflow(offset, size, &end))
		return false;
	return end <= READ_ONCE(region->size) && end <= MSHARE_HOST_LIMIT;
}

/*
 * The objects a region may map, an allow-list: shmem (tmpfs files, memfd),
 * hugetlbfs, and the page cache of disk filesystems. Everything a process
 * does with a region's pages is done through page tables it shares, by
 * walkers that assume ordinary pages: so no device or anon-inode files
 * (their ->mmap() would run in a foreign context, and could hold the
 * region open through the host mm), no memfd_secret (pages outside the
 * direct map, which slow GUP would hand out), no regular files of pseudo
 * filesystems (procfs, sysfs, debugfs, tracefs: PFN or special mappings),
 * no DAX (PUD leaves, pages without page cache).
 */
static bool mshare_object_ok(struct file *file)
{
	struct inode *inode = file_inode(file);

	if (!S_ISREG(inode->i_mode))
		return false;
	if (shmem_file(file) || is_file_hugepages(file))
		return true;
	if (!(inode->i_sb->s_type->fs_flags & FS_REQUIRES_DEV))
		return false;
	if (IS_DAX(inode) || secretmem_mapping(file->f_mapping))
		return false;
	return file->f_mapping->a_ops && file->f_mapping->a_ops->read_folio;
}

#define MSHARE_CREATE_FLAGS	(MAP_SHARED | MAP_FIXED | MAP_ANONYMOUS | \
				 MAP_HUGETLB | MAP_NORESERVE | \
				 (MAP_HUGE_MASK << MAP_HUGE_SHIFT))

static long mshare_create_mapping(struct file *file,
				  struct mshare_create __user *uarg)
{
	struct mshare_region *region = file_inode(file)->i_private;
	struct mshare_create arg;
	struct mshare_op op = { };
	unsigned long mapped;
	long ret;

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;

	if ((arg.flags & MAP_TYPE) != MAP_SHARED || !(arg.flags & MAP_FIXED) ||
	    (arg.flags & ~MSHARE_CREATE_FLAGS))
		return -EINVAL;
	if (arg.prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC))
		return -EINVAL;
	/*
	 * Every access through a region is at least a read. A PROT_NONE host
	 * entry is a NUMA-hinting one to the fault path and to GUP, which
	 * would retry it forever or read through it.
	 */
	if (!(arg.prot & PROT_READ))
		return -EINVAL;
	/*
	 * Regions hold data, not code. The host's page-table entries decide
	 * executability for every process that links them, and a process's
	 * own PROT_EXEC cannot be enforced above them (x86 has no NX bit in
	 * a table entry that the kernel's walkers accept). Execute-only would
	 * moreover give the host VMA a protection key of the host mm.
	 */
	if (arg.prot & PROT_EXEC)
		return -EINVAL;
	if ((arg.flags & MAP_HUGETLB) && !(arg.flags & MAP_ANONYMOUS))
		return -EINVAL;
	/* A huge page size goes with MAP_HUGETLB only. */
	if (!(arg.flags & MAP_HUGETLB) &&
	    (arg.flags & (MAP_HUGE_MASK << MAP_HUGE_SHIFT)))
		return -EINVAL;
	if (!mshare_range_ok(region, arg.region_offset, arg.size))
		return -EINVAL;

	if (arg.flags & MAP_ANONYMOUS) {
		if ((s32)arg.fd != -1 || arg.offset)
			return -EINVAL;
	}
	if (arg.flags & MAP_HUGETLB) {
		int log = (arg.flags >> MAP_HUGE_SHIFT) & MAP_HUGE_MASK;

		/*
		 * Anonymous hugetlb, set up as ksys_mmap_pgoff() does, here in
		 * the caller's context so that its final fput() is ours too.
		 */
		/* 1 GiB pages would be PUD leaves: processes link tables. */
		if (!hstate_sizelog(log) ||
		    huge_page_size(hstate_sizelog(log)) > PMD_SIZE)
			return -EINVAL;
		op.file = hugetlb_file_setup(HUGETLB_ANON_FILE, arg.size,
					     VM_NORESERVE,
					     HUGETLB_ANONHUGE_INODE, log);
		if (IS_ERR(op.file))
			return PTR_ERR(op.file);
	} else if (!(arg.flags & MAP_ANONYMOUS)) {
		op.file = fget(arg.fd);
		if (!op.file)
			return -EBADF;
		/* A region inside a region would share tables with itself. */
		if (file_inode(op.file)->i_sb->s_magic == MSHARE_MAGIC) {
			fput(op.file);
			return -EINVAL;
		}
		if (!mshare_object_ok(op.file)) {
			fput(op.file);
			return -ENODEV;
		}
		if (is_file_hugepages(op.file) &&
		    huge_page_size(hstate_file(op.file)) > PMD_SIZE) {
			fput(op.file);
			return -EINVAL;
		}
	}

	op.mm = mshare_host_mm(region);
	if (!op.mm) {
		if (op.file)
			fput(op.file);
		return -ENOMEM;
	}
	op.addr = MSHARE_HOST_BASE + arg.region_offset;
	op.len = arg.size;
	op.prot = arg.prot;
	op.offset = arg.offset;
	/*
	 * Never replace what is mapped: the range must be free, or the
	 * mapping fails with EEXIST. Unmap first to replace a mapping.
	 */
	op.flags = (arg.flags & ~MAP_FIXED) | MAP_FIXED_NOREPLACE;

	mapped = mshare_op_run(file, &op);
	if (IS_ERR_VALUE(mapped))
		return (long)mapped;

	ret = 0;
	if (WARN_ON_ONCE(mapped != op.addr))
		ret = -EINVAL;
	return ret;
}

static long mshare_unmap(struct file *file, struct mshare_unmap __user *uarg)
{
	struct mshare_region *region = file_inode(file)->i_private;
	struct mshare_unmap arg;
	/* Pairs with mshare_host_mm(). */
	struct mshare_op op = { .mm = smp_load_acquire(&region->mm) };

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	if (!mshare_range_ok(region, arg.region_offset, arg.size))
		return -EINVAL;
	if (!op.mm)
		return 0;	/* no host mm: nothing was ever mapped */

	op.addr = MSHARE_HOST_BASE + arg.region_offset;
	op.len = arg.size;
	return mshare_op_run(file, &op);
}

/**
 * mshare_region_ioctl - the ioctls of a region file
 * @file: the region, which must be open for writing
 * @cmd: MSHAREFS_CREATE_MAPPING or MSHAREFS_UNMAP
 * @arg: pointer to the command's struct in user memory
 *
 * Return: 0, or a negative errno: -ENOTTY for an unknown command, -EBADF
 * if @file is not open for writing, -EINVAL for an unsized region or bad
 * arguments, -EFAULT for a bad pointer, -EINTR if the caller was killed
 * while it waited for the host mm, or what mmap()/munmap() in the host mm
 * returned.
 */
long mshare_region_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct mshare_region *region = file_inode(file)->i_private;

	if (cmd != MSHAREFS_CREATE_MAPPING && cmd != MSHAREFS_UNMAP)
		return -ENOTTY;
	if (!(file->f_mode & FMODE_WRITE))
		return -EBADF;
	/* Pairs with mshare_region_set_size(): a size implies the links. */
	if (!smp_load_acquire(&region->size))
		return -EINVAL;

	if (cmd == MSHAREFS_CREATE_MAPPING)
		return mshare_create_mapping(file, (void __user *)arg);
	return mshare_unmap(file, (void __user *)arg);
}

/*
 * Sharing the host's page tables
 *
 * A process maps a region with one VMA over the whole region, aligned to
 * PUD_SIZE. A fault in it is resolved in the host mm, and the process's PUD
 * entry for that PUD_SIZE slot is then set to the host's: from then on the
 * process walks the host's PMD and PTE tables, so every process that maps
 * the region uses one set of tables, and a page the host maps needs no
 * fault in any of them. The process never owns those tables: its PUD
 * entries are cleared when the VMA is zapped (munmap, exit, exec, or a
 * MSHAREFS_UNMAP of the range), before free_pgtables() can see them.
 *
 * Table locks live in the tables themselves (split PTE and PMD locks), so
 * every process that walks a table and the host take the same locks.
 *
 * The host mm never runs on a CPU: a TLB flush of it reaches nobody. The
 * region's mmu_notifier is called after every flush of the host and
 * flushes the sharers instead.
 */

/*
 * Flush a sharer's TLB for a range whose translations come from host
 * tables. Tables may be freed next (the host's, or the link itself), so
 * CPUs in lazy TLB mode must drop their paging-structure caches too, which
 * x86 does only for freed_tables. The IPIs also wait for GUP-fast walkers
 * on those CPUs, which run with interrupts off.
 */
static void mshare_flush_tlb(struct mm_struct *mm, unsigned long start,
			     unsigned long end)
{
	flush_tlb_mm_range(mm, start, end, PAGE_SHIFT, true);
}

/* Host range to region offsets; false if it misses the region. */
static bool mshare_host_offsets(unsigned long start, unsigned long end,
				unsigned long *off, unsigned long *off_end)
{
	/* end may be ULONG_MAX. */
	if (end <= MSHARE_HOST_BASE || start >= MSHARE_HOST_END)
		return false;
	*off = start > MSHARE_HOST_BASE ? start - MSHARE_HOST_BASE : 0;
	*off_end = min(end, MSHARE_HOST_END) - MSHARE_HOST_BASE;
	return true;
}

/*
 * Flush the TLBs of the sharers that link the host range [start, end), or
 * with @batch, add them to a batch of deferred flushes.
 *
 * Called with page-table locks held: no sleeping here, and no lock of the
 * region held while the IPIs are waited for. A flush costs an IPI round
 * per sharer running on another CPU; idle sharers cost none.
 *
 * A sharer counts a link before it makes it (mshare_link()). The host
 * cleared its entries before this: the barrier orders those stores before
 * the reads of the counts, so that a sharer read as unlinked cannot have
 * walked the host's tables to an entry the host has since cleared.
 */
static void mshare_flush_sharers(struct mshare_region *region,
				 unsigned long start, unsigned long end,
				 struct arch_tlbflush_unmap_batch *batch)
{
	struct mshare_sharer *sharer;
	unsigned long off, off_end;

	if (!mshare_host_offsets(start, end, &off, &off_end))
		return;
	/* The host's cleared entries before the counts: see above. */
	smp_mb();
	rcu_read_lock();
	list_for_each_entry_rcu(sharer, &region->sharers, node) {
		if (!READ_ONCE(sharer->nr_linked) || off >= sharer->len)
			continue;
#ifdef CONFIG_ARCH_WANT_BATCHED_UNMAP_TLB_FLUSH
		if (batch) {
			arch_tlbbatch_add_pending(batch, sharer->mm,
						  sharer->start + off);
			continue;
		}
#endif
		mshare_flush_tlb(sharer->mm, sharer->start + off,
				 sharer->start + min(off_end, sharer->len));
	}
	rcu_read_unlock();
}

static void mshare_invalidate_secondary_tlbs(struct mmu_notifier *mn,
					     struct mm_struct *mm,
					     unsigned long start,
					     unsigned long end)
{
	mshare_flush_sharers(container_of(mn, struct mshare_region, mn),
			     start, end, NULL);
}

/* The region of a host mm, or NULL. The caller holds RCU. */
static struct mshare_region *mshare_host_region(struct mm_struct *host)
{
	struct mshare_region *region;

	hash_for_each_possible_rcu(mshare_hosts, region, host_node,
				   (unsigned long)host) {
		if (READ_ONCE(region->mm) == host)
			return region;
	}
	return NULL;
}

#ifdef CONFIG_ARCH_WANT_BATCHED_UNMAP_TLB_FLUSH
/**
 * mshare_tlbbatch_add_pending - defer the flush of a host entry to a batch
 * @batch: the current task's batch of deferred flushes
 * @host: the host mm, whose entry for @addr was just cleared
 * @addr: the host address
 *
 * Reclaim and migration clear entries one page at a time and flush once
 * per batch (try_to_unmap_flush()), for all the mms they touched. The host
 * never runs on a CPU: its sharers do. Each linked sharer is added to the
 * batch as the architecture adds an mm (its CPUs, a new TLB generation),
 * so that one IPI round at the end of the batch reaches every CPU that may
 * hold a translation through the host's tables, however many pages and
 * sharers the batch has. No IPI is sent here, and no lock is taken but
 * RCU. The host itself is not added: no CPU makes user accesses through
 * the host's own page tables. The op kworker that adopts it for the
 * ioctls touches no host address; a CPU that keeps it loaded lazily
 * afterwards may hold stale entries, which nothing uses.
 */
void mshare_tlbbatch_add_pending(struct arch_tlbflush_unmap_batch *batch,
				 struct mm_struct *host, unsigned long addr)
{
	struct mshare_region *region;

	rcu_read_lock();
	region = mshare_host_region(host);
	if (region)
		mshare_flush_sharers(region, addr, addr + PAGE_SIZE, batch);
	rcu_read_unlock();
}
#endif

/*
 * Secondary MMUs of sharers (KVM, HMM mirrors, RDMA ODP, IOMMU SVA) follow
 * the process's mm, whose notifiers hear nothing of host changes: forward
 * each host invalidation, and the young bits, to every sharer's mm over
 * the matching range.
 *
 * Each host start and each host end is forwarded as a whole invalidation,
 * a start and its end at once, to every sharer whose mm has notifiers:
 * the first drops what secondary MMUs map before the host changes its
 * entries, the second drops what they mapped meanwhile (through entries
 * the host had not cleared yet), before the host frees any page (pages go
 * after the host's end). Starts and ends so always pair up on each sharer
 * (KVM counts them), however host invalidations overlap and whenever a
 * sharer gains notifiers. The list of sharers is walked under
 * @region->sharers_sem, taken for reading only while one forward runs:
 * no lock is held from a host start to its end, which the notifier's
 * lockdep map would see taken inside itself.
 *
 * A host mm has no task, so the OOM reaper, the only caller of
 * non-blockable invalidations, never invalidates one; if one came, it is
 * forwarded if the list can be had without sleeping.
 */
static void mshare_sharer_range(struct mmu_notifier_range *r,
				const struct mmu_notifier_range *range,
				struct mshare_sharer *sharer,
				unsigned long off, unsigned long off_end)
{
	*r = *range;
	r->mm = sharer->mm;
	r->start = sharer->start + off;
	r->end = sharer->start + min(off_end, sharer->len);
}

static void mshare_forward_invalidate(struct mshare_region *region,
				      const struct mmu_notifier_range *range)
{
	struct mmu_notifier_range r;
	struct mshare_sharer *sharer;
	unsigned long off, off_end;

	if (!mshare_host_offsets(range->start, range->end, &off, &off_end))
		return;
	if (mmu_notifier_range_blockable(range))
		down_read(&region->sharers_sem);
	else if (!down_read_trylock(&region->sharers_sem))
		return;
	list_for_each_entry(sharer, &region->sharers, node) {
		if (off >= sharer->len || !mm_has_notifiers(sharer->mm))
			continue;
		mshare_sharer_range(&r, range, sharer, off, off_end);
		/* A start that fails has no end. */
		if (!__mmu_notifier_invalidate_range_start(&r))
			__mmu_notifier_invalidate_range_end(&r);
	}
	up_read(&region->sharers_sem);
}

static void mshare_pt_note_zap(struct mshare_region *region,
			       const struct mmu_notifier_range *range);

static int mshare_invalidate_range_start(struct mmu_notifier *mn,
					 const struct mmu_notifier_range *range)
{
	mshare_forward_invalidate(container_of(mn, struct mshare_region,
					       mn_fwd), range);
	return 0;
}

/* The zap is done at the end: the tables it emptied may be freed now. */
static void mshare_invalidate_range_end(struct mmu_notifier *mn,
					const struct mmu_notifier_range *range)
{
	struct mshare_region *region =
		container_of(mn, struct mshare_region, mn_fwd);

	mshare_forward_invalidate(region, range);
	mshare_pt_note_zap(region, range);
}

/*
 * The young bits: called under the host's page-table locks, so the list is
 * walked under RCU; only linked sharers can have mirrored a host page.
 * Each handler returns whether any sharer found it young.
 */
enum mshare_young { MSHARE_CLEAR_FLUSH_YOUNG, MSHARE_CLEAR_YOUNG, MSHARE_TEST_YOUNG };

static int mshare_young(struct mmu_notifier *mn, unsigned long start,
			unsigned long end, enum mshare_young op)
{
	struct mshare_region *region =
		container_of(mn, struct mshare_region, mn_fwd);
	struct mshare_sharer *sharer;
	unsigned long off, off_end, s, e;
	int young = 0;

	if (!mshare_host_offsets(start, end, &off, &off_end))
		return 0;
	rcu_read_lock();
	list_for_each_entry_rcu(sharer, &region->sharers, node) {
		if (!READ_ONCE(sharer->nr_linked) || off >= sharer->len)
			continue;
		s = sharer->start + off;
		e = sharer->start + min(off_end, sharer->len);
		switch (op) {
		case MSHARE_CLEAR_FLUSH_YOUNG:
			young |= mmu_notifier_clear_flush_young(sharer->mm, s, e);
			break;
		case MSHARE_CLEAR_YOUNG:
			young |= mmu_notifier_clear_young(sharer->mm, s, e);
			break;
		case MSHARE_TEST_YOUNG:
			young |= mmu_notifier_test_young(sharer->mm, s);
			break;
		}
	}
	rcu_read_unlock();
	return young;
}

static int mshare_clear_flush_young(struct mmu_notifier *mn,
				    struct mm_struct *mm, unsigned long start,
				    unsigned long end)
{
	return mshare_young(mn, start, end, MSHARE_CLEAR_FLUSH_YOUNG);
}

static int mshare_clear_young(struct mmu_notifier *mn, struct mm_struct *mm,
			      unsigned long start, unsigned long end)
{
	return mshare_young(mn, start, end, MSHARE_CLEAR_YOUNG);
}

static int mshare_test_young(struct mmu_notifier *mn, struct mm_struct *mm,
			     unsigned long address)
{
	return mshare_young(mn, address, address + PAGE_SIZE,
			    MSHARE_TEST_YOUNG);
}

static const struct mmu_notifier_ops mshare_mn_ops = {
	.arch_invalidate_secondary_tlbs	= mshare_invalidate_secondary_tlbs,
};

static const struct mmu_notifier_ops mshare_mn_fwd_ops = {
	.invalidate_range_start		= mshare_invalidate_range_start,
	.invalidate_range_end		= mshare_invalidate_range_end,
	.clear_flush_young		= mshare_clear_flush_young,
	.clear_young			= mshare_clear_young,
	.test_young			= mshare_test_young,
};

static struct mshare_region *vma_region(struct vm_area_struct *vma)
{
	return file_inode(vma->vm_file)->i_private;
}

/*
 * The sharer of @vma, allocated at its first fault: NULL if memory ran
 * out, or the task was killed while it waited for forwarded invalidations
 * to let the list go (it dies before it sees the fault's result). A sharer
 * is added and removed holding @region->sharers_sem for writing and
 * @region->lock.
 */
static struct mshare_sharer *mshare_sharer_get(struct vm_area_struct *vma)
{
	struct mshare_region *region = vma_region(vma);
	struct mshare_sharer *sharer, *new;

	sharer = READ_ONCE(vma->vm_private_data);
	if (sharer)
		return sharer;

	new = kzalloc(sizeof(*new), GFP_KERNEL_ACCOUNT);
	if (!new)
		return NULL;
	new->mm = vma->vm_mm;
	mmgrab(new->mm);
	new->start = vma->vm_start;
	new->len = vma->vm_end - vma->vm_start;

	/* Faults in one VMA may race here: the region lock decides. */
	if (down_write_killable(&region->sharers_sem)) {
		mmdrop(new->mm);
		kfree(new);
		return NULL;
	}
	spin_lock(&region->lock);
	sharer = vma->vm_private_data;
	if (!sharer) {
		list_add_rcu(&new->node, &region->sharers);
		WRITE_ONCE(vma->vm_private_data, new);
		sharer = new;
		new = NULL;
	}
	spin_unlock(&region->lock);
	up_write(&region->sharers_sem);
	if (new) {
		mmdrop(new->mm);
		kfree(new);
	}
	return sharer;
}

/*
 * A read-only sharer links the host table without write permission: the
 * MMU ANDs the write bit of every level, so no store through this entry
 * can succeed whatever the host's PTEs allow; GUP checks the process VMA,
 * and GUP-fast checks the entry (gup_fast_pud_range()). On x86 only _PAGE_RW
 * is cleared: pud_wrprotect() would also move the dirty bit, and a table
 * entry with other bits changed is pud_bad().
 */
static pud_t mshare_pud_mkreadonly(pud_t pud)
{
	return __pud(pud_val(pud) & ~_PAGE_RW);
}

/*
 * Link the process's PUD entry @pud, for the slot of host address @haddr,
 * to the host's PMD table. Called with the host VMA there locked; the PMD
 * table outlives it anyway (rule 1 at the top of this file).
 *
 * Return: 1 if it linked, 0 if it was linked already, -EAGAIN if the host
 * has no table there yet, -EFAULT if the process entry is something else.
 */
static int mshare_link(struct vm_area_struct *vma, struct mshare_sharer *sharer,
		       pud_t *pud, unsigned long haddr)
{
	struct mshare_region *region = vma_region(vma);
	pud_t *hpud = mshare_host_pud(region->mm, haddr);
	pud_t entry, cur;
	spinlock_t *ptl;	/* the process's PUD table lock */
	int ret = 0;

	if (!hpud)
		return -EAGAIN;
	entry = pudp_get(hpud);
	if (!pud_present(entry))
		return -EAGAIN;
	/* 1 GiB hugetlb is refused at CREATE_MAPPING: a table, or a bug. */
	if (WARN_ON_ONCE(pud_leaf(entry)))
		return -EFAULT;
	if (!(vma->vm_flags & VM_WRITE))
		entry = mshare_pud_mkreadonly(entry);

	ptl = pud_lock(vma->vm_mm, pud);
	cur = pudp_get(pud);
	if (pud_none(cur)) {
		spin_lock(&region->lock);
		region->nr_links++;
		/*
		 * Counted before it is made: another thread may walk through
		 * the link as soon as it is set, and a host flush that reads
		 * the count must then see it (mshare_flush_sharers()).
		 */
		WRITE_ONCE(sharer->nr_linked, sharer->nr_linked + 1);
		/*
		 * The count before the link, against the host's store and
		 * read in mshare_flush_sharers() and another CPU's walk
		 * through the link: a full barrier, as that needs one off x86.
		 */
		smp_mb();
		set_pud(pud, entry);
		spin_unlock(&region->lock);
		ret = 1;
	} else if (WARN_ON_ONCE(pud_pfn(cur) != pud_pfn(entry))) {
		/* Links are cleared before the host frees a table. */
		ret = -EFAULT;
	}
	spin_unlock(ptl);
	if (ret > 0)
		count_vm_event(MSHARE_LINK);
	return ret;
}

/*
 * Give up the lock a fault holds on the process side, as the core does
 * before it returns VM_FAULT_RETRY or VM_FAULT_COMPLETED.
 */
static void mshare_release_fault_lock(struct vm_area_struct *vma,
				      unsigned int flags)
{
	if (flags & FAULT_FLAG_VMA_LOCK)
		vma_end_read(vma);
	else
		mmap_read_unlock(vma->vm_mm);
}

/* What of a process fault the host fault keeps. */
#define MSHARE_HOST_FAULT_FLAGS	(FAULT_FLAG_WRITE | FAULT_FLAG_ALLOW_RETRY | \
				 FAULT_FLAG_RETRY_NOWAIT | FAULT_FLAG_KILLABLE | \
				 FAULT_FLAG_TRIED | FAULT_FLAG_INTERRUPTIBLE | \
				 FAULT_FLAG_VMA_LOCK)

/**
 * mshare_fault - resolve a fault in a process's mapping of a region
 * @vma: the process's region VMA
 * @address: the faulting address
 * @flags: FAULT_FLAG_*
 *
 * Called by handle_mm_fault() in place of __handle_mm_fault(), with the
 * process's mmap_lock or the VMA's lock held. The host VMA at the same
 * offset decides what the access may do and does the work; then the
 * process's PUD entry is linked to the host's PMD table. If the host
 * already has a table there, the process only links it and lets the access
 * retry: a page the host maps then costs the process no further fault.
 *
 * The host VMA is locked as the process's is: under a VMA lock, with its
 * own VMA lock (both are trylocks, so lockdep sees no nesting of one
 * class), under the mmap_lock with the host's mmap_lock, killably. The
 * host's mmap_lock is never taken under a VMA lock, since the host takes
 * VMA locks under it: a fault that needs it is retried under the
 * process's mmap_lock. A host fault that drops its lock to wait for I/O
 * (FAULT_FLAG_ALLOW_RETRY) has the process's lock dropped too, so that a
 * blocked file system holds nobody's lock.
 *
 * Memory the host fault allocates (pages, the host's page tables) is
 * charged to the memcg of the process whose fault it is, as it would be
 * for a MAP_SHARED mapping of the object in that process.
 *
 * Return: 0, VM_FAULT_RETRY or VM_FAULT_COMPLETED with the process's lock
 * released, VM_FAULT_SIGSEGV for a hole or a refused access,
 * VM_FAULT_SIGBUS/OOM/... as the host fault returned.
 */
vm_fault_t mshare_fault(struct vm_area_struct *vma, unsigned long address,
			unsigned int flags)
{
	struct mshare_region *region = vma_region(vma);
	struct mm_struct *host = region->mm;
	unsigned long off = (address & PAGE_MASK) - vma->vm_start;
	unsigned long haddr = MSHARE_HOST_BASE + off;
	unsigned int hflags = (flags & MSHARE_HOST_FAULT_FLAGS) |
			      FAULT_FLAG_REMOTE;
	struct mem_cgroup *memcg, *old_memcg;
	struct mshare_sharer *sharer;
	struct vm_area_struct *hvma;
	vm_fault_t ret = 0;
	pgd_t *pgd;
	p4d_t *p4d;
	pud_t *pud;
	int linked;

	if (off >= MSHARE_HOST_LIMIT || !(vma->vm_flags & VM_READ))
		return VM_FAULT_SIGSEGV;

	sharer = mshare_sharer_get(vma);
	if (!sharer)
		return VM_FAULT_OOM;
	pgd = pgd_offset(vma->vm_mm, address);
	p4d = p4d_alloc(vma->vm_mm, pgd, address);
	if (!p4d)
		return VM_FAULT_OOM;
	pud = pud_alloc(vma->vm_mm, p4d, address);
	if (!pud)
		return VM_FAULT_OOM;

	if (flags & FAULT_FLAG_VMA_LOCK) {
		/* No host VMA there, or one being changed: ask the mmap_lock. */
		hvma = lock_vma_under_rcu(host, haddr);
		if (!hvma) {
			vma_end_read(vma);
			return VM_FAULT_RETRY;
		}
	} else {
		if (flags & FAULT_FLAG_RETRY_NOWAIT) {
			/* Must not wait: the process's lock stays held. */
			if (!mmap_read_trylock(host))
				return VM_FAULT_RETRY;
		} else if (mmap_read_lock_killable(host)) {
			/* Killed: the task never sees the result. */
			if (!(flags & FAULT_FLAG_ALLOW_RETRY))
				return VM_FAULT_SIGBUS;
			mmap_read_unlock(vma->vm_mm);
			return VM_FAULT_RETRY;
		}
		hvma = vma_lookup(host, haddr);
		if (!hvma) {
			/* A hole: as an address with no mapping. */
			ret = VM_FAULT_SIGSEGV;
			goto out;
		}
	}
	if (((flags & FAULT_FLAG_WRITE) && !(hvma->vm_flags & VM_WRITE)) ||
	    ((flags & FAULT_FLAG_INSTRUCTION) && !(hvma->vm_flags & VM_EXEC))) {
		ret = VM_FAULT_SIGSEGV;
		goto out;
	}

	if (pud_none(pudp_get(pud))) {
		linked = mshare_link(vma, sharer, pud, haddr);
		if (linked < 0 && linked != -EAGAIN) {
			ret = VM_FAULT_SIGBUS;
			goto out;
		}
		if (linked > 0)
			goto out;
	}

	/*
	 * The host fault is a remote one, without FAULT_FLAG_USER (the memcg
	 * OOM state of this fault is already entered). It is part of this
	 * fault: it is not counted on its own (mm_account_fault()).
	 *
	 * What it allocates for the host is charged to current's memcg
	 * (get_mem_cgroup_from_mm() on a host mm), which is the process's
	 * own in the usual case. A fault on another process's behalf (GUP
	 * through /proc/PID/mem, process_vm_writev()) charges that process:
	 * pages as for its MAP_SHARED mapping of the object, and the host's
	 * page tables too (which a mapping of its own would charge to the
	 * task that faults).
	 */
	if (unlikely(vma->vm_mm != current->mm)) {
		memcg = get_mem_cgroup_from_mm(vma->vm_mm);
		old_memcg = set_active_memcg(memcg);
		ret = handle_mm_fault(hvma, haddr, hflags, NULL);
		set_active_memcg(old_memcg);
		mem_cgroup_put(memcg);
	} else {
		ret = handle_mm_fault(hvma, haddr, hflags, NULL);
	}
	if (ret & (VM_FAULT_RETRY | VM_FAULT_COMPLETED)) {
		/*
		 * The host fault dropped the host's lock, unless told not to
		 * (NOWAIT, which never comes with a VMA lock).
		 */
		if (flags & FAULT_FLAG_RETRY_NOWAIT) {
			mmap_read_unlock(host);
			return ret;
		}
		mshare_release_fault_lock(vma, flags);
		return ret;
	}
	if (ret & VM_FAULT_ERROR)
		goto out;

	/* Linked already (the usual case): no need for the PUD lock. */
	if (pud_none(pudp_get(pud)) &&
	    mshare_link(vma, sharer, pud, haddr) < 0)
		ret = VM_FAULT_SIGBUS;
out:
	if (flags & FAULT_FLAG_VMA_LOCK)
		vma_end_read(hvma);
	else
		mmap_read_unlock(host);
	return ret;
}

/**
 * mshare_unmap_vma - unlink a process's region VMA from the host's tables
 * @tlb: the caller's mmu_gather for the process's mm
 * @vma: the process's region VMA
 * @start: start of the range being zapped
 * @end: end of the range being zapped
 *
 * Called by unmap_single_vma() in place of unmap_page_range(): munmap
 * (once the VMA has left the tree), exit and exec zap the process's view
 * of the region by clearing its PUD entries, whole slots at a time, and
 * flushing its TLB at once, before free_pgtables() could see them. Nothing
 * else may: walkers in the VMA read a PUD entry twice (rule 3 at the top
 * of this file). Pages are the host's and are neither unmapped nor freed
 * here.
 */
void mshare_unmap_vma(struct mmu_gather *tlb, struct vm_area_struct *vma,
		      unsigned long start, unsigned long end)
{
	struct mshare_region *region = vma_region(vma);
	struct mshare_sharer *sharer = READ_ONCE(vma->vm_private_data);
	struct mm_struct *mm = vma->vm_mm;
	unsigned long addr, unlinked = 0;
	spinlock_t *ptl;	/* the process's PUD table lock */
	pgd_t *pgd;
	p4d_t *p4d;
	pud_t *pud;

	if (!sharer)
		return;		/* never faulted: nothing linked */

	start = max(ALIGN_DOWN(start, PUD_SIZE), vma->vm_start);
	end = min(ALIGN(end, PUD_SIZE), vma->vm_end);
	for (addr = start; addr < end; addr += PUD_SIZE) {
		pgd = pgd_offset(mm, addr);
		if (pgd_none(pgdp_get(pgd)))
			continue;
		p4d = p4d_offset(pgd, addr);
		if (p4d_none(p4dp_get(p4d)))
			continue;
		pud = pud_offset(p4d, addr);
		ptl = pud_lock(mm, pud);
		if (pud_present(pudp_get(pud))) {
			pud_clear(pud);
			spin_lock(&region->lock);
			if (!WARN_ON_ONCE(!region->nr_links))
				region->nr_links--;
			spin_unlock(&region->lock);
			unlinked++;
		}
		spin_unlock(ptl);
	}
	if (!unlinked)
		return;
	count_vm_events(MSHARE_UNLINK, unlinked);
	/*
	 * Other threads may still translate through the old links until this
	 * flush: until then the sharer stays linked for the notifier, which
	 * forwards host flushes to it (rule 4).
	 */
	mshare_flush_tlb(mm, start, end);
	spin_lock(&region->lock);
	WRITE_ONCE(sharer->nr_linked, sharer->nr_linked - unlinked);
	spin_unlock(&region->lock);
}

#ifdef CONFIG_ADVISE_SYSCALLS
/**
 * mshare_madvise - madvise() on a process's region VMA
 * @vma: the process's region VMA
 * @prev: set to NULL: the process's mmap_lock is dropped and taken again
 * @start: start of the range, inside @vma
 * @end: end of the range, inside @vma
 * @behavior: MADV_*
 *
 * Advice about the memory is forwarded to the same range of the host mm,
 * which owns the memory: MADV_DONTNEED, MADV_PAGEOUT, MADV_COLD,
 * MADV_WILLNEED and MADV_REMOVE. It acts for every sharer, so MADV_REMOVE
 * needs a writable mapping, and MADV_DONTNEED, MADV_PAGEOUT and MADV_COLD
 * a caller who could write the region file. (MADV_POPULATE_* never gets here: it
 * faults the range in through the process's VMA.) Advice about the process's
 * VMA itself has no meaning for a VMA whose tables are shared.
 *
 * Return: what madvise() on the host range returned, -EACCES for advice
 * the caller may not give, or -EINVAL.
 */
int mshare_madvise(struct vm_area_struct *vma, struct vm_area_struct **prev,
		   unsigned long start, unsigned long end, int behavior)
{
	struct mshare_region *region = vma_region(vma);
	struct mm_struct *mm = vma->vm_mm;
	unsigned long off = start - vma->vm_start;
	struct file *file;
	int ret;

	switch (behavior) {
	case MADV_WILLNEED:
		break;
	case MADV_REMOVE:
		/* It destroys data: only through a writable mapping. */
		if ((vma->vm_flags & (VM_SHARED | VM_WRITE)) !=
		    (VM_SHARED | VM_WRITE))
			return -EACCES;
		break;
	case MADV_DONTNEED:
	case MADV_PAGEOUT:
	case MADV_COLD:
		/*
		 * They cost every sharer (refaults, swap-ins): only for a
		 * caller who could write the region, as can_do_file_pageout()
		 * asks of page cache.
		 */
		if (!(vma->vm_flags & VM_MAYWRITE) &&
		    !file_owner_or_capable(vma->vm_file) &&
		    file_permission(vma->vm_file, MAY_WRITE))
			return -EACCES;
		break;
	default:
		return -EINVAL;
	}
	if (off >= MSHARE_HOST_LIMIT)
		return -ENOMEM;
	end = min(end - vma->vm_start, MSHARE_HOST_LIMIT);

	/*
	 * These advices run under a read lock of the process's mmap_lock.
	 * Drop it, as madvise_remove() does (*prev = NULL says so): the host's
	 * MADV_REMOVE and MADV_WILLNEED call into the file system, which must
	 * not nest in an mmap_lock. The file keeps the region alive.
	 */
	file = get_file(vma->vm_file);
	*prev = NULL;
	mmap_read_unlock(mm);
	ret = do_madvise(region->mm, MSHARE_HOST_BASE + off, end - off,
			 behavior);
	fput(file);
	mmap_read_lock(mm);
	return ret;
}
#endif

/*
 * Page-table reclaim of host mms (mm/pt_reclaim.c does the work).
 *
 * A host's tables are emptied by zaps that no process sees: a sharer's
 * MADV_DONTNEED or MADV_REMOVE (forwarded to the host, where the zap
 * frees them at once, as in any mm), the truncation or hole punch of an
 * object mapped in the region, and page reclaim of the region's memory.
 * The host's notifier hears of each, at the end of the zap. It counts the
 * tables a zap touched, for the shrinker, and queues @pt_work for the
 * tables a truncation or hole punch spans whole, which frees them as soon
 * as it can take the host's mmap_lock. Tables are freed under the rules
 * of mm/pt_reclaim.c, which are rule 2 at the top of this file; the TLB
 * flush of a host reaches every linked sharer through the notifier.
 */

/*
 * Add @nr (which may be negative) to what the shrinker may find in
 * @region's host, keeping it between 0 and the host's page tables, and to
 * the sum the shrinker counts.
 */
static void mshare_pt_pending_add(struct mshare_region *region, long nr)
{
	long cap = mm_pgtables_bytes(region->mm) >> PAGE_SHIFT;
	long old = atomic_long_read(&region->pt_pending), new;

	do {
		new = old + nr;
		if (nr > 0 && new > cap)
			new = max(old, cap);
		if (new < 0)
			new = 0;
	} while (!atomic_long_try_cmpxchg(&region->pt_pending, &old, new));
	atomic_long_add(new - old, &mshare_pt_pending);
}

/**
 * mshare_pt_reclaimed - count host tables freed by page-table reclaim
 * @host: the host mm
 * @nr: how many tables were freed
 */
void mshare_pt_reclaimed(struct mm_struct *host, unsigned long nr)
{
	struct mshare_region *region;

	rcu_read_lock();
	region = mshare_host_region(host);
	if (region) {
		atomic_long_add(nr, &region->pt_freed);
		mshare_pt_pending_add(region, -(long)nr);
	}
	rcu_read_unlock();
}

/*
 * Add [@start, @end) to the ranges @pt_work is to free: merged with one it
 * meets or touches, or in a free slot. With every slot taken it is left to
 * the shrinker, which counted it as pending: merging far-apart ranges
 * would make the work go through everything between them, at no cost to
 * whoever punched the holes. Under @region->lock.
 *
 * Return: true if the work has it.
 */
static bool mshare_pt_add_range(struct mshare_region *region,
				unsigned long start, unsigned long end)
{
	struct mshare_pt_range *r, *free = NULL;
	int i;

	for (i = 0; i < MSHARE_PT_RANGES; i++) {
		r = &region->pt_ranges[i];
		if (r->start >= r->end) {
			if (!free)
				free = r;
		} else if (start <= r->end && end >= r->start) {
			r->start = min(r->start, start);
			r->end = max(r->end, end);
			return true;
		}
	}
	if (!free)
		return false;
	free->start = start;
	free->end = end;
	return true;
}

/*
 * The end of a host invalidation, once the zap cleared its entries: count
 * the tables it touched (at most as many as the host has, so that the
 * shrinker's estimate stays honest), and queue the freeing of those it
 * spans whole (queued at the start, the work could run before the zap and
 * find them full). Any context: the notifier runs under i_mmap locks and
 * from reclaim.
 */
static void mshare_pt_note_zap(struct mshare_region *region,
			       const struct mmu_notifier_range *range)
{
	unsigned long start, end;
	bool queued;

	/* Zaps are CLEAR; an UNMAP is MSHAREFS_UNMAP, which frees its own. */
	if (range->event != MMU_NOTIFY_CLEAR)
		return;
	start = max(range->start, MSHARE_HOST_BASE);
	end = min(range->end, MSHARE_HOST_END);
	if (start >= end)
		return;
	mshare_pt_pending_add(region, (ALIGN(end, PMD_SIZE) -
				       ALIGN_DOWN(start, PMD_SIZE)) >> PMD_SHIFT);

	start = ALIGN(start, PMD_SIZE);
	end = ALIGN_DOWN(end, PMD_SIZE);
	if (start >= end || !pt_reclaim_zap_enabled())
		return;
	spin_lock(&region->lock);
	queued = mshare_pt_add_range(region, start, end);
	spin_unlock(&region->lock);
	/* Not on mshare_wq: the ops of every region must not wait behind it. */
	if (queued)
		queue_work(system_unbound_wq, &region->pt_work);
}

/*
 * Free the tables that zaps spanned whole. A MADV_DONTNEED of the host
 * freed its own already: for those, this finds empty PMD entries.
 */
static void mshare_pt_work(struct work_struct *work)
{
	struct mshare_region *region =
		container_of(work, struct mshare_region, pt_work);
	struct mshare_pt_range ranges[MSHARE_PT_RANGES];
	struct mm_struct *mm = region->mm;
	int i;

	spin_lock(&region->lock);
	memcpy(ranges, region->pt_ranges, sizeof(ranges));
	memset(region->pt_ranges, 0, sizeof(region->pt_ranges));
	spin_unlock(&region->lock);
	mmap_read_lock(mm);
	for (i = 0; i < MSHARE_PT_RANGES; i++) {
		if (ranges[i].start < ranges[i].end)
			pt_reclaim_range(mm, ranges[i].start, ranges[i].end,
					 PT_RECLAIM_TRIGGER_ZAP);
	}
	mmap_read_unlock(mm);
}

/**
 * mshare_pt_reclaim - MADV_PT_RECLAIM on a process's region VMA
 * @vma: the process's region VMA
 * @start: start of the range, inside @vma
 * @end: end of the range, inside @vma
 *
 * Frees the reclaimable tables of the same range of the host mm, for every
 * sharer. Any process that maps the region may: an empty table holds no
 * data, and the next fault through any sharer allocates it again. The
 * host's mmap_lock nests in the process's, as for a fault.
 *
 * Return: 0, or -EINTR if a fatal signal came while waiting for the host.
 */
int mshare_pt_reclaim(struct vm_area_struct *vma, unsigned long start,
		      unsigned long end)
{
	struct mshare_region *region = vma_region(vma);
	unsigned long off = start - vma->vm_start;
	struct mm_struct *host;

	/* Pairs with smp_store_release() in mshare_host_mm(). */
	host = smp_load_acquire(&region->mm);
	if (!host || off >= MSHARE_HOST_LIMIT)
		return 0;
	end = min(end - vma->vm_start, MSHARE_HOST_LIMIT);
	if (mmap_read_lock_killable(host))
		return -EINTR;
	pt_reclaim_range(host, MSHARE_HOST_BASE + off, MSHARE_HOST_BASE + end,
			 PT_RECLAIM_TRIGGER_MADVISE);
	mmap_read_unlock(host);
	return 0;
}

/*
 * The shrinker: host tables that zaps touched since it last went through
 * their host. Page reclaim of a region's memory empties host tables that
 * no process will zap (a shmem page written out leaves a none entry): this
 * is what frees them. It is not memcg-aware: a host's tables are charged
 * to many cgroups.
 */
static unsigned long mshare_pt_count(struct shrinker *shrinker,
				     struct shrink_control *sc)
{
	long nr = atomic_long_read(&mshare_pt_pending);

	return nr > 0 ? nr : SHRINK_EMPTY;
}

/*
 * Go through the hosts in turn, from where the last call stopped, for at
 * most sc->nr_to_scan units of work (see pt_reclaim_scan()). A host whose
 * mmap_lock is taken, or a list another call is going through, is left
 * for later: reclaim must not wait on a host.
 */
static unsigned long mshare_pt_scan(struct shrinker *shrinker,
				    struct shrink_control *sc)
{
	unsigned long budget = sc->nr_to_scan, freed = 0, visited = 0, before;
	struct mshare_region *region;

	if (!mutex_trylock(&mshare_pt_mutex))
		return SHRINK_STOP;
	while (budget && visited++ < mshare_pt_nr_regions) {
		region = list_first_entry(&mshare_pt_regions,
					  struct mshare_region, pt_node);
		list_move_tail(&region->pt_node, &mshare_pt_regions);
		if (atomic_long_read(&region->pt_pending) <= 0)
			continue;
		if (!mmap_read_trylock(region->mm))
			continue;
		/* What is pending now is what this pass will have seen. */
		if (!region->pt_cursor)
			region->pt_pass_pending =
				atomic_long_read(&region->pt_pending);
		before = budget;
		freed += pt_reclaim_scan(region->mm, &region->pt_cursor,
					 &budget, PT_RECLAIM_TRIGGER_SHRINKER);
		mmap_read_unlock(region->mm);
		if (budget == before)
			budget--;	/* the host itself, found empty */
		/*
		 * Went through it all: take off what was pending when the pass
		 * began; zaps behind the cursor since then stay counted.
		 */
		if (!region->pt_cursor)
			mshare_pt_pending_add(region, -region->pt_pass_pending);
	}
	mutex_unlock(&mshare_pt_mutex);
	/*
	 * do_shrink_slab() goes on for as long as its count says, taking off
	 * what this says it scanned: a call that could do nothing (every host
	 * busy, or nothing pending) must stop it, or it would spin.
	 */
	if (budget == sc->nr_to_scan)
		return SHRINK_STOP;
	sc->nr_scanned = sc->nr_to_scan - budget;
	return freed;
}

/* fork() copies the VMA, not its links: the child links on first touch. */
static void mshare_vm_open(struct vm_area_struct *vma)
{
	vma->vm_private_data = NULL;
}

static void mshare_sharer_free(struct work_struct *work)
{
	struct mshare_sharer *sharer =
		container_of(to_rcu_work(work), struct mshare_sharer, free_work);

	mmdrop(sharer->mm);
	kfree(sharer);
}

static void mshare_vm_close(struct vm_area_struct *vma)
{
	struct mshare_region *region = vma_region(vma);
	struct mshare_sharer *sharer = vma->vm_private_data;

	if (!sharer)
		return;
	down_write(&region->sharers_sem);
	spin_lock(&region->lock);
	WARN_ON_ONCE(sharer->nr_linked);
	list_del_rcu(&sharer->node);
	spin_unlock(&region->lock);
	up_write(&region->sharers_sem);
	/*
	 * Flushes may still be looking at it under RCU. The mm is dropped in
	 * process context: __mmdrop() is not for softirqs.
	 */
	INIT_RCU_WORK(&sharer->free_work, mshare_sharer_free);
	queue_rcu_work(system_wq, &sharer->free_work);
}

/* The VMA is one unit: no split, no partial unmap, no mremap or mprotect. */
static int mshare_vm_may_split(struct vm_area_struct *vma, unsigned long addr)
{
	return -EINVAL;
}

static int mshare_vm_mremap(struct vm_area_struct *vma)
{
	return -EINVAL;
}

static int mshare_vm_mprotect(struct vm_area_struct *vma, unsigned long start,
			      unsigned long end, unsigned long newflags)
{
	return -EINVAL;
}

/* handle_mm_fault() sends faults to mshare_fault(); this is never reached. */
static vm_fault_t mshare_vm_fault(struct vm_fault *vmf)
{
	WARN_ON_ONCE(1);
	return VM_FAULT_SIGBUS;
}

const struct vm_operations_struct mshare_vm_ops = {
	.open		= mshare_vm_open,
	.close		= mshare_vm_close,
	.may_split	= mshare_vm_may_split,
	.mremap		= mshare_vm_mremap,
	.mprotect	= mshare_vm_mprotect,
	.fault		= mshare_vm_fault,
};

/**
 * mshare_region_fsync - msync() and fsync() of a region
 * @file: the region
 * @start: first byte, as a region offset
 * @end: last byte, inclusive
 * @datasync: only the data, as fdatasync()
 *
 * A region holds no data of its own: the files mapped in the range are
 * synced, each over the part of it that the range maps, so that msync() of
 * a process's mapping reaches the objects as it would with mmap().
 *
 * Return: 0, or the first error of a file's fsync.
 */
int mshare_region_fsync(struct file *file, loff_t start, loff_t end,
			int datasync)
{
	struct mshare_region *region = file_inode(file)->i_private;
	/* Pairs with mshare_host_mm(). */
	struct mm_struct *mm = smp_load_acquire(&region->mm);
	struct mshare_sync {
		struct file *file;
		loff_t start, end;
	} *sync;
	unsigned long hstart, hend, nr = 0, i;
	struct vm_area_struct *vma;
	struct vma_iterator vmi;
	int ret = 0, err;

	if (!mm || start < 0 || end < start || start >= MSHARE_HOST_LIMIT)
		return 0;
	hstart = MSHARE_HOST_BASE + start;
	hend = MSHARE_HOST_BASE + min_t(loff_t, end, MSHARE_HOST_LIMIT - 1) + 1;

	if (mmap_read_lock_killable(mm))
		return -EINTR;
	vma_iter_init(&vmi, mm, hstart);
	for_each_vma_range(vmi, vma, hend)
		nr += vma->vm_file && (vma->vm_flags & VM_SHARED);
	sync = kcalloc(nr, sizeof(*sync), GFP_KERNEL);
	if (nr && !sync) {
		mmap_read_unlock(mm);
		return -ENOMEM;
	}
	nr = 0;
	vma_iter_set(&vmi, hstart);
	for_each_vma_range(vmi, vma, hend) {
		unsigned long s = max(hstart, vma->vm_start);
		unsigned long e = min(hend, vma->vm_end);

		if (!vma->vm_file || !(vma->vm_flags & VM_SHARED))
			continue;
		sync[nr].file = get_file(vma->vm_file);
		sync[nr].start = ((loff_t)vma->vm_pgoff << PAGE_SHIFT) +
				 (s - vma->vm_start);
		sync[nr].end = sync[nr].start + (e - s) - 1;
		nr++;
	}
	mmap_read_unlock(mm);

	/* As msync() does: no mmap_lock across a file system's fsync. */
	for (i = 0; i < nr; i++) {
		err = vfs_fsync_range(sync[i].file, sync[i].start, sync[i].end,
				      datasync);
		if (err && !ret)
			ret = err;
		fput(sync[i].file);
	}
	kfree(sync);
	return ret;
}

/**
 * mshare_region_get_unmapped_area - place a process's mapping of a region
 * @file: the region
 * @addr: the hint, or the address for MAP_FIXED
 * @len: the length, which must be the region's size
 * @pgoff: the offset, which must be 0
 * @flags: MAP_* flags
 *
 * Return: a PUD_SIZE-aligned address, or -EINVAL for a bad length, offset
 * or MAP_FIXED address, or -ENOMEM.
 */
unsigned long mshare_region_get_unmapped_area(struct file *file,
					      unsigned long addr,
					      unsigned long len,
					      unsigned long pgoff,
					      unsigned long flags)
{
	struct mshare_region *region = file_inode(file)->i_private;
	/* Pairs with mshare_region_set_size(): a size implies the links. */
	loff_t size = smp_load_acquire(&region->size);
	unsigned long ret;

	if (!size || len != size || pgoff)
		return -EINVAL;
	if (flags & MAP_FIXED)
		return IS_ALIGNED(addr, MSHARE_ALIGN) ? addr : -EINVAL;

	if (addr && IS_ALIGNED(addr, MSHARE_ALIGN)) {
		ret = mm_get_unmapped_area(current->mm, NULL, addr, len, 0,
					   flags);
		if (ret == addr)
			return ret;
	}
	if (len > TASK_SIZE - MSHARE_ALIGN)
		return -ENOMEM;
	ret = mm_get_unmapped_area(current->mm, NULL, 0, len + MSHARE_ALIGN, 0,
				   flags);
	if (IS_ERR_VALUE(ret))
		return ret;
	return ALIGN(ret, MSHARE_ALIGN);
}

/**
 * mshare_region_mmap - a process maps a region
 * @file: the region
 * @vma: the new VMA
 *
 * A region is mapped shared, whole, at offset 0 and at a PUD_SIZE-aligned
 * address, readable and never executable. A mapping that is not writable (PROT_READ,
 * or an O_RDONLY file) links the host's tables read-only.
 *
 * Return: 0, -EINVAL for a refused mapping, -ENOMEM.
 */
int mshare_region_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct mshare_region *region = file_inode(file)->i_private;
	/* Pairs with mshare_region_set_size(): a size implies the links. */
	loff_t size = smp_load_acquire(&region->size);

	if (!size || !(vma->vm_flags & VM_MAYSHARE))
		return -EINVAL;
	if (vma->vm_pgoff || vma->vm_end - vma->vm_start != size ||
	    !IS_ALIGNED(vma->vm_start, MSHARE_ALIGN))
		return -EINVAL;
	/*
	 * Links carry no protection but write: a mapping that cannot be read
	 * (PROT_NONE, or PROT_WRITE alone) would become readable from user
	 * mode at the first access that links, FOLL_FORCE reads included.
	 */
	if ((vma->vm_flags & VM_EXEC) || !(vma->vm_flags & VM_READ))
		return -EINVAL;

	/* A mapping needs the host mm: from here on, region->mm is set. */
	if (!mshare_host_mm(region))
		return -ENOMEM;

	/*
	 * VM_DONTEXPAND: no growing by mremap, no merging. VM_DONTDUMP: the
	 * memory is the region's, and a core dump skips it. VM_NOHUGEPAGE:
	 * khugepaged has nothing to collapse here, the host's tables are not
	 * the process's.
	 */
	vm_flags_set(vma, VM_DONTEXPAND | VM_DONTDUMP | VM_NOHUGEPAGE);
	vma->vm_ops = &mshare_vm_ops;
	vma->vm_private_data = NULL;
	return 0;
}

/**
 * mshare_gup_folio_allowed - may slow GUP hand out a region page?
 * @folio: the folio of a page that GUP took from a region VMA
 * @flags: the GUP flags
 *
 * The checks GUP makes on a VMA before a long-term writable pin (no page
 * cache that needs dirty tracking) say nothing of a region VMA, whose
 * pages come from the objects its host maps: make them on the folio, as
 * GUP-fast does.
 *
 * Return: false if the pin must be refused.
 */
bool mshare_gup_folio_allowed(struct folio *folio, unsigned int flags)
{
	struct address_space *mapping;

	if ((flags & (FOLL_PIN | FOLL_LONGTERM | FOLL_WRITE)) !=
	    (FOLL_PIN | FOLL_LONGTERM | FOLL_WRITE))
		return true;
	if (folio_test_anon(folio) || folio_test_hugetlb(folio))
		return true;
	mapping = folio_mapping(folio);
	return mapping && shmem_mapping(mapping);
}

/*
 * Statistics: what /proc/PID/fdinfo/FD shows of an open region
 *
 * A host mm has no task, so no /proc/PID of its own: its figures are shown
 * in the fdinfo of every region file, which whoever may read that file's
 * fdinfo (the opener, or who may ptrace it) may see. The summary costs
 * O(host mappings + process mappings): mm counters, the host's VMA tree,
 * the region's i_mmap tree and its list of sharers. The RSS of each
 * mapping costs a walk of its page tables, as smaps does; the walk lets
 * the host's mmap_lock go every MSHARE_ALIGN bytes if a writer waits for
 * it. Faults on a region take the host's VMA locks, or its mmap_lock for
 * reading, so the show never makes one wait on its own. Figures are
 * snapshots, each taken under the lock that keeps it consistent; they are
 * not taken at one instant together.
 *
 * fdinfo is one seq_file buffer, which grows until the show fits: its size
 * is O(host mappings), a few dozen bytes a line and the escaped path, and
 * it is charged to the reader. A host has at most max_map_count mappings.
 */

static int mshare_rss_pmd_entry(pmd_t *pmd, unsigned long addr,
				unsigned long end, struct mm_walk *walk)
{
	unsigned long *rss = walk->private;
	pmd_t pmdval = pmdp_get_lockless(pmd);
	pte_t *start, *pte;

	if (pmd_leaf(pmdval)) {
		if (pmd_present(pmdval))
			*rss += end - addr;
		return 0;
	}
	/* Counted without the PTE lock: a table may only go under RCU. */
	start = pte_offset_map(pmd, addr);
	if (!start)
		return 0;
	for (pte = start; addr < end; addr += PAGE_SIZE, pte++) {
		if (pte_present(ptep_get(pte)))
			*rss += PAGE_SIZE;
	}
	pte_unmap(start);
	return 0;
}

static int mshare_rss_hugetlb_entry(pte_t *pte, unsigned long hmask,
				    unsigned long addr, unsigned long end,
				    struct mm_walk *walk)
{
	unsigned long *rss = walk->private;

	if (pte_present(huge_ptep_get(walk->mm, addr, pte)))
		*rss += end - addr;
	return 0;
}

static const struct mm_walk_ops mshare_rss_ops = {
	.pmd_entry	= mshare_rss_pmd_entry,
	.hugetlb_entry	= mshare_rss_hugetlb_entry,
	.walk_lock	= PGWALK_RDLOCK,
};

/*
 * What a host mapping maps. Anonymous memory in a region is shared
 * anonymous memory: the kernel-internal (S_PRIVATE) shmem file that
 * shmem_zero_setup() made, which memfds, unlinked tmpfs files (also with
 * shmem_anon_vm_ops) and tmpfs files are not. Anonymous hugetlb is the
 * file that MSHAREFS_CREATE_MAPPING set up with hugetlb_file_setup(), on
 * an internal mount and named HUGETLB_ANON_FILE, which no hugetlb memfd
 * ("memfd:...") or file on a hugetlbfs mount can be.
 */
static const char *mshare_map_type(struct vm_area_struct *vma)
{
	struct file *file = vma->vm_file;

	if (is_vm_hugetlb_page(vma)) {
		if ((file->f_path.mnt->mnt_flags & MNT_INTERNAL) &&
		    !strcmp(file_dentry(file)->d_name.name, HUGETLB_ANON_FILE))
			return "anon_hugetlb";
		return "file_hugetlb";
	}
	if (shmem_file(file) && IS_PRIVATE(file_inode(file)))
		return "anon";
	return "file";
}

/*
 * One map: line, for the host mapping at or after @addr; returns where the
 * next line starts, or 0 when there are no more mappings or the reader was
 * killed. The line's fields are those of the VMA when the line began; its
 * RSS walk lets the host's mmap_lock go every MSHARE_ALIGN bytes if a
 * writer waits for it, and if the mapping changed meanwhile the line ends
 * there, and the next one goes on from there: lines never overlap, and no
 * range is left out. The path is copied into @buf under the lock, so that
 * no reference to the object outlives it: MSHAREFS_UNMAP's fput() must stay
 * the last one (see mshare_op_munmap()).
 */
static unsigned long mshare_show_map(struct seq_file *m, struct mm_struct *host,
				     unsigned long addr, char *buf, bool paths)
{
	unsigned long limit = MSHARE_HOST_BASE + MSHARE_HOST_LIMIT;
	unsigned long vstart, start, end, next, offset, psize, rss = 0;
	struct vm_area_struct *vma;
	const char *type, *path;
	unsigned long pgoff, flags;
	struct file *file;

	if (mmap_read_lock_killable(host))
		return 0;
	/* Every host mapping has a file: shmem for anonymous memory. */
	do {
		vma = find_vma_intersection(host, addr, limit);
		if (vma && !vma->vm_file)
			addr = vma->vm_end;
	} while (vma && !vma->vm_file);
	if (!vma) {
		mmap_read_unlock(host);
		return 0;
	}
	vstart = vma->vm_start;
	start = max(addr, vstart);
	end = vma->vm_end;
	file = vma->vm_file;
	pgoff = vma->vm_pgoff;
	flags = vma->vm_flags;
	type = mshare_map_type(vma);
	psize = vma_kernel_pagesize(vma);
	offset = (vma->vm_pgoff << PAGE_SHIFT) + (start - vstart);
	path = "-";
	if (paths) {
		path = d_path(&file->f_path, buf, PATH_MAX);
		if (IS_ERR(path))
			path = "?";
	}

	for (addr = start; addr < end; addr = next) {
		next = min(ALIGN(addr + 1, MSHARE_ALIGN), end);
		walk_page_range(host, addr, next, &mshare_rss_ops, &rss);
		if (next >= end ||
		    (!mmap_lock_is_contended(host) && !need_resched()))
			continue;
		mmap_read_unlock(host);
		cond_resched();
		if (mmap_read_lock_killable(host))
			return 0;
		/*
		 * The file is only compared, never followed. A mapping made
		 * again over the same range of the same file may differ in
		 * its offset or protection: that is a change too.
		 */
		vma = vma_lookup(host, next);
		if (!vma || vma->vm_start != vstart || vma->vm_end != end ||
		    vma->vm_file != file || vma->vm_pgoff != pgoff ||
		    vma->vm_flags != flags) {
			end = next;
			break;
		}
	}
	mmap_read_unlock(host);

	seq_printf(m, "map:\t%lu %lu %s %s %lu %lu %lu ",
		   start - MSHARE_HOST_BASE, end - start,
		   flags & VM_WRITE ? "rw-" : "r--", type, psize, offset, rss);
	seq_escape(m, path, " \t\n\\");
	seq_putc(m, '\n');
	return end;
}

/*
 * One line per host mapping: see Documentation/filesystems/msharefs.rst.
 * The objects' paths are shown to who opened the region for writing, who
 * may change what it maps; others, who may only use what it maps, see "-"
 * (paths are what /proc/PID/maps shows only to who may ptrace).
 */
static void mshare_show_maps(struct seq_file *m, struct file *file,
			     struct mm_struct *host)
{
	unsigned long addr = MSHARE_HOST_BASE;
	bool paths = file->f_mode & FMODE_WRITE;
	char *buf = NULL;

	if (paths) {
		buf = kmalloc(PATH_MAX, GFP_KERNEL);
		if (!buf)
			return;
	}
	while (addr && !seq_has_overflowed(m) && !fatal_signal_pending(current))
		addr = mshare_show_map(m, host, addr, buf, paths);
	kfree(buf);
}

/**
 * mshare_region_show_fdinfo - show a region's figures in its fdinfo
 * @m: the seq_file of /proc/PID/fdinfo/FD
 * @file: the open region
 *
 * Shows the region's size, its host mappings and what they hold, the
 * host's page tables, the process mappings attached and the PUD entries
 * that link host tables, page-table reclaim counts, and one line per host
 * mapping. The format is documented in
 * Documentation/filesystems/msharefs.rst. Stops early, with what it has
 * shown, if the reader is killed.
 */
void mshare_region_show_fdinfo(struct seq_file *m, struct file *file)
{
	struct mshare_region *region = mshare_file_region(file);
	struct address_space *mapping = file->f_mapping;
	unsigned long nr_maps = 0, mapped = 0, hugetlb = 0;
	unsigned long attached = 0, linked = 0;
	unsigned long rss[NR_MM_COUNTERS] = { };
	struct mshare_sharer *sharer;
	struct vm_area_struct *vma;
	struct mm_struct *host;
	int i;

	i_mmap_lock_read(mapping);
	vma_interval_tree_foreach(vma, &mapping->i_mmap, 0, ULONG_MAX)
		attached++;
	i_mmap_unlock_read(mapping);

	rcu_read_lock();
	list_for_each_entry_rcu(sharer, &region->sharers, node)
		linked++;
	rcu_read_unlock();

	/* Pairs with smp_store_release() in mshare_host_mm(). */
	host = smp_load_acquire(&region->mm);
	if (host) {
		VMA_ITERATOR(vmi, host, MSHARE_HOST_BASE);

		if (mmap_read_lock_killable(host))
			return;
		for_each_vma_range(vmi, vma, MSHARE_HOST_BASE +
				   MSHARE_HOST_LIMIT) {
			nr_maps++;
			mapped += vma->vm_end - vma->vm_start;
		}
		mmap_read_unlock(host);
		/* Summed, not read: per-CPU deltas can be large next to a page. */
		for (i = 0; i < NR_MM_COUNTERS; i++)
			rss[i] = get_mm_counter_sum(host, i) << PAGE_SHIFT;
#ifdef CONFIG_HUGETLB_PAGE
		hugetlb = atomic_long_read(&host->hugetlb_usage) << PAGE_SHIFT;
#endif
	}

	seq_printf(m, "size:\t%lld\n", (long long)READ_ONCE(region->size));
	seq_printf(m, "mappings:\t%lu\n", nr_maps);
	seq_printf(m, "mapped:\t%lu\n", mapped);
	seq_printf(m, "rss_anon:\t%lu\n", rss[MM_ANONPAGES]);
	seq_printf(m, "rss_file:\t%lu\n", rss[MM_FILEPAGES]);
	seq_printf(m, "rss_shmem:\t%lu\n", rss[MM_SHMEMPAGES]);
	seq_printf(m, "rss_hugetlb:\t%lu\n", hugetlb);
	seq_printf(m, "pagetables:\t%lu\n", host ? mm_pgtables_bytes(host) : 0);
	seq_printf(m, "attached:\t%lu\n", attached);
	seq_printf(m, "linked:\t%lu\n", linked);
	seq_printf(m, "pud_links:\t%lu\n", READ_ONCE(region->nr_links));
	seq_printf(m, "pt_freed:\t%ld\n", atomic_long_read(&region->pt_freed));
	seq_printf(m, "pt_pending:\t%ld\n",
		   atomic_long_read(&region->pt_pending));
	if (host)
		mshare_show_maps(m, file, host);
}

static int __init mshare_pt_shrinker_init(void)
{
	struct shrinker *shrinker;

	shrinker = shrinker_alloc(0, "mshare-pt");
	if (!shrinker)
		return -ENOMEM;
	shrinker->count_objects = mshare_pt_count;
	shrinker->scan_objects = mshare_pt_scan;
	shrinker_register(shrinker);
	return 0;
}

static int __init mshare_init(void)
{
	/* Unbound: an op may wait long for the host's mmap_lock. */
	mshare_wq = alloc_workqueue("mshare", WQ_UNBOUND, WQ_UNBOUND_MAX_ACTIVE);
	if (!mshare_wq)
		return -ENOMEM;
	return mshare_pt_shrinker_init();
}
subsys_initcall(mshare_init);
