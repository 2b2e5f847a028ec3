/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Page-table reclaim: free PTE tables that map nothing, or only the shared
 * zeropage. See Documentation/mm/pt_reclaim.rst.
 */
#ifndef _LINUX_PT_RECLAIM_H
#define _LINUX_PT_RECLAIM_H

#include <linux/list.h>
#include <linux/mm_types.h>

/* Who asked for a table to be freed: counted apart in /proc/vmstat. */
enum pt_reclaim_trigger {
	PT_RECLAIM_TRIGGER_ZAP,		/* MADV_DONTNEED/REMOVE; in msharefs
					 * hosts, unmaps and truncation too
					 */
	PT_RECLAIM_TRIGGER_MADVISE,	/* MADV_PT_RECLAIM */
	PT_RECLAIM_TRIGGER_SHRINKER,	/* memory pressure */
};

/**
 * struct pt_reclaim_batch - PTE tables detached and not yet freed
 * @tables: the tables' pages, on their ->lru
 * @start: start of the span to flush
 * @end: end of the span to flush
 * @nr: tables on @tables
 * @nr_zero: how many of them mapped the zeropage
 * @scanned: tables examined
 * @flush: some table on @tables was not flushed when it was detached
 *
 * Tables are detached one at a time, under their locks, and freed together
 * by pt_reclaim_finish(): one TLB flush for all of them, then an RCU grace
 * period each.
 */
struct pt_reclaim_batch {
	struct list_head tables;
	unsigned long start;
	unsigned long end;
	unsigned long nr;
	unsigned long nr_zero;
	unsigned long scanned;
	bool flush;
};

static inline void pt_reclaim_batch_init(struct pt_reclaim_batch *b)
{
	INIT_LIST_HEAD(&b->tables);
	b->start = ULONG_MAX;
	b->end = 0;
	b->nr = 0;
	b->nr_zero = 0;
	b->scanned = 0;
	b->flush = false;
}

#ifdef CONFIG_PT_RECLAIM
bool pt_reclaim_pmd(struct mm_struct *mm, pmd_t *pmd, unsigned long addr,
		    bool zeropage, struct pt_reclaim_batch *b);
unsigned long pt_reclaim_finish(struct mm_struct *mm,
				struct pt_reclaim_batch *b,
				enum pt_reclaim_trigger trigger);
unsigned long pt_reclaim_range(struct mm_struct *mm, unsigned long start,
			       unsigned long end,
			       enum pt_reclaim_trigger trigger);
unsigned long pt_reclaim_scan(struct mm_struct *mm, unsigned long *cursor,
			      unsigned long *budget,
			      enum pt_reclaim_trigger trigger);
bool pt_reclaim_zap_enabled(void);
void pt_reclaim_zapped(struct mm_struct *mm, unsigned long start,
		       unsigned long end);
int pt_reclaim_madvise(struct mm_struct *mm, unsigned long start,
		       unsigned long end);
#else
static inline bool pt_reclaim_zap_enabled(void)
{
	return false;
}

static inline void pt_reclaim_zapped(struct mm_struct *mm,
				     unsigned long start, unsigned long end)
{
}

static inline int pt_reclaim_madvise(struct mm_struct *mm,
				     unsigned long start, unsigned long end)
{
	return -EINVAL;
}
#endif

#endif /* _LINUX_PT_RECLAIM_H */
