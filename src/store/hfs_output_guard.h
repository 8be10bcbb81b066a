/* Guards around an output file, taken by the master before any work so that
 * an unusable output fails at once rather than after the computation, and
 * two runs never write one file.  Not collective: call on the writing rank
 * only (rank 0) and broadcast the verdict. */
#ifndef HFS_OUTPUT_GUARD_H
#define HFS_OUTPUT_GUARD_H

/* Checks that path can be written: it is not a folder, its folder exists, is
 * a folder, and a probe file can be created, written, synced and removed
 * there.  Returns HFS_OK or HFS_ERR_IO with one line naming the path and the
 * system's reason (errno text). */
int hfs_store_output_check(const char *path);

/* An exclusive claim on an output for the whole run: the file PATH.lock,
 * holding "host pid" of its holder, locked with flock() while the run
 * lives.  A second writer is refused at once with the holder named
 * (HFS_ERR_MISMATCH).  A lock left by a holder that died (killed, node
 * lost, job requeued) is taken over: the kernel releases flock() locks of
 * dead processes, also across hosts on file systems that share locks (NFS,
 * Lustre, GPFS).  Where flock() is not supported, the file is created
 * exclusively and a stale one is cleared when its holder ran on this host
 * and no longer exists, or belonged to this Slurm job (a requeue). */
typedef struct hfs_store_lock hfs_store_lock;

int hfs_store_lock_acquire(const char *path, hfs_store_lock **out);
/* Removes the lock file and frees the handle; NULL-safe; sets *l to NULL. */
void hfs_store_lock_release(hfs_store_lock **l);

#endif
