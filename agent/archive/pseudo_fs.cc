#include "agent/archive/pseudo_fs.h"

#include <sys/vfs.h>

namespace clawback::agent {

bool IsPseudoFilesystemType(int64_t f_type) {
  // Values from <linux/magic.h>, spelled out so the list is visible in one place.
  switch (static_cast<uint32_t>(f_type)) {
    case 0x9fa0:      // PROC_SUPER_MAGIC
    case 0x62656572:  // SYSFS_MAGIC
    case 0x1cd1:      // DEVPTS_SUPER_MAGIC
    case 0x27e0eb:    // CGROUP_SUPER_MAGIC
    case 0x63677270:  // CGROUP2_SUPER_MAGIC
    case 0x73636673:  // SECURITYFS_MAGIC
    case 0x64626720:  // DEBUGFS_MAGIC
    case 0x74726163:  // TRACEFS_MAGIC
    case 0x19800202:  // MQUEUE_MAGIC
    case 0xcafe4a11:  // BPF_FS_MAGIC
    case 0x65735543:  // FUSE_CTL_SUPER_MAGIC
    case 0x62656570:  // CONFIGFS_MAGIC
    case 0x6165676c:  // PSTOREFS_MAGIC
    case 0x958458f6:  // HUGETLBFS_MAGIC
    case 0x0187:      // AUTOFS_SUPER_MAGIC
    case 0x42494e4d:  // BINFMTFS_MAGIC
    case 0xf97cff8c:  // SELINUX_MAGIC
    case 0xde5e81e4:  // EFIVARFS_MAGIC
    case 0x6e736673:  // NSFS_MAGIC
      return true;
    default:
      // devtmpfs reports TMPFS_MAGIC and is told apart by its mount point
      // (/dev, an excluded system dir), not here.
      return false;
  }
}

bool IsOnPseudoFilesystem(int fd) {
  struct statfs sfs;
  if (fstatfs(fd, &sfs) != 0) return false;
  return IsPseudoFilesystemType(static_cast<int64_t>(sfs.f_type));
}

}  // namespace clawback::agent
