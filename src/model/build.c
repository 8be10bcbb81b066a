/* Compilation of a checked workspace into the flat model of model_internal.h,
 * following pyhf's rules for parameter order, sharing and defaults
 * (docs/likelihood.md).  Semantic errors name the file and the JSON path. */
#include "hfs_error.h"
#include "hfs_core.h"
#include "model_internal.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A named parameter set during compilation (pyhf's "paramset"). */
typedef struct {
  const char *name;
  hfs_modtype type;
  const char *path; /* first modifier that defines it */
  int n;            /* parameters in the set */
  int first;        /* index of its first parameter */
  int nuses;
  int *bin_index; /* staterror: global bin -> set index, or -1 */
  double *init, *lo, *hi, *aux, *sigma, *tau;
  int *fixed;
} pset;

typedef struct {
  const hfs_spec *spec;
  const hfs_spec_measurement *meas;
  int *chan_order;  /* sorted channel indices */
  int **samp_order; /* per sorted channel: sorted sample indices */
  int nps;
  pset *ps;
} builder;

/* Sorting by name without a global (model creation is reentrant): the
 * comparator sees the name with its index, ties keep the index order. */
typedef struct {
  const char *name;
  int index;
} named_index;

static int cmp_named(const void *a, const void *b) {
  const named_index *x = a, *y = b;
  int c = strcmp(x->name, y->name);
  return c ? c : x->index - y->index;
}

/* order[0..n) = 0..n-1 sorted by the name member (at name_off) of the
 * elements of base (stride bytes apart). */
static int order_by_name(int *order, int n, const void *base, size_t stride, size_t name_off) {
  int rc = HFS_OK;
  named_index *t = NULL;
  HFS_ALLOC(t, n);
  for (int i = 0; i < n; ++i) {
    t[i].name = *(char *const *)((const char *)base + (size_t)i * stride + name_off);
    t[i].index = i;
  }
  qsort(t, (size_t)n, sizeof *t, cmp_named);
  for (int i = 0; i < n; ++i) order[i] = t[i].index;
cleanup:
  free(t);
  return rc;
}

static int is_scalar_type(hfs_modtype t) {
  return t == HFS_MOD_NORMFACTOR || t == HFS_MOD_NORMSYS || t == HFS_MOD_HISTOSYS ||
         t == HFS_MOD_LUMI;
}

static pset *find_pset(builder *b, const char *name) {
  for (int i = 0; i < b->nps; ++i)
    if (strcmp(b->ps[i].name, name) == 0) return &b->ps[i];
  return NULL;
}

/* Two modifier types may share a parameter only if pyhf would build the
 * same parameter set for both: that is normsys with histosys. */
static int compatible(hfs_modtype a, hfs_modtype b) {
  if (a == b) return 1;
  return (a == HFS_MOD_NORMSYS && b == HFS_MOD_HISTOSYS) ||
         (a == HFS_MOD_HISTOSYS && b == HFS_MOD_NORMSYS);
}

static int add_pset(builder *b, const hfs_spec_modifier *m) {
  pset *p = find_pset(b, m->name);
  if (p) {
    if (!compatible(p->type, m->type))
      return hfs_error_set(HFS_ERR_MODEL,
                           "%s: %s: modifier name '%s' is used with incompatible types %s and "
                           "%s (first at %s)",
                           b->spec->file, m->path, m->name, hfs_modtype_name(m->type),
                           hfs_modtype_name(p->type), p->path);
    return HFS_OK;
  }
  p = &b->ps[b->nps++];
  memset(p, 0, sizeof *p);
  p->name = m->name;
  p->type = m->type;
  p->path = m->path;
  return HFS_OK;
}

/* Visit the modifiers in pyhf's parameter-discovery order: modifier types in
 * registry order; within a type, channels and samples sorted by name and
 * modifiers sorted by name; staterror names sorted globally. */
