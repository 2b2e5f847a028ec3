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

#include <linux/cred.h>
#include <linux/file.h>
#include <linux/hugetlb.h>
#include <linux/kthread.h>
#include <linux/magic.h>
#include <linux/memcontrol.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/mshare.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/workqueue.h>
#include <uapi/linux/msharefs.h>

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
	/*
	 * mm_alloc() copies the creator's MMF_* flags and default VMA flags
	 * (MDWE, THP disabled, KSM merge-any, VM_NOHUGEPAGE): a region is not
	 * the creator's, and must not make every user inherit them.
	 */
	region->mm->flags = MMF_DUMP_FILTER_DEFAULT;
	region->mm->def_flags = 0;
	region->mm->task_size = MSHARE_HOST_END;
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

/*
 * Changes to the host mm are made by a kworker that adopts the host mm with
 * kthread_use_mm(): do_mmap() and do_vmi_munmap() act on current->mm, and a
 * user task cannot lend its own mm slot without its CPU running on the host
 * page tables. The worker runs with the caller's credentials, so permission
 * and LSM checks on the object see the caller; the object's file is looked
 * up in the caller's file table before the work is queued.
 */
struct mshare_op {
	struct work_struct work;
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
	long ret;
};

/*
 * A kthread's final fput() is deferred to a global work item, so a file
 * unmapped here would be released some time after the ioctl returned (and
 * a hugetlb reservation given back late). Take a reference on every file
 * mapped in the range first, and let the caller drop them in its own
 * context once the host mappings are gone. (On the mmap side the caller
 * holds the only other reference, and drops it itself.)
 */
static long mshare_op_munmap(struct mshare_op *op)
{
	struct mm_struct *mm = op->mm;
	unsigned long end = op->addr + op->len;
	struct vm_area_struct *vma;
	struct vma_iterator vmi;
	unsigned int nr = 0;

	vma_iter_init(&vmi, mm, op->addr);
	mmap_read_lock(mm);
	for_each_vma_range(vmi, vma, end)
		nr += !!vma->vm_file;
	op->put = kcalloc(nr, sizeof(*op->put), GFP_KERNEL);
	if (nr && !op->put) {
		mmap_read_unlock(mm);
		return -ENOMEM;
	}
	vma_iter_set(&vmi, op->addr);
	for_each_vma_range(vmi, vma, end) {
		if (vma->vm_file && op->nr_put < nr)
			op->put[op->nr_put++] = get_file(vma->vm_file);
	}
	mmap_read_unlock(mm);

	return vm_munmap(op->addr, op->len);
}

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
	if (op->flags)
		op->ret = vm_mmap(op->file, op->addr, op->len, op->prot,
				  op->flags, op->offset);
	else
		op->ret = mshare_op_munmap(op);
	set_active_memcg(old_memcg);
	revert_creds(old_cred);
	kthread_unuse_mm(op->mm);
}

static long mshare_op_run(struct mshare_op *op)
{
	unsigned int i;

	op->cred = current_cred();
	op->memcg = get_mem_cgroup_from_mm(current->mm);
	INIT_WORK_ONSTACK(&op->work, mshare_op_work);
	queue_work(system_unbound_wq, &op->work);
	flush_work(&op->work);
	destroy_work_on_stack(&op->work);
	mem_cgroup_put(op->memcg);

	for (i = 0; i < op->nr_put; i++)
		fput(op->put[i]);
	kfree(op->put);
	return op->ret;
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

#define MSHARE_CREATE_FLAGS	(MAP_SHARED | MAP_FIXED | MAP_ANONYMOUS | \
				 MAP_HUGETLB | MAP_NORESERVE | \
				 (MAP_HUGE_MASK << MAP_HUGE_SHIFT))

static long mshare_create_mapping(struct mshare_region *region,
				  struct mshare_create __user *uarg)
{
	struct mshare_create arg;
	struct mshare_op op = { .mm = region->mm };
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
	 * Execute-only would make do_mmap() give the host VMA an x86
	 * protection key, allocated in the host mm and set in the kworker's
	 * PKRU: meaningless to the processes that share the tables.
	 */
	if (arg.prot == PROT_EXEC)
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
		if (!hstate_sizelog(log))
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
		/*
		 * Objects are regular files: tmpfs, memfd, hugetlbfs, disk
		 * filesystems. Device and anon-inode files (io_uring rings,
		 * perf buffers) would run their ->mmap() in a foreign context,
		 * and could hold the region open through the host mm.
		 */
		if (!S_ISREG(file_inode(op.file)->i_mode)) {
			fput(op.file);
			return -ENODEV;
		}
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

	mapped = mshare_op_run(&op);
	if (op.file)
		fput(op.file);
	if (IS_ERR_VALUE(mapped))
		return (long)mapped;

	ret = 0;
	if (WARN_ON_ONCE(mapped != op.addr))
		ret = -EINVAL;
	return ret;
}

static long mshare_unmap(struct mshare_region *region,
			 struct mshare_unmap __user *uarg)
{
	struct mshare_unmap arg;
	struct mshare_op op = { .mm = region->mm };

	if (copy_from_user(&arg, uarg, sizeof(arg)))
		return -EFAULT;
	if (!mshare_range_ok(region, arg.region_offset, arg.size))
		return -EINVAL;

	op.addr = MSHARE_HOST_BASE + arg.region_offset;
	op.len = arg.size;
	return mshare_op_run(&op);
}

/**
 * mshare_region_ioctl - the ioctls of a region file
 * @file: the region, which must be open for writing
 * @cmd: MSHAREFS_CREATE_MAPPING or MSHAREFS_UNMAP
 * @arg: pointer to the command's struct in user memory
 *
 * Return: 0, or a negative errno: -ENOTTY for an unknown command, -EBADF
 * if @file is not open for writing, -EINVAL for an unsized region or bad
 * arguments, -EFAULT for a bad pointer, or what mmap()/munmap() in the host
 * mm returned.
 */
long mshare_region_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct mshare_region *region = file_inode(file)->i_private;

	if (cmd != MSHAREFS_CREATE_MAPPING && cmd != MSHAREFS_UNMAP)
		return -ENOTTY;
	if (!(file->f_mode & FMODE_WRITE))
		return -EBADF;
	if (!READ_ONCE(region->size))
		return -EINVAL;

	if (cmd == MSHAREFS_CREATE_MAPPING)
		return mshare_create_mapping(region, (void __user *)arg);
	return mshare_unmap(region, (void __user *)arg);
}
