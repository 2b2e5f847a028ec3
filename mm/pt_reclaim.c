// SPDX-License-Identifier: GPL-2.0-only
/*
 * Page-table reclaim: free PTE tables that map nothing, or only the shared
 * zeropage.
 *
 * Linux frees page tables when the address range they span is unmapped,
 * never when their entries are zapped (MADV_DONTNEED, MADV_REMOVE,
 * truncation) or were only ever read (the shared zeropage). A process that
 * frees memory with MADV_DONTNEED keeps every PTE table it ever used. This
 * file frees them: right after a zap of a range that covers whole tables,
 * when asked with MADV_PT_RECLAIM, and, for the host mms of msharefs
 * regions, from a shrinker (mm/mshare.c).
 *
 * The rules, which Documentation/mm/pt_reclaim.rst explains at length:
 *
 * 1. A table is freed only if every VMA its span meets allows it (no
 *    hugetlb, no PFN or I/O mappings, no userfaultfd, no msharefs region,
 *    whose tables are the host's), and at least one VMA meets it: the
 *    tables of a span that none meets, and the tables above them, may be
 *    being freed by an unmap's free_pgtables(), which takes no table lock
 *    and may run with the mmap_lock downgraded to reading. So only what
 *    VMAs span is walked. The caller holds the mmap_lock, for reading at
 *    least.
 * 2. It is detached under the PMD lock and its PTE lock, after checking
 *    under both that every entry is none, or maps the zeropage in a private
 *    anonymous VMA without mlock (those entries are cleared
 *    first, as a zap would, and flushed before the PMD lock is dropped: a
 *    fault that refills the span must not race a stale translation).
 * 3. The TLB is flushed with freed_tables set (paging-structure caches, the
 *    CPUs of a lazy mm, and secondary TLBs through the mmu notifiers, which
 *    for a region's host mm reach every sharer) before the table is freed,
 *    and it is freed after an RCU grace period (pte_free_defer()):
 *    pte_offset_map*() users hold RCU and GUP-fast runs with interrupts
 *    off. They all check the PMD entry again under the PTE lock, or act
 *    only on an entry that still holds the non-none value they read, which
 *    a freed table never has. (khugepaged's collapse_pte_mapped_thp() and
 *    UFFDIO_MOVE did not: patches/0006 makes them.)
 *
 * Copyright (C) 2026 The msharefs developers
 */

#include <linux/ksm.h>
#include <linux/mm.h>
#include <linux/mmu_notifier.h>
#include <linux/mshare.h>
#include <linux/page_table_check.h>
#include <linux/pgtable.h>
#include <linux/pt_reclaim.h>
#include <linux/sched/signal.h>
#include <linux/sysctl.h>
#include <linux/userfaultfd_k.h>
#include <linux/vmstat.h>
#include <asm/tlbflush.h>

/* vm.pt_reclaim_zap: free the tables a zap empties (1, the default). */
static int sysctl_pt_reclaim_zap __read_mostly = 1;

/**
 * pt_reclaim_zap_enabled - whether zaps free the tables they empty
 *
 * Return: the value of the vm.pt_reclaim_zap sysctl.
 */
bool pt_reclaim_zap_enabled(void)
{
	return READ_ONCE(sysctl_pt_reclaim_zap);
}

/*
 * May the tables under @vma be freed at all? (rule 1) Some code allocates
 * a table and maps it later, under the mmap_lock for reading, and takes a
 * table gone in between for a failure: UFFDIO_COPY and its kind (-EEXIST
 * or -EAGAIN for a page that is not there), and get_locked_pte() for
 * insert_pfn() and insert_page() (VM_FAULT_OOM), which serve PFN and
 * mixed mappings and DAX. Leave those VMAs alone.
 */
static bool pt_reclaim_vma_ok(struct vm_area_struct *vma)
{
	return !is_vm_hugetlb_page(vma) &&
	       !(vma->vm_flags & (VM_PFNMAP | VM_MIXEDMAP | VM_IO)) &&
	       !vma_is_dax(vma) && !vma_is_mshare(vma) &&
	       !userfaultfd_armed(vma);
}

/*
 * May zeropage entries under @vma be cleared? Only where a read fault maps
 * the zeropage again, and not where mlock() promised that nothing faults.
 */