static int discover(builder *b) {
  const hfs_spec *s = b->spec;
  int rc = HFS_OK;
  const hfs_spec_modifier **tmp = NULL;
  int maxmods = 1, total = 0;
  for (int c = 0; c < s->nchannels; ++c)
    for (int k = 0; k < s->channels[c].nsamples; ++k) {
      int n = s->channels[c].samples[k].nmods;
      total += n;
      if (n > maxmods) maxmods = n;
    }
  HFS_ALLOC(tmp, total > maxmods ? total : maxmods);
  for (int t = 0; t < HFS_MOD_NTYPES; ++t) {
    if (t == HFS_MOD_STATERROR) {
      int n = 0;
      for (int c = 0; c < s->nchannels; ++c)
        for (int k = 0; k < s->channels[c].nsamples; ++k) {
          const hfs_spec_sample *sa = &s->channels[c].samples[k];
          for (int m = 0; m < sa->nmods; ++m)
            if (sa->mods[m].type == HFS_MOD_STATERROR) tmp[n++] = &sa->mods[m];
        }
      /* sort by name (stable enough: equal names are the same set) */
      for (int i = 1; i < n; ++i)
        for (int j = i; j > 0 && strcmp(tmp[j - 1]->name, tmp[j]->name) > 0; --j) {
          const hfs_spec_modifier *x = tmp[j];
          tmp[j] = tmp[j - 1];
          tmp[j - 1] = x;
        }
      for (int i = 0; i < n; ++i) HFS_CHECK(add_pset(b, tmp[i]));
      continue;
    }
    for (int ci = 0; ci < s->nchannels; ++ci) {
      int c = b->chan_order[ci];
      const hfs_spec_channel *ch = &s->channels[c];
      for (int si = 0; si < ch->nsamples; ++si) {
        const hfs_spec_sample *sa = &ch->samples[b->samp_order[ci][si]];
        int n = 0;
        for (int m = 0; m < sa->nmods; ++m)
          if ((int)sa->mods[m].type == t) tmp[n++] = &sa->mods[m];
        for (int i = 1; i < n; ++i)
          for (int j = i; j > 0 && strcmp(tmp[j - 1]->name, tmp[j]->name) > 0; --j) {
            const hfs_spec_modifier *x = tmp[j];
            tmp[j] = tmp[j - 1];
            tmp[j - 1] = x;
          }
        for (int i = 0; i < n; ++i) HFS_CHECK(add_pset(b, tmp[i]));
      }
    }
  }
cleanup:
  free(tmp);
  return rc;
}

static int pset_alloc(pset *p, int n) {
  int rc = HFS_OK;
  p->n = n;
  HFS_ALLOC(p->init, n);
  HFS_ALLOC(p->lo, n);
  HFS_ALLOC(p->hi, n);
  HFS_ALLOC(p->aux, n);
  HFS_ALLOC(p->sigma, n);
  HFS_ALLOC(p->tau, n);
  HFS_ALLOC(p->fixed, n);
cleanup:
  return rc;
}

static void pset_fill(pset *p, double init, double lo, double hi, double aux, double sigma) {
  for (int i = 0; i < p->n; ++i) {
    p->init[i] = init;
    p->lo[i] = lo;
    p->hi[i] = hi;
    p->aux[i] = aux;
    p->sigma[i] = sigma;
    p->tau[i] = 0;
    p->fixed[i] = 0;
  }
}

/* Global bin offset of sorted channel position ci. */
static int chan_offset(const builder *b, int c, const int *offs) {
  for (int ci = 0; ci < b->spec->nchannels; ++ci)
    if (b->chan_order[ci] == c) return offs[ci];
  return -1;
}

