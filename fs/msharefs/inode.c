// SPDX-License-Identifier: GPL-2.0-only
/*
 * msharefs: a pseudo filesystem whose files are regions with shared page
 * tables. Each mount is an instance of its own, usually on /sys/fs/mshare.
 * Its root directory holds the read-only file mshare_info and the regions;
 * it has no subdirectories. Each region owns a host mm (mm/mshare.c) for as
 * long as its inode lives: until it is unlinked and nobody has it open or
 * mapped.
 *
 * An instance limits how many regions it holds and the sum of their sizes
 * (mount options nr_regions= and size=), as tmpfs limits inodes and blocks:
 * what a region costs is charged to the memcgs of its users, but its size
 * is address space that every process mapping it must find.
 *
 * See Documentation/filesystems/msharefs.rst.
 *
 * Copyright (C) 2026 The msharefs developers
 */

#include <linux/fs.h>
#include <linux/fs_context.h>
#include <linux/fs_parser.h>
#include <linux/init.h>
#include <linux/kobject.h>
#include <linux/magic.h>
#include <linux/mm.h>
#include <linux/mshare.h>
#include <linux/math64.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/statfs.h>
#include <linux/sysfs.h>

#define MSHAREFS_INFO_NAME	"mshare_info"
#define MSHAREFS_DEFAULT_MODE	0755

/**
 * struct msharefs_fs_info - an instance's limits and what is in use
 * @lock: protects @nr_regions and @units, and the limits against remount
 * @max_regions: most regions in the instance, 0 for no limit
 * @max_bytes: most bytes of region sizes in all, 0 for no limit
 * @nr_regions: regions that exist (their inodes do)
 * @units: the sum of their sizes, in MSHARE_ALIGN units: regions of the
 *	maximum size overflow a sum in bytes after two
 */
struct msharefs_fs_info {
	spinlock_t lock;		/* the counts, the limits */
	unsigned long max_regions;
	u64 max_bytes;
	unsigned long nr_regions;
	u64 units;
};

/* Would @units of regions fit in a limit of @max_bytes? */
static bool msharefs_units_fit(u64 units, u64 max_bytes)
{
	return !max_bytes || units <= div64_u64(max_bytes, MSHARE_ALIGN);
}

static struct msharefs_fs_info *msharefs_sb_info(struct super_block *sb)
{
	return sb->s_fs_info;
}

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

/*
 * Size a region, within the instance's size= limit. A size that is bad,
 * or a second one, is EINVAL before it is ENOSPC.
 */