static bool pt_reclaim_vma_zero(struct vm_area_struct *vma)
{
	return vma_is_anonymous(vma) &&
	       !(vma->vm_flags & (VM_SHARED | VM_LOCKED));
}

enum { PT_SPAN_NO, PT_SPAN_EMPTY, PT_SPAN_ZERO };

/* What may be freed in the table that spans [@addr, @addr + PMD_SIZE). */
static int pt_reclaim_span(struct mm_struct *mm, struct vm_area_struct *hint,
			   unsigned long addr)
{
	unsigned long end = addr + PMD_SIZE;
	struct vm_area_struct *vma;
	struct vma_iterator vmi;
	int kind = PT_SPAN_ZERO;
	bool any = false;

	if (hint && hint->vm_start <= addr && end <= hint->vm_end) {
		if (!pt_reclaim_vma_ok(hint))
			return PT_SPAN_NO;
		return pt_reclaim_vma_zero(hint) ? PT_SPAN_ZERO : PT_SPAN_EMPTY;
	}

	vma_iter_init(&vmi, mm, addr);
	for_each_vma_range(vmi, vma, end) {
		any = true;
		if (!pt_reclaim_vma_ok(vma))
			return PT_SPAN_NO;
		if (!pt_reclaim_vma_zero(vma))
			kind = PT_SPAN_EMPTY;
	}
	return any ? kind : PT_SPAN_NO;
}

static bool pt_zero_pte(pte_t pte)
{
	return pte_present(pte) && is_zero_pfn(pte_pfn(pte));
}

/*
 * A look without the locks, so that a table in use costs no lock: how many
 * entries map the zeropage, or -1 if an entry holds anything else.
 */
static int pt_reclaim_prescan(pmd_t *pmd, unsigned long addr, bool zeropage)
{
	int i, nr_zero = 0;
	pte_t *pte, ptent;

	pte = pte_offset_map(pmd, addr);
	if (!pte)
		return -1;
	for (i = 0; i < PTRS_PER_PTE; i++) {
		ptent = ptep_get(pte + i);
		if (pte_none(ptent))
			continue;
		if (!zeropage || !pt_zero_pte(ptent)) {
			nr_zero = -1;
			break;
		}
		nr_zero++;
	}
	pte_unmap(pte);
	return nr_zero;
}

/**
 * pt_reclaim_pmd - detach a PTE table that maps nothing
 * @mm: the mm
 * @pmd: the PMD entry that points to the table
 * @addr: start of the table's span, PMD-aligned
 * @zeropage: entries that map the zeropage may be cleared
 * @b: the batch the table goes on
 *
 * Rule 2 at the top of this file. The caller holds @mm's mmap_lock and has
 * checked that the VMAs of the span allow it (or, for a region's host mm,
 * that nothing else can free the table, see mm/mshare.c); it frees the
 * batch with pt_reclaim_finish().
 *
 * Return: true if the table was detached.
 */