/* Sizes and defaults of every parameter set (pyhf's required_parset). */
static int size_psets(builder *b, const int *offs, int nbins_total) {
  const hfs_spec *s = b->spec;
  int rc = HFS_OK;
  double *nomsum = NULL;
  HFS_ALLOC(nomsum, nbins_total);
  for (int i = 0; i < b->nps; ++i) {
    pset *p = &b->ps[i];
    if (is_scalar_type(p->type)) {
      HFS_CHECK(pset_alloc(p, 1));
      if (p->type == HFS_MOD_NORMFACTOR)
        pset_fill(p, 1, 0, 10, 0, 0);
      else if (p->type == HFS_MOD_LUMI)
        pset_fill(p, NAN, NAN, NAN, NAN, NAN); /* from the measurement */
      else
        pset_fill(p, 0, -5, 5, 0, 1);
      continue;
    }
    /* per-bin sets: walk their uses */
    int n = -1;
    const char *usepath = NULL;
    const hfs_spec_sample *use_sample = NULL;
    const hfs_spec_modifier *use_mod = NULL;
    int *chan_used = NULL;
    HFS_ALLOC(chan_used, s->nchannels);
    for (int c = 0; c < s->nchannels; ++c)
      for (int k = 0; k < s->channels[c].nsamples; ++k) {
        const hfs_spec_sample *sa = &s->channels[c].samples[k];
        for (int m = 0; m < sa->nmods; ++m) {
          const hfs_spec_modifier *md = &sa->mods[m];
          if (md->type != p->type || strcmp(md->name, p->name) != 0) continue;
          p->nuses++;
          chan_used[c] = 1;
          if (p->type == HFS_MOD_SHAPESYS && p->nuses > 1) {
            free(chan_used);
            HFS_FAIL(HFS_ERR_MODEL,
                     "%s: %s: shapesys '%s' is already used at %s; each "
                     "shapesys modifier needs its own name",
                     s->file, md->path, md->name, usepath);
          }
          if (p->type == HFS_MOD_SHAPEFACTOR && n >= 0 && n != s->channels[c].nbins) {
            free(chan_used);
            HFS_FAIL(HFS_ERR_MODEL, "%s: %s: shapefactor '%s' has %d bins here but %d at %s",
                     s->file, md->path, md->name, s->channels[c].nbins, n, usepath);
          }
          if (n < 0) {
            n = s->channels[c].nbins;
            usepath = md->path;
            use_sample = sa;
            use_mod = md;
          }
        }
      }
    if (p->type == HFS_MOD_STATERROR) {
      /* one gamma per bin of every channel the name appears in, in global
       * bin order; sigma_b = sqrt(sum_s (delta_sb / N_b)^2) where N_b sums
       * the nominal yields of the samples carrying the modifier */
      HFS_ALLOC(p->bin_index, nbins_total);
      for (int g = 0; g < nbins_total; ++g) p->bin_index[g] = -1;
      int cnt = 0;
      for (int ci = 0; ci < s->nchannels; ++ci) {
        int c = b->chan_order[ci];
        if (!chan_used[c]) continue;
        for (int j = 0; j < s->channels[c].nbins; ++j) p->bin_index[offs[ci] + j] = cnt++;
      }
      free(chan_used);
      chan_used = NULL;
      HFS_CHECK(pset_alloc(p, cnt));
      pset_fill(p, 1, 1e-10, 10, 1, 0);
      for (int g = 0; g < nbins_total; ++g) nomsum[g] = 0;
      /* samples that carry the name anywhere contribute their nominal
       * yields in every channel (pyhf's mask.any() rule) */
      for (int c = 0; c < s->nchannels; ++c)
        for (int k = 0; k < s->channels[c].nsamples; ++k) {
          const hfs_spec_sample *sa = &s->channels[c].samples[k];
          int carries = 0;
          for (int c2 = 0; c2 < s->nchannels && !carries; ++c2)
            for (int k2 = 0; k2 < s->channels[c2].nsamples && !carries; ++k2) {
              const hfs_spec_sample *sb = &s->channels[c2].samples[k2];
              if (strcmp(sb->name, sa->name) != 0) continue;
              for (int m = 0; m < sb->nmods; ++m)
                if (sb->mods[m].type == HFS_MOD_STATERROR && strcmp(sb->mods[m].name, p->name) == 0)
                  carries = 1;
            }
          if (!carries) continue;
          int off = chan_offset(b, c, offs);
          for (int j = 0; j < sa->nbins; ++j) nomsum[off + j] += sa->data[j];
        }
      for (int c = 0; c < s->nchannels; ++c) {
        int off = chan_offset(b, c, offs);
        for (int k = 0; k < s->channels[c].nsamples; ++k) {
          const hfs_spec_sample *sa = &s->channels[c].samples[k];
          for (int m = 0; m < sa->nmods; ++m) {
            const hfs_spec_modifier *md = &sa->mods[m];
            if (md->type != HFS_MOD_STATERROR || strcmp(md->name, p->name)) continue;
            for (int j = 0; j < sa->nbins; ++j) {
              int g = off + j, q = p->bin_index[g];
              if (nomsum[g] > 0) {
                double r = md->data[j] / nomsum[g];
                p->sigma[q] += r * r;
              }
            }
          }
        }
      }
      for (int q = 0; q < cnt; ++q) {
        p->sigma[q] = sqrt(p->sigma[q]);
        /* zero uncertainty: gamma fixed at 1 with a unit-width constraint
         * that stays in the likelihood, as pyhf does */
        if (p->sigma[q] == 0) {
          p->fixed[q] = 1;
          p->sigma[q] = 1;
        }
      }
      continue;
    }
    free(chan_used);
    chan_used = NULL;
    HFS_CHECK(pset_alloc(p, n));
    if (p->type == HFS_MOD_SHAPEFACTOR) {
      pset_fill(p, 1, 0, 10, 0, 0);
    } else { /* shapesys: Poisson constraint with tau = (nominal/delta)^2 */
      pset_fill(p, 1, 1e-10, 10, 0, 0);
      for (int j = 0; j < n; ++j) {
        double nom = use_sample->data[j], d = use_mod->data[j];
        if (nom > 0 && d > 0) {
          p->tau[j] = (nom / d) * (nom / d);
        } else {
          p->tau[j] = 1;
          p->fixed[j] = 1;
        }
        p->aux[j] = p->tau[j];
      }
    }
  }
cleanup:
  free(nomsum);
  return rc;
}

static int uses_attr(hfs_modtype t, const char *attr) {
  if (!strcmp(attr, "sigmas")) return t == HFS_MOD_LUMI || t == HFS_MOD_STATERROR;
  if (!strcmp(attr, "factors")) return t == HFS_MOD_SHAPESYS;
  if (!strcmp(attr, "auxdata")) return t != HFS_MOD_NORMFACTOR && t != HFS_MOD_SHAPEFACTOR;
  return 1;
}

static int check_count(const hfs_spec *s, const hfs_spec_param *e, const pset *p, const char *attr,
                       int count) {
  if (count == 0) return HFS_OK;
  if (!uses_attr(p->type, attr))
    return hfs_error_set(HFS_ERR_MODEL, "%s: %s.%s: parameter '%s' (%s) does not use %s", s->file,
                         e->path, attr, p->name, hfs_modtype_name(p->type), attr);
  if (count != p->n)
    return hfs_error_set(HFS_ERR_MODEL,
                         "%s: %s.%s: %d value(s) given but parameter '%s' has "
                         "%d",
                         s->file, e->path, attr, count, p->name, p->n);
  return HFS_OK;
}

