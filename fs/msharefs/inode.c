// SPDX-License-Identifier: GPL-2.0-only
/*
 * msharefs: a pseudo filesystem whose files are regions with shared page
 * tables. Each mount is an instance of its own, usually on /sys/fs/mshare.
 * Its root directory holds the read-only file mshare_info and the regions;
 * it has no subdirectories. Each region owns a host mm (mm/mshare.c) for as
 * long as its inode lives: until it is unlinked and nobody has it open or
 * mapped.
 *
 * See Documentation/filesystems/msharefs.rst.
 *
 * Copyright (C) 2026 The msharefs developers
 */

#include <linux/fs.h>
#include <linux/fs_context.h>
#include <linux/init.h>
#include <linux/kobject.h>
#include <linux/magic.h>
#include <linux/mshare.h>
#include <linux/slab.h>
#include <linux/sysfs.h>

#define MSHAREFS_INFO_NAME	"mshare_info"

static const struct inode_operations msharefs_dir_inode_ops;
static const struct inode_operations msharefs_region_inode_ops;
static const struct file_operations msharefs_region_file_ops;
static const struct inode_operations msharefs_info_inode_ops;
static const struct file_operations msharefs_info_file_ops;

static bool msharefs_is_info(struct inode *inode)
{
	return inode && inode->i_op == &msharefs_info_inode_ops;
}

static struct inode *msharefs_new_inode(struct super_block *sb,
					struct mnt_idmap *idmap,
					const struct inode *dir, umode_t mode)
{
	struct inode *inode = new_inode(sb);

	if (!inode)
		return NULL;
	inode->i_ino = get_next_ino();
	inode_init_owner(idmap, inode, dir, mode);
	if (!dir) {
		/* The root directory and mshare_info belong to root. */
		inode->i_uid = GLOBAL_ROOT_UID;
		inode->i_gid = GLOBAL_ROOT_GID;
	}
	simple_inode_init_ts(inode);
	return inode;
}

/* Regions */

static int msharefs_set_size(struct inode *inode, loff_t size)
{
	int ret;

	lockdep_assert_held_write(&inode->i_rwsem);
	ret = mshare_region_set_size(inode->i_private, size);
	if (!ret)
		i_size_write(inode, size);
	return ret;
}

static int msharefs_region_setattr(struct mnt_idmap *idmap,
				   struct dentry *dentry, struct iattr *attr)
{
	struct inode *inode = d_inode(dentry);
	int ret;

	ret = setattr_prepare(idmap, dentry, attr);
	if (ret)
		return ret;

	/* A region is sized once: no resize, no truncate to zero. */
	if (attr->ia_valid & ATTR_SIZE) {
		ret = msharefs_set_size(inode, attr->ia_size);
		if (ret)
			return ret;
	}
	setattr_copy(idmap, inode, attr);
	return 0;
}

/*
 * fallocate(fd, 0, 0, size) sizes a region like ftruncate(); there are no
 * blocks to allocate, punch or zero, so every mode is refused.
 */
static long msharefs_region_fallocate(struct file *file, int mode,
				      loff_t offset, loff_t len)
{
	struct inode *inode = file_inode(file);
	int ret;

	if (mode)
		return -EOPNOTSUPP;
	if (offset)
		return -EINVAL;

	inode_lock(inode);
	ret = msharefs_set_size(inode, len);
	if (!ret)
		inode_set_mtime_to_ts(inode, inode_set_ctime_current(inode));
	inode_unlock(inode);
	return ret;
}

static int msharefs_create(struct mnt_idmap *idmap, struct inode *dir,
			   struct dentry *dentry, umode_t mode, bool excl)
{
	struct mshare_region *region;
	struct inode *inode;

	region = mshare_region_alloc();
	if (!region)
		return -ENOMEM;

	inode = msharefs_new_inode(dir->i_sb, idmap, dir, mode);
	if (!inode) {
		mshare_region_free(region);
		return -ENOMEM;
	}
	inode->i_private = region;
	inode->i_op = &msharefs_region_inode_ops;
	inode->i_fop = &msharefs_region_file_ops;

	/* Pinned like a ramfs file: the dentry lives until unlink. */
	d_instantiate(dentry, inode);
	dget(dentry);
	inode_set_mtime_to_ts(dir, inode_set_ctime_current(dir));
	return 0;
}

static int msharefs_unlink(struct inode *dir, struct dentry *dentry)
{
	if (msharefs_is_info(d_inode(dentry)))
		return -EPERM;
	return simple_unlink(dir, dentry);
}

static int msharefs_rename(struct mnt_idmap *idmap, struct inode *old_dir,
			   struct dentry *old_dentry, struct inode *new_dir,
			   struct dentry *new_dentry, unsigned int flags)
{
	if (msharefs_is_info(d_inode(old_dentry)) ||
	    msharefs_is_info(d_inode(new_dentry)))
		return -EPERM;
	return simple_rename(idmap, old_dir, old_dentry, new_dir, new_dentry,
			     flags);
}