bool pt_reclaim_pmd(struct mm_struct *mm, pmd_t *pmd, unsigned long addr,
		    bool zeropage, struct pt_reclaim_batch *b)
{
	struct mmu_notifier_range range;
	unsigned long nr_cleared = 0;
	spinlock_t *pml, *ptl;
	bool freed = false;
	pte_t *pte, ptent;
	pmd_t pmdval;
	int i, nr_zero;

	pmdval = pmdp_get_lockless(pmd);
	if (!pmd_present(pmdval) || pmd_leaf(pmdval))
		return false;
	b->scanned++;
	nr_zero = pt_reclaim_prescan(pmd, addr, zeropage);
	if (nr_zero < 0)
		return false;
	/*
	 * Zeropage entries are cleared only inside the notifier's range: one
	 * that a fault adds after the look keeps the table.
	 */
	zeropage = nr_zero > 0;
	if (nr_zero) {
		/* Secondary MMUs may mirror the zeropage entries. */
		mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, 0, mm, addr,
					addr + PMD_SIZE);
		mmu_notifier_invalidate_range_start(&range);
	}

	pml = pmd_lock(mm, pmd);
	pmdval = pmdp_get(pmd);
	if (!pmd_present(pmdval) || pmd_leaf(pmdval))
		goto unlock_pml;
	/* The PMD lock keeps the entry: this maps the table it points to. */
	pte = pte_offset_map_nolock(mm, pmd, addr, &ptl);
	if (!pte)
		goto unlock_pml;
	if (ptl != pml)
		spin_lock_nested(ptl, SINGLE_DEPTH_NESTING);

	/* It may have refilled since the look above: check every entry. */
	for (i = 0; i < PTRS_PER_PTE; i++) {
		ptent = ptep_get(pte + i);
		if (!pte_none(ptent) && (!zeropage || !pt_zero_pte(ptent)))
			break;
	}
	if (i == PTRS_PER_PTE) {
		for (i = 0; i < PTRS_PER_PTE; i++) {
			if (pte_none(ptep_get(pte + i)))
				continue;
			ptent = ptep_get_and_clear(mm, addr + i * PAGE_SIZE,
						   pte + i);
			ksm_might_unmap_zero_page(mm, ptent);
			nr_cleared++;
		}
		pmd_clear(pmd);
		/*
		 * A CPU that still translates to the zeropage would read
		 * zeros after a fault through another CPU refilled the span
		 * with a written page: flush before the PMD lock lets that
		 * fault install a new table.
		 */
		if (nr_cleared)
			flush_tlb_mm_range(mm, addr, addr + PMD_SIZE,
					   PAGE_SHIFT, true);
		freed = true;
	}
	if (ptl != pml)
		spin_unlock(ptl);
	pte_unmap(pte);
unlock_pml:
	spin_unlock(pml);
	if (nr_zero)
		mmu_notifier_invalidate_range_end(&range);
	if (!freed)
		return false;

	mm_dec_nr_ptes(mm);
	page_table_check_pte_clear_range(mm, addr, pmdval);
	list_add(&pmd_pgtable(pmdval)->lru, &b->tables);
	b->nr++;
	if (nr_cleared)
		b->nr_zero++;
	else
		b->flush = true;
	b->start = min(b->start, addr);
	b->end = max(b->end, addr + PMD_SIZE);
	return true;
}

static const enum vm_event_item pt_reclaim_events[] = {
	[PT_RECLAIM_TRIGGER_ZAP] = PT_RECLAIM_ZAP,
	[PT_RECLAIM_TRIGGER_MADVISE] = PT_RECLAIM_MADVISE,
	[PT_RECLAIM_TRIGGER_SHRINKER] = PT_RECLAIM_SHRINKER,
};

/**
 * pt_reclaim_finish - free the tables of a batch
 * @mm: the mm they were detached from
 * @b: the batch, empty on return
 * @trigger: what asked for them, for the counters
 *
 * Flushes @mm's TLB once for every table that was not flushed when it was
 * detached, then frees each after an RCU grace period (rule 3).
 *
 * Return: how many tables were freed.
 */
unsigned long pt_reclaim_finish(struct mm_struct *mm,
				struct pt_reclaim_batch *b,
				enum pt_reclaim_trigger trigger)
{
	unsigned long nr = b->nr;
	struct page *table, *next;

	count_vm_events(PT_RECLAIM_SCANNED, b->scanned);
	if (nr) {
		if (b->flush)
			flush_tlb_mm_range(mm, b->start, b->end, PAGE_SHIFT,
					   true);
		list_for_each_entry_safe(table, next, &b->tables, lru) {
			list_del(&table->lru);
			pte_free_defer(mm, table);
		}
		count_vm_events(pt_reclaim_events[trigger], nr);
		count_vm_events(PT_RECLAIM_ZEROPAGE, b->nr_zero);
		if (mm_is_mshare_host(mm))
			mshare_pt_reclaimed(mm, nr);
	}
	pt_reclaim_batch_init(b);
	return nr;
}

/*
 * The PMD entry for @addr, or NULL if a level above has none; *next is
 * then past what that level spans.
 */