/* Measurement-level settings override the modifier defaults. */
static int apply_config(builder *b) {
  const hfs_spec *s = b->spec;
  int rc = HFS_OK;
  for (int k = 0; k < b->meas->nparams; ++k) {
    const hfs_spec_param *e = &b->meas->params[k];
    pset *p = find_pset(b, e->name);
    if (!p) {
      /* pyhf ignores such entries and published workspaces rely on it */
      hfs_warn(
          "%s: %s: parameter '%s' is not defined by any modifier; "
          "entry ignored",
          s->file, e->path, e->name);
      continue;
    }
    HFS_CHECK(check_count(s, e, p, "inits", e->ninits));
    HFS_CHECK(check_count(s, e, p, "bounds", e->nbounds));
    HFS_CHECK(check_count(s, e, p, "auxdata", e->nauxdata));
    HFS_CHECK(check_count(s, e, p, "sigmas", e->nsigmas));
    HFS_CHECK(check_count(s, e, p, "factors", e->nfactors));
    for (int i = 0; i < p->n; ++i) {
      if (e->ninits) p->init[i] = e->inits[i];
      if (e->nbounds) {
        p->lo[i] = e->bounds[2 * i];
        p->hi[i] = e->bounds[2 * i + 1];
      }
      if (e->nauxdata) p->aux[i] = e->auxdata[i];
      if (e->nsigmas) {
        if (!(e->sigmas[i] > 0))
          HFS_FAIL(HFS_ERR_MODEL, "%s: %s.sigmas[%d]: width must be > 0", s->file, e->path, i);
        p->sigma[i] = e->sigmas[i];
      }
      if (e->nfactors) p->tau[i] = e->factors[i];
      if (e->has_fixed) p->fixed[i] = e->fixed;
    }
  }
  /* lumi has no defaults: it needs the measurement's configuration */
  for (int i = 0; i < b->nps; ++i) {
    pset *p = &b->ps[i];
    if (p->type != HFS_MOD_LUMI) continue;
    if (isnan(p->aux[0]) || isnan(p->sigma[0]))
      HFS_FAIL(HFS_ERR_MODEL,
               "%s: %s: lumi parameter '%s' needs 'auxdata' and 'sigmas' in "
               "%s.config.parameters",
               s->file, p->path, p->name, b->meas->path);
    if (isnan(p->init[0])) p->init[0] = p->aux[0];
    if (isnan(p->lo[0])) {
      /* XML-import convention: nominal +- 5 sigma */
      p->lo[0] = p->aux[0] - 5 * p->sigma[0];
      p->hi[0] = p->aux[0] + 5 * p->sigma[0];
    }
  }
cleanup:
  return rc;
}

static const hfs_spec_param *config_entry(const builder *b, const char *name) {
  for (int k = 0; k < b->meas->nparams; ++k)
    if (!strcmp(b->meas->params[k].name, name)) return &b->meas->params[k];
  return NULL;
}

static char *xstrdup(const char *s) {
  size_t n = strlen(s) + 1;
  char *d = malloc(n);
  if (d) memcpy(d, s, n);
  return d;
}

