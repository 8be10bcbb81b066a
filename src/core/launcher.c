/* Watching the launcher (hfs_launcher.h). */
#define _POSIX_C_SOURCE 200809L
#include "hfs_launcher.h"

#include <stdlib.h>
#include <unistd.h>

static pid_t watched;

void hfs_launcher_watch(void) {
  static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK",
                                     "SLURM_STEP_ID"};
  for (size_t i = 0; i < sizeof vars / sizeof vars[0]; ++i)
    if (getenv(vars[i])) {
      watched = getppid();
      return;
    }
}

int hfs_launcher_gone(void) { return watched > 1 && getppid() != watched; }

long hfs_launcher_pid(void) { return (long)watched; }