static pmd_t *pt_reclaim_pmd_offset(struct mm_struct *mm, unsigned long addr,
				    unsigned long end, unsigned long *next)
{
	pgd_t *pgd = pgd_offset(mm, addr);
	p4d_t *p4d;
	pud_t *pud;
	pud_t pudval;

	if (pgd_none(pgdp_get(pgd))) {
		*next = pgd_addr_end(addr, end);
		return NULL;
	}
	p4d = p4d_offset(pgd, addr);
	if (p4d_none(p4dp_get(p4d))) {
		*next = p4d_addr_end(addr, end);
		return NULL;
	}
	pud = pud_offset(p4d, addr);
	pudval = pudp_get(pud);
	if (!pud_present(pudval) || pud_leaf(pudval)) {
		*next = pud_addr_end(addr, end);
		return NULL;
	}
	*next = addr + PMD_SIZE;
	return pmd_offset(pud, addr);
}

/* pt_reclaim_pmd() for the table under @pmd, if its span allows it. */
static void pt_reclaim_span_pmd(struct mm_struct *mm,
				struct vm_area_struct *vma, pmd_t *pmd,
				unsigned long addr, struct pt_reclaim_batch *b)
{
	int kind = pt_reclaim_span(mm, vma, addr);

	if (kind != PT_SPAN_NO)
		pt_reclaim_pmd(mm, pmd, addr, kind == PT_SPAN_ZERO, b);
}

/**
 * pt_reclaim_range - free the reclaimable PTE tables of a range
 * @mm: the mm, whose mmap_lock the caller holds
 * @start: start of the range
 * @end: end of the range
 * @trigger: what asks, for the counters
 *
 * Only tables whose whole span lies in [@start, @end) and meets a VMA
 * are looked at. Stops early if the caller has a fatal signal pending.
 *
 * Return: how many tables were freed.
 */
unsigned long pt_reclaim_range(struct mm_struct *mm, unsigned long start,
			       unsigned long end,
			       enum pt_reclaim_trigger trigger)
{
	unsigned long addr, next, vend, done = 0;
	struct vm_area_struct *vma;
	struct pt_reclaim_batch b;
	struct vma_iterator vmi;
	pmd_t *pmd;

	mmap_assert_locked(mm);
	pt_reclaim_batch_init(&b);
	start = ALIGN(start, PMD_SIZE);
	end = ALIGN_DOWN(min(end, mm->task_size), PMD_SIZE);
	if (start >= end)
		return 0;
	/*
	 * Only what VMAs span is walked: the tables of a hole may be being
	 * freed by an unmap that downgraded its mmap_lock (rule 1).
	 */
	vma_iter_init(&vmi, mm, start);
	for_each_vma_range(vmi, vma, end) {
		if (!pt_reclaim_vma_ok(vma))
			continue;
		addr = max3(start, ALIGN_DOWN(vma->vm_start, PMD_SIZE), done);
		vend = min(end, ALIGN(vma->vm_end, PMD_SIZE));
		for (; addr < vend; addr = next) {
			pmd = pt_reclaim_pmd_offset(mm, addr, vend, &next);
			if (pmd && pmd_present(pmdp_get_lockless(pmd)))
				pt_reclaim_span_pmd(mm, vma, pmd, addr, &b);
			if (fatal_signal_pending(current))
				goto out;
			cond_resched();
		}
		done = vend;
	}
out:
	return pt_reclaim_finish(mm, &b, trigger);
}

/**
 * pt_reclaim_scan - free reclaimable PTE tables, a bounded amount of work
 * @mm: the mm, whose mmap_lock the caller holds
 * @cursor: where to start, updated to where to go on next time
 * @budget: how much work may be done (a table looked at is one unit, 64
 *	empty PMD entries another), decreased by what was done
 * @trigger: what asks, for the counters
 *
 * For a caller that comes back to the same mm, as a shrinker does. The
 * scan has gone through the rest of @mm when @cursor is 0 on return (a
 * cursor that stopped in a VMA never is: no VMA starts at 0).
 *
 * Return: how many tables were freed.
 */
unsigned long pt_reclaim_scan(struct mm_struct *mm, unsigned long *cursor,
			      unsigned long *budget,
			      enum pt_reclaim_trigger trigger)
{
	unsigned long addr, next, end, none = 0;
	struct vm_area_struct *vma;
	struct pt_reclaim_batch b;
	struct vma_iterator vmi;
	pmd_t *pmd;