static int flatten_params(builder *b, hfs_model *m) {
  const hfs_spec *s = b->spec;
  int rc = HFS_OK, npar = 0, naux = 0;
  for (int i = 0; i < b->nps; ++i) {
    b->ps[i].first = npar;
    npar += b->ps[i].n;
    if (b->ps[i].type != HFS_MOD_NORMFACTOR && b->ps[i].type != HFS_MOD_SHAPEFACTOR)
      naux += b->ps[i].n;
  }
  if (npar == 0) HFS_FAIL(HFS_ERR_MODEL, "%s: the model has no parameters", s->file);
  m->npar = npar;
  m->naux = naux;
  HFS_ALLOC(m->par_name, npar);
  HFS_ALLOC(m->init, npar);
  HFS_ALLOC(m->lo, npar);
  HFS_ALLOC(m->hi, npar);
  HFS_ALLOC(m->sigma, npar);
  HFS_ALLOC(m->tau, npar);
  HFS_ALLOC(m->prefit, npar);
  HFS_ALLOC(m->fixed, npar);
  HFS_ALLOC(m->aux_index, npar);
  HFS_ALLOC(m->constr, npar);
  HFS_ALLOC(m->ptype, npar);
  HFS_ALLOC(m->auxdata, naux);
  HFS_ALLOC(m->aux_par, naux);
  HFS_ALLOC(m->aux_lognorm, naux);
  int a = 0;
  for (int i = 0; i < b->nps; ++i) {
    const pset *p = &b->ps[i];
    const hfs_spec_param *e = config_entry(b, p->name);
    const char *where = e ? e->path : p->path;
    for (int j = 0; j < p->n; ++j) {
      int q = p->first + j;
      char buf[512];
      if (is_scalar_type(p->type))
        snprintf(buf, sizeof buf, "%s", p->name);
      else
        snprintf(buf, sizeof buf, "%s[%d]", p->name, j);
      m->par_name[q] = xstrdup(buf);
      if (!m->par_name[q]) HFS_FAIL(HFS_ERR_NOMEM, "out of memory");
      m->init[q] = p->init[j];
      m->lo[q] = p->lo[j];
      m->hi[q] = p->hi[j];
      m->fixed[q] = p->fixed[j];
      m->ptype[q] = p->type;
      if (!(m->lo[q] <= m->hi[q]))
        HFS_FAIL(HFS_ERR_MODEL, "%s: %s: parameter '%s' has inverted bounds [%g, %g]", s->file,
                 where, buf, m->lo[q], m->hi[q]);
      if (!(m->init[q] >= m->lo[q] && m->init[q] <= m->hi[q]))
        HFS_FAIL(HFS_ERR_MODEL,
                 "%s: %s: initial value %g of parameter '%s' is outside its "
                 "bounds [%g, %g]",
                 s->file, where, m->init[q], buf, m->lo[q], m->hi[q]);
      m->aux_index[q] = -1;
      switch (p->type) {
        case HFS_MOD_NORMFACTOR:
        case HFS_MOD_SHAPEFACTOR: m->constr[q] = HFS_CONSTR_NONE; break;
        case HFS_MOD_SHAPESYS:
          m->constr[q] = HFS_CONSTR_POISSON;
          m->tau[q] = p->tau[j];
          if (!(m->tau[q] > 0))
            HFS_FAIL(HFS_ERR_MODEL, "%s: %s: Poisson factor of '%s' must be > 0", s->file, where,
                     buf);
          m->prefit[q] = 1 / sqrt(m->tau[q]);
          break;
        default:
          m->constr[q] = HFS_CONSTR_GAUSS;
          m->sigma[q] = p->sigma[j];
          m->prefit[q] = m->sigma[q];
          break;
      }
      if (m->constr[q] != HFS_CONSTR_NONE) {
        m->aux_index[q] = a;
        m->aux_par[a] = q;
        m->auxdata[a] = p->aux[j];
        if (m->constr[q] == HFS_CONSTR_GAUSS)
          m->aux_lognorm[a] = 2 * log(m->sigma[q] * sqrt(2 * M_PI));
        else if (!(m->auxdata[a] >= 0))
          HFS_FAIL(HFS_ERR_MODEL, "%s: %s: auxdata of '%s' must be >= 0", s->file, where, buf);
        ++a;
      }
    }
  }
cleanup:
  return rc;
}

static int set_poi(builder *b, hfs_model *m) {
  const hfs_spec *s = b->spec;
  pset *p = find_pset(b, b->meas->poi);
  if (!p)
    return hfs_error_set(HFS_ERR_MODEL,
                         "%s: %s.config.poi: POI '%s' is not defined by any "
                         "modifier",
                         s->file, b->meas->path, b->meas->poi);
  if (!is_scalar_type(p->type))
    return hfs_error_set(HFS_ERR_MODEL,
                         "%s: %s.config.poi: POI '%s' is a per-bin %s "
                         "parameter; the POI must be a single parameter",
                         s->file, b->meas->path, b->meas->poi, hfs_modtype_name(p->type));
  m->poi = p->first;
  if (m->fixed[m->poi])
    return hfs_error_set(HFS_ERR_MODEL, "%s: %s.config.poi: POI '%s' is fixed; it must float",
                         s->file, b->meas->path, b->meas->poi);
  return HFS_OK;
}

