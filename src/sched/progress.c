/* Progress lines of the master: a live line on a terminal, plain lines
 * in a batch log. */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, nanosleep, fileno */
#include "sched_internal.h"

#include <string.h>
#include <unistd.h>

#include "hfs_error.h"

static void format_hms(char *buf, size_t len, double seconds) {
  if (!(seconds >= 0) || seconds > 1e8) {
    snprintf(buf, len, "--:--:--");
    return;
  }
  long s = (long)(seconds + 0.5);
  snprintf(buf, len, "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
}

/* One progress line without its terminator. */
static void progress_line(const hfs__sched_progress *p, int64_t done, double now, char *buf,
                          size_t len) {
  double elapsed = now - p->t_start;
  double rate = elapsed > 0 ? (double)done / elapsed : 0.0;
  double pct = p->total > 0 ? 100.0 * (double)done / (double)p->total : 100.0;
  char eta[32];
  format_hms(eta, sizeof eta, rate > 0 ? (double)(p->total - done) / rate : -1.0);
  snprintf(buf, len, "%s: %lld/%lld units (%.1f%%), %.4g units/s, ETA %s", p->name, (long long)done,
           (long long)p->total, pct, rate, eta);
}

void hfs__sched_progress_begin(hfs__sched_progress *p, FILE *stream, double interval,
                               const char *name, int64_t total, int nranks, double now) {
  memset(p, 0, sizeof *p);
  p->stream = stream;
  p->name = name && *name ? name : "units";
  p->total = total;
  p->interval = interval > 0 ? interval : 10.0;
  p->t_start = now;
  p->t_last = now;
  p->nranks = nranks;
  if (!stream) return;
  int fd = fileno(stream);
  p->tty = fd >= 0 && isatty(fd);
  /* A terminal gets the live line only; a log gets a start line so that the
   * run can be found and dated. */
  if (!p->tty) {
    fprintf(stream, "hfscan: %s: %lld units on %d rank%s\n", p->name, (long long)total, nranks,
            nranks == 1 ? "" : "s");
    fflush(stream);
  }
}

void hfs__sched_progress_tick(hfs__sched_progress *p, int64_t done, double now) {
  if (!p->stream) return;
  double every = p->tty ? 0.25 : p->interval;
  if (now - p->t_last < every) return;
  p->t_last = now;
  char line[512];
  progress_line(p, done, now, line, sizeof line);
  if (p->tty) {
    /* Pad so that a shorter line fully covers the previous one. */
    fprintf(p->stream, "\rhfscan: %-70s", line);
    p->drawn = 1;
  } else {
    fprintf(p->stream, "hfscan: %s\n", line);
  }
  fflush(p->stream);
}

void hfs__sched_progress_end(hfs__sched_progress *p, int64_t done, int status, double now) {
  if (!p->stream) return;
  double elapsed = now - p->t_start;
  double rate = elapsed > 0 ? (double)done / elapsed : 0.0;
  const char *how = status == HFS_OK                ? "done"
                    : status == HFS_ERR_INTERRUPTED ? "interrupted"
                                                    : "failed";
  if (p->drawn) fputc('\r', p->stream);
  fprintf(p->stream, "hfscan: %s: %s, %lld/%lld units in %.3g s (%.4g units/s)%s\n", p->name, how,
          (long long)done, (long long)p->total, elapsed, rate,
          p->drawn ? "                    " : "");
  fflush(p->stream);
  p->drawn = 0;
}