static int msharefs_set_size(struct inode *inode, loff_t size)
{
	struct msharefs_fs_info *fsi = msharefs_sb_info(inode->i_sb);
	u64 units;
	int ret;

	lockdep_assert_held_write(&inode->i_rwsem);
	if (inode->i_size || size <= 0 || size > MSHARE_MAX_SIZE ||
	    !IS_ALIGNED(size, MSHARE_ALIGN))
		return -EINVAL;

	spin_lock(&fsi->lock);
	units = fsi->units + size / MSHARE_ALIGN;
	if (!msharefs_units_fit(units, fsi->max_bytes)) {
		spin_unlock(&fsi->lock);
		return -ENOSPC;
	}
	fsi->units = units;
	spin_unlock(&fsi->lock);

	ret = mshare_region_set_size(inode->i_private, size);
	if (ret) {
		spin_lock(&fsi->lock);
		fsi->units -= size / MSHARE_ALIGN;
		spin_unlock(&fsi->lock);
		return ret;
	}
	i_size_write(inode, size);
	return 0;
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

/* Count a new region against nr_regions=; given back at eviction. */
static bool msharefs_get_region(struct msharefs_fs_info *fsi)
{
	bool ok;

	spin_lock(&fsi->lock);
	ok = !fsi->max_regions || fsi->nr_regions < fsi->max_regions;
	if (ok)
		fsi->nr_regions++;
	spin_unlock(&fsi->lock);
	return ok;
}

static void msharefs_put_region(struct msharefs_fs_info *fsi, loff_t size)
{
	spin_lock(&fsi->lock);
	fsi->nr_regions--;
	fsi->units -= size / MSHARE_ALIGN;
	spin_unlock(&fsi->lock);
}

static int msharefs_create(struct mnt_idmap *idmap, struct inode *dir,
			   struct dentry *dentry, umode_t mode, bool excl)
{
	struct msharefs_fs_info *fsi = msharefs_sb_info(dir->i_sb);
	struct mshare_region *region;
	struct inode *inode;

	if (!msharefs_get_region(fsi))
		return -ENOSPC;

	region = mshare_region_alloc();
	if (!region) {
		msharefs_put_region(fsi, 0);
		return -ENOMEM;
	}

	/* The inode takes over the count: eviction gives it back. */
	inode = msharefs_new_inode(dir->i_sb, idmap, dir, mode);
	if (!inode) {
		mshare_region_free(region);
		msharefs_put_region(fsi, 0);
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
	.show_fdinfo	= mshare_region_show_fdinfo,
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
	if (S_ISREG(inode->i_mode) && !msharefs_is_info(inode)) {
		mshare_region_free(inode->i_private);
		msharefs_put_region(msharefs_sb_info(inode->i_sb),
				    inode->i_size);
	}
}

/*
 * Blocks are pages of region size, files are regions; 0 means no limit,
 * as tmpfs reports it.
 */
static int msharefs_statfs(struct dentry *dentry, struct kstatfs *buf)
{
	struct msharefs_fs_info *fsi = msharefs_sb_info(dentry->d_sb);

	buf->f_type = MSHARE_MAGIC;
	buf->f_bsize = PAGE_SIZE;
	buf->f_namelen = NAME_MAX;
	spin_lock(&fsi->lock);
	if (fsi->max_bytes) {
		/* Within the limit, a sum in bytes cannot overflow. */
		buf->f_blocks = fsi->max_bytes >> PAGE_SHIFT;
		buf->f_bavail = (fsi->max_bytes - fsi->units * MSHARE_ALIGN) >>
				PAGE_SHIFT;
		buf->f_bfree = buf->f_bavail;
	}
	if (fsi->max_regions) {
		buf->f_files = fsi->max_regions;
		buf->f_ffree = fsi->max_regions - fsi->nr_regions;
	}
	spin_unlock(&fsi->lock);
	return 0;
}

static unsigned long msharefs_default_max_regions(void)
{
	/* As tmpfs's nr_inodes: half the pages of RAM. */
	return totalram_pages() / 2;
}

static int msharefs_show_options(struct seq_file *m, struct dentry *root)
{
	struct msharefs_fs_info *fsi = msharefs_sb_info(root->d_sb);
	struct inode *inode = d_inode(root);

	if (fsi->max_regions != msharefs_default_max_regions())
		seq_printf(m, ",nr_regions=%lu", fsi->max_regions);
	if (fsi->max_bytes)
		seq_printf(m, ",size=%llu", fsi->max_bytes);
	if ((inode->i_mode & 07777) != MSHAREFS_DEFAULT_MODE)
		seq_printf(m, ",mode=%o", inode->i_mode & 07777);
	if (!uid_eq(inode->i_uid, GLOBAL_ROOT_UID))
		seq_printf(m, ",uid=%u",
			   from_kuid_munged(&init_user_ns, inode->i_uid));
	if (!gid_eq(inode->i_gid, GLOBAL_ROOT_GID))
		seq_printf(m, ",gid=%u",
			   from_kgid_munged(&init_user_ns, inode->i_gid));
	return 0;
}

static const struct super_operations msharefs_super_ops = {
	.statfs		= msharefs_statfs,
	.drop_inode	= generic_delete_inode,
	.evict_inode	= msharefs_evict_inode,
	.show_options	= msharefs_show_options,
};

/* Mount options */

enum { OPT_NR_REGIONS, OPT_SIZE, OPT_MODE, OPT_UID, OPT_GID };

static const struct fs_parameter_spec msharefs_fs_parameters[] = {
	fsparam_string("nr_regions",	OPT_NR_REGIONS),
	fsparam_string("size",		OPT_SIZE),
	fsparam_u32oct("mode",		OPT_MODE),
	fsparam_uid("uid",		OPT_UID),
	fsparam_gid("gid",		OPT_GID),
	{}
};

#define MSHAREFS_SEEN_REGIONS	BIT(OPT_NR_REGIONS)
#define MSHAREFS_SEEN_SIZE	BIT(OPT_SIZE)
#define MSHAREFS_SEEN_MODE	BIT(OPT_MODE)
#define MSHAREFS_SEEN_UID	BIT(OPT_UID)
#define MSHAREFS_SEEN_GID	BIT(OPT_GID)

struct msharefs_fs_context {
	unsigned long max_regions;
	u64 max_bytes;
	umode_t mode;
	kuid_t uid;
	kgid_t gid;
	unsigned int seen;	/* MSHAREFS_SEEN_*: what remount changes */
};

static int msharefs_parse_param(struct fs_context *fc,
				struct fs_parameter *param)
{
	struct msharefs_fs_context *ctx = fc->fs_private;
	struct fs_parse_result result;
	unsigned long long val;
	char *rest;
	int opt;

	opt = fs_parse(fc, msharefs_fs_parameters, param, &result);
	if (opt < 0)
		return opt;

	switch (opt) {
	case OPT_NR_REGIONS:
		val = memparse(param->string, &rest);
		if (*rest || val > ULONG_MAX)
			return invalfc(fc, "Bad value for '%s'", param->key);
		ctx->max_regions = val;
		break;
	case OPT_SIZE:
		val = memparse(param->string, &rest);
		if (*rest)
			return invalfc(fc, "Bad value for '%s'", param->key);
		ctx->max_bytes = val;
		break;
	case OPT_MODE:
		if (result.uint_32 & ~07777)
			return invalfc(fc, "Bad value for '%s'", param->key);
		ctx->mode = result.uint_32;
		break;
	case OPT_UID:
		/* It must be representable in the instance's idmapping. */
		if (!kuid_has_mapping(fc->user_ns, result.uid))
			return invalfc(fc, "Bad value for '%s'", param->key);
		ctx->uid = result.uid;
		break;
	case OPT_GID:
		if (!kgid_has_mapping(fc->user_ns, result.gid))
			return invalfc(fc, "Bad value for '%s'", param->key);
		ctx->gid = result.gid;
		break;
	}
	ctx->seen |= BIT(opt);
	return 0;
}

static int msharefs_fill_super(struct super_block *sb, struct fs_context *fc)
{
	struct msharefs_fs_context *ctx = fc->fs_private;
	struct msharefs_fs_info *fsi;
	struct inode *root, *info;
	struct dentry *dentry;

	fsi = kzalloc(sizeof(*fsi), GFP_KERNEL_ACCOUNT);
	if (!fsi)
		return -ENOMEM;
	spin_lock_init(&fsi->lock);
	fsi->max_regions = ctx->max_regions;
	fsi->max_bytes = ctx->max_bytes;
	sb->s_fs_info = fsi;

	sb->s_blocksize = PAGE_SIZE;
	sb->s_blocksize_bits = PAGE_SHIFT;
	sb->s_maxbytes = MAX_LFS_FILESIZE;
	sb->s_magic = MSHARE_MAGIC;
	sb->s_op = &msharefs_super_ops;
	sb->s_time_gran = 1;

	root = msharefs_new_inode(sb, &nop_mnt_idmap, NULL, S_IFDIR | ctx->mode);
	if (!root)
		return -ENOMEM;
	root->i_uid = ctx->uid;
	root->i_gid = ctx->gid;
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

/*
 * Remount changes what it names. A limit below what is in use is refused,
 * as tmpfs refuses one, and then nothing changes.
 */
static int msharefs_reconfigure(struct fs_context *fc)
{
	struct msharefs_fs_context *ctx = fc->fs_private;
	struct super_block *sb = fc->root->d_sb;
	struct msharefs_fs_info *fsi = msharefs_sb_info(sb);
	struct inode *root = d_inode(sb->s_root);

	spin_lock(&fsi->lock);
	if ((ctx->seen & MSHAREFS_SEEN_REGIONS) && ctx->max_regions &&
	    ctx->max_regions < fsi->nr_regions) {
		spin_unlock(&fsi->lock);
		return invalfc(fc, "Too few regions for current use");
	}
	if ((ctx->seen & MSHAREFS_SEEN_SIZE) &&
	    !msharefs_units_fit(fsi->units, ctx->max_bytes)) {
		spin_unlock(&fsi->lock);
		return invalfc(fc, "Too small a size for current use");
	}
	if (ctx->seen & MSHAREFS_SEEN_REGIONS)
		fsi->max_regions = ctx->max_regions;
	if (ctx->seen & MSHAREFS_SEEN_SIZE)
		fsi->max_bytes = ctx->max_bytes;
	spin_unlock(&fsi->lock);

	if (ctx->seen & (MSHAREFS_SEEN_MODE | MSHAREFS_SEEN_UID |
			 MSHAREFS_SEEN_GID)) {
		inode_lock(root);
		if (ctx->seen & MSHAREFS_SEEN_MODE)
			root->i_mode = S_IFDIR | ctx->mode;
		if (ctx->seen & MSHAREFS_SEEN_UID)
			root->i_uid = ctx->uid;
		if (ctx->seen & MSHAREFS_SEEN_GID)
			root->i_gid = ctx->gid;
		inode_set_ctime_current(root);
		inode_unlock(root);
	}
	return 0;
}

static void msharefs_free_fc(struct fs_context *fc)
{
	kfree(fc->fs_private);
}

static const struct fs_context_operations msharefs_context_ops = {
	.free		= msharefs_free_fc,
	.parse_param	= msharefs_parse_param,
	.get_tree	= msharefs_get_tree,
	.reconfigure	= msharefs_reconfigure,
};

static int msharefs_init_fs_context(struct fs_context *fc)
{
	struct msharefs_fs_context *ctx;

	ctx = kzalloc(sizeof(*ctx), GFP_KERNEL);
	if (!ctx)
		return -ENOMEM;
	ctx->max_regions = msharefs_default_max_regions();
	ctx->mode = MSHAREFS_DEFAULT_MODE;
	ctx->uid = GLOBAL_ROOT_UID;
	ctx->gid = GLOBAL_ROOT_GID;
	fc->fs_private = ctx;
	fc->ops = &msharefs_context_ops;
	return 0;
}

static void msharefs_kill_sb(struct super_block *sb)
{
	struct msharefs_fs_info *fsi = msharefs_sb_info(sb);

	kill_litter_super(sb);
	kfree(fsi);
}

static struct file_system_type msharefs_fs_type = {
	.owner			= THIS_MODULE,
	.name			= "msharefs",
	.init_fs_context	= msharefs_init_fs_context,
	.parameters		= msharefs_fs_parameters,
	.kill_sb		= msharefs_kill_sb,
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