/* Lay out sample blocks and the modifier tables of the hot loop. */
static int build_blocks(builder *b, hfs_model *m, const int *offs, const hfs_model_options *o) {
  const hfs_spec *s = b->spec;
  int rc = HFS_OK;
  int nblocks = 0, nsb = 0, nscal = 0, nnormsys = 0, nhist = 0, nhbins = 0, nbm = 0, npb = 0;
  for (int c = 0; c < s->nchannels; ++c)
    for (int k = 0; k < s->channels[c].nsamples; ++k) {
      const hfs_spec_sample *sa = &s->channels[c].samples[k];
      nblocks++;
      nsb += sa->nbins;
      for (int i = 0; i < sa->nmods; ++i) switch (sa->mods[i].type) {
          case HFS_MOD_NORMSYS: nnormsys++; /* fall through */
          case HFS_MOD_NORMFACTOR:
          case HFS_MOD_LUMI: nscal++; break;
          case HFS_MOD_HISTOSYS:
            nhist++;
            nhbins += sa->nbins;
            break;
          default:
            nbm++;
            npb += sa->nbins;
            break;
        }
    }
  m->nblocks = nblocks;
  m->nsb = nsb;
  m->nscal = nscal;
  m->nnormsys = nnormsys;
  m->nhist = nhist;
  m->nbinmod = nbm;
  HFS_ALLOC(m->blocks, nblocks);
  HFS_ALLOC(m->samp_name, nblocks);
  HFS_ALLOC(m->chan_blk0, s->nchannels + 1);
  HFS_ALLOC(m->nominal, nsb);
  HFS_ALLOC(m->scal, nscal);
  HFS_ALLOC(m->normsys, nnormsys);
  HFS_ALLOC(m->hist, nhist);
  HFS_ALLOC(m->d_up, nhbins);
  HFS_ALLOC(m->d_dn, nhbins);
  HFS_ALLOC(m->binmod, nbm);
  HFS_ALLOC(m->pb_par, npb);
  int ib = 0, isb = 0, is = 0, ins = 0, ih = 0, ihb = 0, ibm = 0, ipb = 0;
  m->max_scal = 1;
  for (int ci = 0; ci < s->nchannels; ++ci) {
    int c = b->chan_order[ci];
    const hfs_spec_channel *ch = &s->channels[c];
    m->chan_blk0[ci] = ib;
    for (int si = 0; si < ch->nsamples; ++si) {
      const hfs_spec_sample *sa = &ch->samples[b->samp_order[ci][si]];
      m->samp_name[ib] = xstrdup(sa->name);
      if (!m->samp_name[ib]) HFS_FAIL(HFS_ERR_NOMEM, "out of memory");
      hfs_sample_block *bl = &m->blocks[ib++];
      bl->bin0 = offs[ci];
      bl->nbins = sa->nbins;
      bl->nom = isb;
      for (int j = 0; j < sa->nbins; ++j) m->nominal[isb + j] = sa->data[j];
      isb += sa->nbins;
      bl->s0 = is;
      for (int i = 0; i < sa->nmods; ++i) {
        const hfs_spec_modifier *md = &sa->mods[i];
        if (md->type != HFS_MOD_NORMFACTOR && md->type != HFS_MOD_LUMI &&
            md->type != HFS_MOD_NORMSYS)
          continue;
        m->scal[is].par = find_pset(b, md->name)->first;
        m->scal[is].normsys = -1;
        if (md->type == HFS_MOD_NORMSYS) {
          if (hfs_normsys_prepare(&m->normsys[ins], o->normsys_code, md->lo, md->hi) != 0)
            HFS_FAIL(HFS_ERR_MODEL,
                     "%s: %s.data: normsys factors hi=%g, lo=%g must be > 0 "
                     "for interpolation code %d",
                     s->file, md->path, md->hi, md->lo, o->normsys_code);
          m->scal[is].normsys = ins++;
        }
        ++is;
      }
      bl->s1 = is;
      if (bl->s1 - bl->s0 > m->max_scal) m->max_scal = bl->s1 - bl->s0;
      bl->h0 = ih;
      for (int i = 0; i < sa->nmods; ++i) {
        const hfs_spec_modifier *md = &sa->mods[i];
        if (md->type != HFS_MOD_HISTOSYS) continue;
        m->hist[ih].par = find_pset(b, md->name)->first;
        m->hist[ih].off = ihb;
        for (int j = 0; j < sa->nbins; ++j) {
          m->d_up[ihb + j] = md->hi_data[j] - sa->data[j];
          m->d_dn[ihb + j] = sa->data[j] - md->lo_data[j];
        }
        ihb += sa->nbins;
        ++ih;
      }
      bl->h1 = ih;
      bl->b0 = ibm;
      for (int i = 0; i < sa->nmods; ++i) {
        const hfs_spec_modifier *md = &sa->mods[i];
        if (md->type != HFS_MOD_STATERROR && md->type != HFS_MOD_SHAPESYS &&
            md->type != HFS_MOD_SHAPEFACTOR)
          continue;
        const pset *p = find_pset(b, md->name);
        m->binmod[ibm].off = ipb;
        for (int j = 0; j < sa->nbins; ++j) {
          int local = md->type == HFS_MOD_STATERROR ? p->bin_index[offs[ci] + j] : j;
          m->pb_par[ipb + j] = p->first + local;
        }
        ipb += sa->nbins;
        ++ibm;
      }
      bl->b1 = ibm;
    }
  }
  m->chan_blk0[s->nchannels] = ib;
cleanup:
  return rc;
}

static int check_totals(builder *b, hfs_model *m, const int *offs) {
  const hfs_spec *s = b->spec;
  int rc = HFS_OK;
  double *tot = NULL;
  HFS_ALLOC(tot, m->nbins);
  for (int i = 0; i < m->nblocks; ++i)
    for (int j = 0; j < m->blocks[i].nbins; ++j)
      tot[m->blocks[i].bin0 + j] += m->nominal[m->blocks[i].nom + j];
  for (int ci = 0; ci < s->nchannels; ++ci) {
    const hfs_spec_channel *ch = &s->channels[b->chan_order[ci]];
    for (int j = 0; j < ch->nbins; ++j)
      if (tot[offs[ci] + j] < 0)
        HFS_FAIL(HFS_ERR_MODEL, "%s: %s: bin %d: total nominal expectation %g is negative", s->file,
                 ch->path, j, tot[offs[ci] + j]);
  }
cleanup:
  free(tot);
  return rc;
}

