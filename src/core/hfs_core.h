/* The core module: status codes and error propagation (hfs_error.h),
 * warnings (hfs_log.h), small utilities (hfs_util.h) and the watch on
 * the launcher (hfs_launcher.h).  Include this
 * header; its parts come with it. */
#ifndef HFS_CORE_H
#define HFS_CORE_H

#include "hfs_error.h"
#include "hfs_launcher.h"
#include "hfs_log.h"
#include "hfs_util.h"

#endif