	mmap_assert_locked(mm);
	pt_reclaim_batch_init(&b);
	vma_iter_init(&vmi, mm, *cursor);
	for_each_vma(vmi, vma) {
		if (!pt_reclaim_vma_ok(vma))
			continue;
		addr = ALIGN_DOWN(max(*cursor, vma->vm_start), PMD_SIZE);
		if (addr < *cursor)
			addr += PMD_SIZE;
		end = ALIGN(vma->vm_end, PMD_SIZE);
		for (; addr < end; addr = next) {
			if (!*budget) {
				*cursor = addr;
				return pt_reclaim_finish(mm, &b, trigger);
			}
			pmd = pt_reclaim_pmd_offset(mm, addr, end, &next);
			if (pmd && pmd_present(pmdp_get_lockless(pmd))) {
				(*budget)--;
				pt_reclaim_span_pmd(mm, vma, pmd, addr, &b);
			} else if (!(++none % 64)) {
				(*budget)--;
			}
			cond_resched();
		}
		*cursor = end;
	}
	*cursor = 0;
	return pt_reclaim_finish(mm, &b, trigger);
}

/**
 * pt_reclaim_zapped - free the tables a zap emptied
 * @mm: the mm, whose mmap_lock the caller holds
 * @start: start of the zapped range
 * @end: end of the zapped range
 *
 * Called after MADV_DONTNEED, MADV_DONTNEED_LOCKED and MADV_REMOVE (which
 * dropped the mmap_lock to zap: the VMAs are looked up again); frees the
 * tables whose whole span was zapped, unless vm.pt_reclaim_zap is 0.
 */
void pt_reclaim_zapped(struct mm_struct *mm, unsigned long start,
		       unsigned long end)
{
	if (!pt_reclaim_zap_enabled())
		return;
	if (ALIGN(start, PMD_SIZE) + PMD_SIZE > end)
		return;		/* no whole table */
	pt_reclaim_range(mm, start, end, PT_RECLAIM_TRIGGER_ZAP);
}

/**
 * pt_reclaim_madvise - madvise(MADV_PT_RECLAIM)
 * @mm: the mm, whose mmap_lock the caller holds for reading
 * @start: start of the range, page-aligned
 * @end: end of the range
 *
 * Frees every reclaimable table whose span lies in the range; a process's
 * mapping of an msharefs region passes the advice on to the region's host
 * mm, whose tables it uses.
 *
 * Return: 0; -ENOMEM if part of the range is not mapped (the rest is done);
 * -EINVAL if nothing in the range is mapped by a VMA whose tables may be
 * freed (hugetlb, PFN and I/O mappings); -EINTR if a fatal signal came.
 */
int pt_reclaim_madvise(struct mm_struct *mm, unsigned long start,
		       unsigned long end)
{
	unsigned long prev_end = start;
	struct vm_area_struct *vma;
	bool hole = false, ok = false;
	struct vma_iterator vmi;
	int ret;

	vma_iter_init(&vmi, mm, start);
	for_each_vma_range(vmi, vma, end) {
		if (vma->vm_start > prev_end)
			hole = true;
		prev_end = vma->vm_end;
		if (vma_is_mshare(vma)) {
			ret = mshare_pt_reclaim(vma, max(start, vma->vm_start),
						min(end, vma->vm_end));
			if (ret)
				return ret;
			ok = true;
		} else if (pt_reclaim_vma_ok(vma)) {
			ok = true;
		}
	}
	if (prev_end < end)
		hole = true;
	if (!ok)
		return prev_end == start ? -ENOMEM : -EINVAL;

	pt_reclaim_range(mm, start, end, PT_RECLAIM_TRIGGER_MADVISE);
	if (fatal_signal_pending(current))
		return -EINTR;
	return hole ? -ENOMEM : 0;
}

static struct ctl_table pt_reclaim_sysctls[] = {
	{
		.procname	= "pt_reclaim_zap",
		.data		= &sysctl_pt_reclaim_zap,
		.maxlen		= sizeof(int),
		.mode		= 0644,
		.proc_handler	= proc_dointvec_minmax,
		.extra1		= SYSCTL_ZERO,
		.extra2		= SYSCTL_ONE,
	},
};

static int __init pt_reclaim_init(void)
{
	register_sysctl_init("vm", pt_reclaim_sysctls);
	return 0;
}
subsys_initcall(pt_reclaim_init);
