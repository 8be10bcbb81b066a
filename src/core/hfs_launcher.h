/* Whether the process that launched this one (mpirun, srun's step daemon)
 * is still there.  When a launcher is killed its ranks live on for a moment
 * as orphans; a rank that went on writing then would overwrite the output
 * behind the back of the run that replaces it.  Only a process started by a
 * launcher is watched: a run from a shell may outlive its shell (nohup). */
#ifndef HFS_LAUNCHER_H
#define HFS_LAUNCHER_H

/* Records the parent process when the environment says a launcher started
 * this one (Open MPI, PMIx or Slurm variables).  Call once, early in main. */
void hfs_launcher_watch(void);
/* 1 when a watched launcher is gone (the parent changed), else 0.
 * Async-signal-safe (one getppid call). */
int hfs_launcher_gone(void);
/* The parent's pid recorded by hfs_launcher_watch, or 0. */
long hfs_launcher_pid(void);

#endif