/* The Hessian structure of hfs_model_structure: a parameter is local to bin
 * g when it enters per-bin factors of bin g only.  Bins are visited in
 * order, so blocks come in bin order and their parameters ascend. */
static int build_structure(hfs_model *m) {
  int rc = HFS_OK;
  int *touch = NULL, *cnt = NULL;
  HFS_ALLOC(touch, m->npar);
  HFS_ALLOC(cnt, m->nbins);
  /* touch[q]: -1 no bin yet, g >= 0 only bin g, -2 shared */
  for (int q = 0; q < m->npar; ++q) touch[q] = -1;
  for (int i = 0; i < m->nblocks; ++i) {
    const hfs_sample_block *bl = &m->blocks[i];
    for (int k = bl->s0; k < bl->s1; ++k) touch[m->scal[k].par] = -2;
    for (int k = bl->h0; k < bl->h1; ++k) touch[m->hist[k].par] = -2;
  }
  for (int i = 0; i < m->nblocks; ++i) {
    const hfs_sample_block *bl = &m->blocks[i];
    for (int k = bl->b0; k < bl->b1; ++k)
      for (int j = 0; j < bl->nbins; ++j) {
        int q = m->pb_par[m->binmod[k].off + j], g = bl->bin0 + j;
        if (touch[q] == -1)
          touch[q] = g;
        else if (touch[q] != g)
          touch[q] = -2;
      }
  }
  int nsh = 0, nloc = 0, nbl = 0;
  for (int q = 0; q < m->npar; ++q) {
    if (touch[q] >= 0) {
      if (cnt[touch[q]]++ == 0) nbl++;
      nloc++;
    } else {
      nsh++;
    }
  }
  m->st_nshared = nsh;
  m->st_nblocks = nbl;
  HFS_ALLOC(m->st_shared, nsh > 0 ? nsh : 1);
  HFS_ALLOC(m->st_block_off, nbl + 1);
  HFS_ALLOC(m->st_block_par, nloc > 0 ? nloc : 1);
  HFS_ALLOC(m->st_block_bin, nbl > 0 ? nbl : 1);
  nsh = 0;
  for (int q = 0; q < m->npar; ++q)
    if (touch[q] < 0) m->st_shared[nsh++] = q;
  int b = 0, off = 0;
  for (int g = 0; g < m->nbins; ++g) {
    if (!cnt[g]) continue;
    m->st_block_bin[b] = g;
    m->st_block_off[b] = off;
    for (int q = 0; q < m->npar; ++q)
      if (touch[q] == g) m->st_block_par[off++] = q;
    ++b;
  }
  m->st_block_off[nbl] = off;
cleanup:
  free(touch);
  free(cnt);
  return rc;
}