/*
 * No mkdir, mknod, symlink, link or tmpfile: the directory holds regions
 * and nothing else, and the VFS answers EPERM (EOPNOTSUPP for O_TMPFILE)
 * for the operations left out.
 */
static const struct inode_operations msharefs_dir_inode_ops = {
	.lookup		= simple_lookup,
	.create		= msharefs_create,
	.unlink		= msharefs_unlink,
	.rename		= msharefs_rename,
};

static const struct inode_operations msharefs_region_inode_ops = {
	.setattr	= msharefs_region_setattr,
	.getattr	= simple_getattr,
};

static const struct file_operations msharefs_region_file_ops = {
	.mmap		= mshare_region_mmap,
	.get_unmapped_area = mshare_region_get_unmapped_area,
	.fsync		= mshare_region_fsync,
	.fallocate	= msharefs_region_fallocate,
	.unlocked_ioctl	= mshare_region_ioctl,
	.llseek		= generic_file_llseek,
};

/* mshare_info: the region alignment and size unit, in bytes */

static int msharefs_info_open(struct inode *inode, struct file *file)
{
	/* Read-only even for CAP_DAC_OVERRIDE, as kernfs does. */
	if (file->f_mode & FMODE_WRITE)
		return -EACCES;
	return 0;
}

static ssize_t msharefs_info_read(struct file *file, char __user *buf,
				  size_t count, loff_t *ppos)
{
	char s[24];
	int len;

	len = scnprintf(s, sizeof(s), "%lu\n", (unsigned long)MSHARE_ALIGN);
	return simple_read_from_buffer(buf, count, ppos, s, len);
}

static int msharefs_info_setattr(struct mnt_idmap *idmap,
				 struct dentry *dentry, struct iattr *attr)
{
	return -EPERM;
}

static const struct inode_operations msharefs_info_inode_ops = {
	.setattr	= msharefs_info_setattr,
	.getattr	= simple_getattr,
};

static const struct file_operations msharefs_info_file_ops = {
	.open		= msharefs_info_open,
	.read		= msharefs_info_read,
	.llseek		= default_llseek,
};

/* Superblock */

static void msharefs_evict_inode(struct inode *inode)
{
	clear_inode(inode);
	if (S_ISREG(inode->i_mode) && !msharefs_is_info(inode))
		mshare_region_free(inode->i_private);
}

static const struct super_operations msharefs_super_ops = {
	.statfs		= simple_statfs,
	.drop_inode	= generic_delete_inode,
	.evict_inode	= msharefs_evict_inode,
};

static int msharefs_fill_super(struct super_block *sb, struct fs_context *fc)
{
	struct inode *root, *info;
	struct dentry *dentry;

	sb->s_blocksize = PAGE_SIZE;
	sb->s_blocksize_bits = PAGE_SHIFT;
	sb->s_maxbytes = MAX_LFS_FILESIZE;
	sb->s_magic = MSHARE_MAGIC;
	sb->s_op = &msharefs_super_ops;
	sb->s_time_gran = 1;

	root = msharefs_new_inode(sb, &nop_mnt_idmap, NULL, S_IFDIR | 0755);
	if (!root)
		return -ENOMEM;
	root->i_op = &msharefs_dir_inode_ops;
	root->i_fop = &simple_dir_operations;
	inc_nlink(root);
	sb->s_root = d_make_root(root);
	if (!sb->s_root)
		return -ENOMEM;

	dentry = d_alloc_name(sb->s_root, MSHAREFS_INFO_NAME);
	if (!dentry)
		return -ENOMEM;
	info = msharefs_new_inode(sb, &nop_mnt_idmap, NULL, S_IFREG | 0444);
	if (!info) {
		dput(dentry);
		return -ENOMEM;
	}
	info->i_op = &msharefs_info_inode_ops;
	info->i_fop = &msharefs_info_file_ops;
	/* The dentry reference is the pin: kill_litter_super() drops it. */
	d_add(dentry, info);
	return 0;
}

static int msharefs_get_tree(struct fs_context *fc)
{
	return get_tree_nodev(fc, msharefs_fill_super);
}

static const struct fs_context_operations msharefs_context_ops = {
	.get_tree	= msharefs_get_tree,
};

static int msharefs_init_fs_context(struct fs_context *fc)
{
	fc->ops = &msharefs_context_ops;
	return 0;
}

static struct file_system_type msharefs_fs_type = {
	.owner			= THIS_MODULE,
	.name			= "msharefs",
	.init_fs_context	= msharefs_init_fs_context,
	.kill_sb		= kill_litter_super,
};

static int __init msharefs_init(void)
{
	int ret;

	ret = sysfs_create_mount_point(fs_kobj, "mshare");
	if (ret)
		return ret;

	ret = register_filesystem(&msharefs_fs_type);
	if (ret)
		sysfs_remove_mount_point(fs_kobj, "mshare");
	return ret;
}
fs_initcall(msharefs_init);
