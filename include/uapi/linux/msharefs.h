/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * msharefs: regions whose page tables are shared between processes.
 *
 * See Documentation/filesystems/msharefs.rst.
 */
#ifndef _UAPI_LINUX_MSHAREFS_H
#define _UAPI_LINUX_MSHAREFS_H

#include <linux/ioctl.h>
#include <linux/types.h>

/**
 * struct mshare_create - arguments of MSHAREFS_CREATE_MAPPING
 * @region_offset: where the mapping starts, as an offset into the region
 * @size: length of the mapping in bytes
 * @offset: offset into the object named by @fd
 * @prot: PROT_* of the mapping
 * @flags: MAP_SHARED | MAP_FIXED, and MAP_ANONYMOUS or MAP_HUGETLB
 * @fd: the object to map, or -1 with MAP_ANONYMOUS
 */
struct mshare_create {
	__u64 region_offset;
	__u64 size;
	__u64 offset;
	__u32 prot;
	__u32 flags;
	__u32 fd;
};

/**
 * struct mshare_unmap - arguments of MSHAREFS_UNMAP
 * @region_offset: where the range to unmap starts in the region
 * @size: length of the range in bytes
 */
struct mshare_unmap {
	__u64 region_offset;
	__u64 size;
};

#define MSHAREFS_CREATE_MAPPING	_IOW('x', 0, struct mshare_create)
#define MSHAREFS_UNMAP		_IOW('x', 1, struct mshare_unmap)

#endif /* _UAPI_LINUX_MSHAREFS_H */
