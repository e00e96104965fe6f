// Pseudo filesystems: kernel-synthesized trees (proc, sysfs, cgroup ...) that a
// backup must not descend into even when mounted somewhere unexpected. tmpfs,
// overlay, ext4, xfs ... are NOT pseudo: they can hold real data.
#pragma once

#include <cstdint>

namespace clawback::agent {

// True for statfs f_type magic numbers of pseudo filesystems: proc, sysfs,
// devpts, devtmpfs, cgroup, cgroup2, securityfs, debugfs, tracefs, mqueue, bpf,
// fusectl, configfs, pstore, hugetlbfs, autofs, binfmt_misc, selinuxfs,
// efivarfs, nsfs.
bool IsPseudoFilesystemType(int64_t f_type);

// fstatfs(fd) + IsPseudoFilesystemType; false when fstatfs fails.
bool IsOnPseudoFilesystem(int fd);

}  // namespace clawback::agent