int hfs_model_create(const hfs_spec *s, const char *measurement, const hfs_model_options *opts,
                     hfs_model **out) {
  int rc = HFS_OK;
  builder b;
  hfs_model *m = NULL;
  int *offs = NULL;
  hfs_model_options o = HFS_MODEL_OPTIONS_DEFAULT;
  memset(&b, 0, sizeof b);
  *out = NULL;
  if (opts) o = *opts;
  if (o.normsys_code != 0 && o.normsys_code != 1 && o.normsys_code != 2 && o.normsys_code != 4)
    HFS_FAIL(HFS_ERR_ARG, "normsys interpolation code %d: use 0, 1, 2 or 4", o.normsys_code);
  if (o.histosys_code != 0 && o.histosys_code != 2 && o.histosys_code != 4)
    HFS_FAIL(HFS_ERR_ARG, "histosys interpolation code %d: use 0, 2 or 4 (= code4p)",
             o.histosys_code);
  b.spec = s;
  if (s->nmeas == 0) HFS_FAIL(HFS_ERR_MODEL, "%s: measurements: no measurement", s->file);
  if (measurement) {
    b.meas = hfs_spec_measurement_find(s, measurement);
    if (!b.meas) {
      char names[512] = "";
      for (int k = 0; k < s->nmeas; ++k) {
        size_t l = strlen(names);
        snprintf(names + l, sizeof names - l, "%s'%s'", k ? ", " : "", s->meas[k].name);
      }
      HFS_FAIL(HFS_ERR_NOT_FOUND, "%s: measurements: no measurement named '%s' (available: %s)",
               s->file, measurement, names);
    }
  } else {
    b.meas = &s->meas[0];
  }

  HFS_ALLOC(m, 1);
  m->histosys_code = o.histosys_code;
  m->measurement = xstrdup(b.meas->name);
  HFS_ALLOC(b.chan_order, s->nchannels);
  HFS_ALLOC(b.samp_order, s->nchannels);
  HFS_CHECK(order_by_name(b.chan_order, s->nchannels, s->channels, sizeof *s->channels,
                          offsetof(hfs_spec_channel, name)));
  HFS_ALLOC(offs, s->nchannels);
  m->nchan = s->nchannels;
  HFS_ALLOC(m->chan_name, s->nchannels);
  HFS_ALLOC(m->chan_off, s->nchannels);
  HFS_ALLOC(m->chan_nbins, s->nchannels);
  int nbins = 0, total_mods = 0;
  for (int ci = 0; ci < s->nchannels; ++ci) {
    const hfs_spec_channel *ch = &s->channels[b.chan_order[ci]];
    offs[ci] = nbins;
    m->chan_name[ci] = xstrdup(ch->name);
    m->chan_off[ci] = nbins;
    m->chan_nbins[ci] = ch->nbins;
    nbins += ch->nbins;
    HFS_ALLOC(b.samp_order[ci], ch->nsamples);
    for (int k = 0; k < ch->nsamples; ++k) {
      b.samp_order[ci][k] = k;
      total_mods += ch->samples[k].nmods;
    }
    HFS_CHECK(order_by_name(b.samp_order[ci], ch->nsamples, ch->samples, sizeof *ch->samples,
                            offsetof(hfs_spec_sample, name)));
  }
  m->nbins = nbins;
  HFS_ALLOC(m->observed, nbins);
  for (int ci = 0; ci < s->nchannels; ++ci) {
    const hfs_spec_channel *ch = &s->channels[b.chan_order[ci]];
    const hfs_spec_observation *ob = hfs_spec_observation_find(s, ch->name);
    if (!ob)
      HFS_FAIL(HFS_ERR_MODEL, "%s: %s: no observation named '%s'", s->file, ch->path, ch->name);
    if (ob->nbins != ch->nbins)
      HFS_FAIL(HFS_ERR_MODEL, "%s: %s.data: %d observed bins but channel '%s' has %d", s->file,
               ob->path, ob->nbins, ch->name, ch->nbins);
    for (int j = 0; j < ch->nbins; ++j) m->observed[offs[ci] + j] = ob->data[j];
  }

  HFS_ALLOC(b.ps, total_mods);
  HFS_CHECK(discover(&b));
  HFS_CHECK(size_psets(&b, offs, nbins));
  HFS_CHECK(apply_config(&b));
  HFS_CHECK(flatten_params(&b, m));
  HFS_CHECK(set_poi(&b, m));
  HFS_CHECK(build_blocks(&b, m, offs, &o));
  HFS_CHECK(check_totals(&b, m, offs));
  HFS_CHECK(build_structure(m));

  HFS_ALLOC(m->nu, nbins);
  HFS_ALLOC(m->wbin, nbins);
  HFS_ALLOC(m->sb_A, m->nsb);
  HFS_ALLOC(m->sb_G, m->nsb);
  HFS_ALLOC(m->tmp, 2 * (m->max_scal > m->npar ? m->max_scal : m->npar) + 2);
  HFS_CHECK(hfs__model_compile(m, o.normsys_code));
  HFS_ALLOC(m->cache_data, nbins + m->naux);
  *out = m;
  m = NULL;
cleanup:
  if (b.ps)
    for (int i = 0; i < b.nps; ++i) {
      pset *p = &b.ps[i];
      free(p->bin_index);
      free(p->init);
      free(p->lo);
      free(p->hi);
      free(p->aux);
      free(p->sigma);
      free(p->tau);
      free(p->fixed);
    }
  free(b.ps);
  if (b.samp_order)
    for (int c = 0; c < s->nchannels; ++c) free(b.samp_order[c]);
  free(b.samp_order);
  free(b.chan_order);
  free(offs);
  hfs_model_destroy(&m);
  return rc;
}

void hfs_model_destroy(hfs_model **mp) {
  if (!mp || !*mp) return;
  hfs_model *m = *mp;
  if (m->par_name)
    for (int i = 0; i < m->npar; ++i) free(m->par_name[i]);
  if (m->chan_name)
    for (int i = 0; i < m->nchan; ++i) free(m->chan_name[i]);
  if (m->samp_name)
    for (int i = 0; i < m->nblocks; ++i) free(m->samp_name[i]);
  free(m->samp_name);
  free(m->chan_blk0);
  free(m->st_shared);
  free(m->st_block_off);
  free(m->st_block_par);
  free(m->st_block_bin);
  hfs__model_compiled_free(m);
  free(m->measurement);
  free(m->par_name);
  free(m->init);
  free(m->lo);
  free(m->hi);
  free(m->sigma);
  free(m->tau);
  free(m->prefit);
  free(m->fixed);
  free(m->aux_index);
  free(m->constr);
  free(m->ptype);
  free(m->chan_name);
  free(m->chan_off);
  free(m->chan_nbins);
  free(m->observed);
  free(m->auxdata);
  free(m->aux_par);
  free(m->aux_lognorm);
  free(m->blocks);
  free(m->nominal);
  free(m->scal);
  free(m->normsys);
  free(m->hist);
  free(m->d_up);
  free(m->d_dn);
  free(m->binmod);
  free(m->pb_par);
  free(m->nu);
  free(m->wbin);
  free(m->sb_A);
  free(m->sb_G);
  free(m->tmp);
  free(m->cache_data);
  free(m);
  *mp = NULL;
}
