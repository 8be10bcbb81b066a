/* hfscan-genws: writes hfscan's default input, a pyhf 1.0.0 workspace that
 * looks like the Belle II inclusive-tag search for B+ -> K+ nu nubar
 * (arXiv:2311.14647) without reusing any of its numbers.
 *
 * The model has two channels over the same 4 x 3 grid:
 *
 *   onres_bdt2_x_ptk   on-resonance data, Upsilon(4S), 362 fb^-1:
 *                      signal, charged_B, mixed_B, ccbar, uds, tautau
 *   offres_bdt2_x_ptk  off-resonance data, 60 MeV below, 42.3 fb^-1:
 *                      ccbar, uds, tautau (no B mesons below threshold)
 *
 * Bins are BDT2 output (4 bins) x pT(K) (3 bins), flattened row-major with
 * BDT2 as the slow index: bin = 3 * i_bdt2 + i_ptk.  The edges are in
 * k_bdt2_edges and k_ptk_edges below.
 *
 * Everything the workspace contains is computed from the tables below and
 * from three random streams derived from one seed, so that a seed names the
 * file exactly: the random integers are the same everywhere, and writing 10
 * significant digits hides last-bit differences of libm or compilers (see
 * docs/inputs.md, which also describes the physics and the numbers). */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <jansson.h>

#define N_BDT2 4
#define N_PTK 3
#define N_BIN (N_BDT2 * N_PTK)
#define DEFAULT_SEED 20231124UL
#define DEFAULT_MU_OBS 4.5

enum { CH_ON, CH_OFF, N_CH };
#define ON (1u << CH_ON)
#define OFF (1u << CH_OFF)
#define BOTH (ON | OFF)

static const char *const k_channel_name[N_CH] = {"onres_bdt2_x_ptk", "offres_bdt2_x_ptk"};

/* The binning's labels, shown by --help: the generator works with bin
 * indices only. */
static const double k_bdt2_edges[N_BDT2 + 1] = {0.92, 0.95, 0.97, 0.99, 1.00};
static const double k_ptk_edges[N_PTK + 1] = {0.5, 1.5, 2.2, 3.5}; /* GeV/c */

/* The off-resonance sample is 42.3 fb^-1 against 362 fb^-1 on the
 * Upsilon(4S).  The continuum cross-section scales as 1/s, and the
 * off-resonance energy is 60 MeV lower: (10.58 / 10.52)^2 = 1.0114. */
static const double k_lumi_ratio = 42.3 / 362.0;
static const double k_xsec_ratio = (10.58 / 10.52) * (10.58 / 10.52);

/* Kaons from continuum events are slightly softer off resonance because the
 * beams carry less energy: a -2 % tilt across pT(K), applied to the
 * off-resonance expectation only. */
static const double k_offres_ptk_tilt = -0.02;

enum { S_SIGNAL, S_CHARGED_B, S_MIXED_B, S_CCBAR, S_UDS, S_TAUTAU, N_SAMPLE };

/* The expected yield of a sample in bin (i, j) is
 *   yield * bdt2[i] * ptk[j] * (1 + corr * u_i * v_j),
 * normalised to `yield` over the 12 bins, where u_i runs from -1 (lowest
 * BDT2 bin) to +1 (highest) and v_j from -1 to +1 over pT(K).  corr lets the
 * pT(K) spectrum change with BDT2: the classifier prefers hard kaons in
 * signal, and soft kaons from D decays survive in B backgrounds.
 *
 * mc_scale is the simulated sample's size in units of the data luminosity.
 * The template is a Poisson draw of mc_scale * expected MC events, weighted
 * by 1 / mc_scale, and its staterror is sqrt(N_MC) / mc_scale: the large
 * signal sample has little statistical noise, the continuum samples (the
 * hardest to simulate in quantity) a lot in the high-BDT2 bins. */
struct sample_def {
  const char *name;
  double yield;        /* expected on-resonance events, signal at mu = 1 */
  double bdt2[N_BDT2]; /* relative density over BDT2, low to high */
  double ptk[N_PTK];   /* relative density over pT(K), low to high */
  double corr;         /* BDT2 x pT(K) correlation, |corr| < 1 */
  double mc_scale;     /* simulated luminosity / data luminosity */
  unsigned channels;   /* ON, OFF or BOTH */
};

static const struct sample_def k_samples[N_SAMPLE] = {
    /* Signal peaks at high BDT2 and at moderate kaon momentum: the
     * three-body decay with two neutrinos gives pT(K) of 1.5-2.2 GeV/c most
     * often.  At mu = 1 (the SM branching fraction) about 135 events. */
    {"signal", 135.0, {0.12, 0.20, 0.30, 0.38}, {0.29, 0.46, 0.25}, 0.25, 20.0, ON},
    /* B+ B- events: B+ -> D0 l nu with D0 -> K+ K_L and friends, semileptonic
     * decays with missing energy.  Falls slowly with BDT2, soft kaons. */
    {"charged_B", 3300.0, {0.31, 0.27, 0.23, 0.19}, {0.52, 0.32, 0.16}, -0.15, 3.0, ON},
    /* B0 B0bar events: fewer kaons of the right charge, softer spectrum. */
    {"mixed_B", 1900.0, {0.35, 0.28, 0.22, 0.15}, {0.55, 0.31, 0.14}, -0.10, 3.0, ON},
    /* e+e- -> c cbar: falls steeply with BDT2 (the continuum suppression),
     * kaons from charm decays are hard. */
    {"ccbar", 1900.0, {0.44, 0.29, 0.18, 0.09}, {0.36, 0.34, 0.30}, 0.10, 1.6, BOTH},
    /* e+e- -> u ubar, d dbar, s sbar: falls fastest, leading kaons from
     * fragmentation are the hardest of all. */
    {"uds", 2400.0, {0.48, 0.28, 0.16, 0.08}, {0.27, 0.33, 0.40}, 0.20, 1.2, BOTH},
    /* e+e- -> tau+ tau-: small, one-prong tau decays to K+ nu. */
    {"tautau", 110.0, {0.40, 0.29, 0.19, 0.12}, {0.38, 0.36, 0.26}, 0.0, 1.5, BOTH},
};

/* The off-resonance simulation is a separate, smaller production: it is
 * mc_scale_offres times the off-resonance luminosity. */
static const double k_mc_scale_offres = 5.0;

/* hi and lo are the factors at alpha = +1 and -1.  Samples in `samples`
 * carry the modifier in every channel listed in `channels`. */
struct normsys_def {
  const char *name;
  double hi, lo;
  unsigned samples; /* bit mask over S_* */
  unsigned channels;
};

#define BIT(s) (1u << (s))
#define B_SAMPLES (BIT(S_SIGNAL) | BIT(S_CHARGED_B) | BIT(S_MIXED_B))
#define CONT_SAMPLES (BIT(S_CCBAR) | BIT(S_UDS) | BIT(S_TAUTAU))

static const struct normsys_def k_normsys[] = {
    /* Background normalisations: loose priors, the data decide.  The
     * continuum ones are shared by name with the off-resonance channel,
     * which is what makes the off-resonance data useful. */
    {"norm_charged_B", 1.30, 0.70, BIT(S_CHARGED_B), ON},
    {"norm_mixed_B", 1.30, 0.70, BIT(S_MIXED_B), ON},
    {"norm_ccbar", 1.50, 0.50, BIT(S_CCBAR), BOTH},
    {"norm_uds", 1.50, 0.50, BIT(S_UDS), BOTH},
    {"norm_tautau", 1.20, 0.80, BIT(S_TAUTAU), BOTH},
    /* Number of B Bbar pairs, 1.5 %. */
    {"nBB", 1.015, 0.985, B_SAMPLES, ON},
    /* Luminosities of the two data sets, treated as independent. */
    {"lumi_onres", 1.006, 0.994, CONT_SAMPLES, ON},
    {"lumi_offres", 1.007, 0.993, CONT_SAMPLES, OFF},
    /* Extrapolation of continuum cross-sections and selection efficiencies
     * from 10.52 to 10.58 GeV; deliberately asymmetric. */
    {"xsec_offres", 1.020, 0.975, CONT_SAMPLES, OFF},
    /* Signal selection efficiency from B+ -> J/psi K+ with the J/psi removed
     * (embedding); its shape part is the histosys of the same name, so the
     * two share one parameter. */
    {"sig_bdt_eff", 1.030, 0.965, BIT(S_SIGNAL), ON},
};
#define N_NORMSYS (sizeof k_normsys / sizeof k_normsys[0])

/* How the relative change r_b at alpha = +1 varies over the bins; u and v run
 * from -1 to +1 over BDT2 and pT(K). */
enum shape_kind {
  SH_FLAT,        /* r = 1: an efficiency that does not depend on the bin */
  SH_BDT2_RISE,   /* r = (u + 1) / 2: acts only on the signal-like end */
  SH_BDT2_TILT,   /* r = u: moves events along BDT2 */
  SH_PTK_TILT,    /* r = v: moves events along pT(K) */
  SH_PATTERN,     /* r = smooth random surface in (u, v), max |r| = 1: one
                     eigen-component of a correlated uncertainty (PID tables,
                     branching-fraction covariance, reweighting fits) */
  SH_PTK_MIGRATE, /* a fraction `size` of each pT(K) bin moves to the next
                     higher (alpha = +1) or lower (-1) bin: momentum scale */
  SH_BDT2_MIGRATE /* the same along BDT2: classifier calibration */
};

/* size[s] is the typical relative effect on sample s at alpha = +1 (0: the
 * sample does not carry the modifier; negative: anti-correlated).  Every
 * (systematic, sample) pair also gets an asymmetry, drawn uniform in
 * [-0.3, 0.3], that enlarges one side and shrinks the other, and per-bin
 * noise of 10 % of `size` in each variation, as real templates made from
 * finite simulated samples have.  A systematic that a continuum sample
 * carries is applied in both channels with the same shape, under one name. */
struct histosys_def {
  const char *name;
  enum shape_kind shape;
  /*            signal, charged_B, mixed_B, ccbar, uds, tautau */
  double size[N_SAMPLE];
};

static const struct histosys_def k_histosys[] = {
    /* Kaon identification efficiency and pion/lepton misidentification,
     * from the PID correction tables, diagonalised: eight components. */
    {"pid_c1", SH_PATTERN, {0.010, 0.008, 0.008, 0.006, 0.006, 0.008}},
    {"pid_c2", SH_PATTERN, {0.007, 0.006, 0.006, 0.005, 0.005, 0.006}},
    {"pid_c3", SH_PATTERN, {0.005, 0.006, 0.006, 0.008, 0.010, 0.005}},
    {"pid_c4", SH_PATTERN, {0.004, 0.004, 0.004, 0.004, 0.004, 0.004}},
    {"pid_c5", SH_PATTERN, {0.003, 0.004, 0.004, 0.003, 0.003, 0.003}},
    {"pid_c6", SH_PATTERN, {0.002, 0.003, 0.003, 0.002, 0.002, 0.002}},
    {"pid_c7", SH_PATTERN, {0.002, 0.002, 0.002, 0.002, 0.002, 0.002}},
    {"pid_c8", SH_PATTERN, {0.001, 0.001, 0.001, 0.001, 0.001, 0.001}},
    /* Tracking: 0.3 % per track on the signal side, more tracks in the
     * rest of event for B backgrounds. */
    {"trk_eff", SH_FLAT, {0.003, 0.009, 0.009, 0.008, 0.008, 0.006}},
    {"trk_mom_scale", SH_PTK_MIGRATE, {0.004, 0.004, 0.004, 0.004, 0.004, 0.004}},
    /* Neutral reconstruction in the rest of event, which the classifier
     * uses heavily: photon efficiency and energy scale, hadronic split-offs
     * (the largest detector effect), K_L in the KLM and its ECL response,
     * and the energy scale of hadronic clusters. */
    {"photon_eff", SH_BDT2_TILT, {0.006, 0.012, 0.012, 0.015, 0.015, 0.010}},
    {"photon_energy_scale", SH_PATTERN, {0.005, 0.010, 0.010, 0.012, 0.012, 0.008}},
    {"neutral_hadron_eff", SH_BDT2_RISE, {0.030, 0.040, 0.040, 0.050, 0.050, 0.030}},
    {"kl_eff", SH_BDT2_RISE, {0.005, 0.030, 0.025, 0.010, 0.010, 0.000}},
    {"kl_ecl_response", SH_PATTERN, {0.000, 0.025, 0.020, 0.000, 0.000, 0.000}},
    {"hadron_energy_scale", SH_PATTERN, {0.010, 0.020, 0.020, 0.025, 0.025, 0.015}},
    /* Beam-induced background overlay and fake tracks in the rest of
     * event. */
    {"beam_bkg", SH_BDT2_TILT, {0.008, 0.010, 0.010, 0.012, 0.012, 0.010}},
    {"fake_tracks", SH_BDT2_RISE, {0.004, 0.010, 0.010, 0.015, 0.015, 0.010}},
    /* First-stage classifier and BDT2 calibration, from the B+ -> J/psi K+
     * embedding and off-resonance data. */
    {"bdt1_eff", SH_FLAT, {0.010, 0.012, 0.012, 0.015, 0.015, 0.012}},
    {"bdt2_calib", SH_BDT2_MIGRATE, {0.020, 0.020, 0.020, 0.020, 0.020, 0.020}},
    /* Signal modelling: B -> K form factors (three eigen-components, they
     * move the kaon spectrum), the BDT2 efficiency shape from embedding
     * (shares its name with the normsys above) and the rest-of-event
     * modelling of the other B. */
    {"ff_c1", SH_PTK_TILT, {0.040, 0, 0, 0, 0, 0}},
    {"ff_c2", SH_PATTERN, {0.020, 0, 0, 0, 0, 0}},
    {"ff_c3", SH_PATTERN, {0.010, 0, 0, 0, 0, 0}},
    {"sig_bdt_eff", SH_BDT2_TILT, {0.030, 0, 0, 0, 0, 0}},
    {"sig_roe_model", SH_PATTERN, {0.020, 0, 0, 0, 0, 0}},
    /* Branching fractions of the B decays that leak into the selection
     * (PDG uncertainties scaled by each mode's share of the sample). */
    {"bf_B_to_D_lnu", SH_PATTERN, {0, 0.010, 0.008, 0, 0, 0}},
    {"bf_B_to_Dst_lnu", SH_PATTERN, {0, 0.012, 0.012, 0, 0, 0}},
    {"bf_B_to_Dss_lnu", SH_PATTERN, {0, 0.020, 0.018, 0, 0, 0}},
    {"bf_B_to_Dgap_lnu", SH_PATTERN, {0, 0.015, 0.015, 0, 0, 0}},
    {"bf_B_to_Xu_lnu", SH_PATTERN, {0, 0.006, 0.006, 0, 0, 0}},
    {"bf_B_to_D_taunu", SH_PATTERN, {0, 0.010, 0.008, 0, 0, 0}},
    {"bf_B_to_taunu", SH_BDT2_RISE, {0, 0.010, 0, 0, 0, 0}},
    {"bf_B_to_Kst_nunu", SH_BDT2_RISE, {0, 0.025, 0.010, 0, 0, 0}},
    {"bf_B_to_K_KL_KL", SH_BDT2_RISE, {0, 0.060, 0, 0, 0, 0}},
    {"bf_B_to_K_KS_KL", SH_BDT2_RISE, {0, 0.010, 0.015, 0, 0, 0}},
    /* The p-wave share of B+ -> K+ K_S K_L sets its kaon spectrum. */
    {"kskl_pwave", SH_PTK_TILT, {0, 0.010, 0.008, 0, 0, 0}},
    {"bf_B_to_K_n_nbar", SH_BDT2_RISE, {0, 0.020, 0, 0, 0, 0}},
    {"bf_B_to_D_K", SH_PATTERN, {0, 0.010, 0.006, 0, 0, 0}},
    {"bf_B_to_D_Ds", SH_PATTERN, {0, 0.008, 0.008, 0, 0, 0}},
    {"bf_B_hadronic_other", SH_PATTERN, {0, 0.015, 0.015, 0, 0, 0}},
    {"bf_D_to_KL_X", SH_BDT2_RISE, {0, 0.045, 0.050, 0, 0, 0}},
    {"bf_D_to_K_lnu", SH_PATTERN, {0, 0.010, 0.010, 0, 0, 0}},
    {"bf_D_unmeasured", SH_PATTERN, {0, 0.020, 0.025, 0, 0, 0}},
    {"bf_Ds_to_taunu", SH_PATTERN, {0, 0.005, 0.005, 0, 0, 0}},
    /* B background modelling beyond branching fractions: semileptonic form
     * factors, the D** line shapes, and f+-/f00 which moves events from
     * mixed to charged. */
    {"slB_ff", SH_PTK_TILT, {0, 0.025, 0.025, 0, 0, 0}},
    {"dss_model", SH_PATTERN, {0, 0.025, 0.020, 0, 0, 0}},
    {"f_pm_f00", SH_FLAT, {0, 0.012, -0.012, 0, 0, 0}},
    /* Continuum: the simulation mismodels the BDT2 response; a reweighting
     * fitted to off-resonance data leaves four eigen-components.  Also the
     * kaon spectrum, charm fragmentation and the s sbar share of uds. */
    {"cont_bdt2_c1", SH_BDT2_TILT, {0, 0, 0, 0.120, 0.150, 0}},
    {"cont_bdt2_c2", SH_PATTERN, {0, 0, 0, 0.080, 0.100, 0}},
    {"cont_bdt2_c3", SH_PATTERN, {0, 0, 0, 0.040, 0.050, 0}},
    {"cont_bdt2_c4", SH_PATTERN, {0, 0, 0, 0.020, 0.030, 0}},
    {"cont_ptk", SH_PTK_TILT, {0, 0, 0, 0.050, 0.060, 0}},
    {"cont_frag_ccbar", SH_PATTERN, {0, 0, 0, 0.050, 0, 0}},
    {"cont_ss_fraction", SH_PTK_TILT, {0, 0, 0, 0, 0.060, 0}},
    {"cont_kaon_mult", SH_FLAT, {0, 0, 0, 0.030, 0.040, 0}},
    /* tau pairs: decay modelling and the 1-prong branching fractions. */
    {"tautau_decay_model", SH_PATTERN, {0, 0, 0, 0, 0, 0.100}},
    {"tautau_bf_1prong", SH_FLAT, {0, 0, 0, 0, 0, 0.030}},
};
#define N_HISTOSYS (sizeof k_histosys / sizeof k_histosys[0])

/* Three independent streams, one per purpose, so that changing one part
 * (say, adding a systematic) leaves the others' numbers unchanged. */
enum { STREAM_MC, STREAM_SYST, STREAM_DATA, N_STREAM };

/* SplitMix64 finaliser: turns (seed, stream) into a well-mixed 32-bit seed
 * for MT19937, whose state GSL initialises from the low 32 bits only.
 * Zero is avoided because GSL silently replaces it with 4357. */
static unsigned long stream_seed(unsigned long seed, unsigned stream) {
  uint64_t z = (uint64_t)seed * UINT64_C(0x9E3779B97F4A7C15) + stream + 1;
  z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
  z ^= z >> 31;
  unsigned long s = (unsigned long)(z & UINT64_C(0xffffffff));
  return s ? s : 1;
}

struct templates {
  double truth[N_CH][N_SAMPLE][N_BIN]; /* smooth expectation, mu = 1 */
  double nominal[N_CH][N_SAMPLE][N_BIN];
  double stat[N_CH][N_SAMPLE][N_BIN];
};

static double u_of(int i) { return (2.0 * i - (N_BDT2 - 1)) / (N_BDT2 - 1); }
static double v_of(int j) { return (2.0 * j - (N_PTK - 1)) / (N_PTK - 1); }

static void expected_shape(const struct sample_def *sd, double out[N_BIN]) {
  double sum = 0.0;
  for (int i = 0; i < N_BDT2; i++)
    for (int j = 0; j < N_PTK; j++) {
      double w = sd->bdt2[i] * sd->ptk[j] * (1.0 + sd->corr * u_of(i) * v_of(j));
      out[i * N_PTK + j] = w;
      sum += w;
    }
  for (int b = 0; b < N_BIN; b++) out[b] /= sum;
}

/* Truth expectations and the MC-fluctuated templates drawn from them. */
static void make_templates(gsl_rng *rng, struct templates *t) {
  memset(t, 0, sizeof *t);
  for (int s = 0; s < N_SAMPLE; s++) {
    const struct sample_def *sd = &k_samples[s];
    double shape[N_BIN];
    expected_shape(sd, shape);
    for (int c = 0; c < N_CH; c++) {
      if (!(sd->channels & (1u << c))) continue;
      double scale = c == CH_ON ? sd->mc_scale : k_mc_scale_offres;
      for (int b = 0; b < N_BIN; b++) {
        double expect = sd->yield * shape[b];
        if (c == CH_OFF)
          expect *= k_lumi_ratio * k_xsec_ratio * (1.0 + k_offres_ptk_tilt * v_of(b % N_PTK));
        t->truth[c][s][b] = expect;
        /* An empty template bin would make a zero-yield sample; real
         * workspaces patch those with placeholders, we keep one MC event. */
        unsigned n = gsl_ran_poisson(rng, scale * expect);
        if (n == 0) n = 1;
        t->nominal[c][s][b] = n / scale;
        t->stat[c][s][b] = sqrt((double)n) / scale;
      }
    }
  }
}

/* The relative shape r_b of SH_PATTERN: a random smooth surface
 * a0 + a1 u + a2 v + a3 u v + a4 (v^2 - 2/3), scaled so that max |r| = 1. */
static void pattern_shape(gsl_rng *rng, double r[N_BIN]) {
  double a[5], mx = 0.0;
  for (int k = 0; k < 5; k++) a[k] = gsl_ran_gaussian(rng, 1.0);
  for (int i = 0; i < N_BDT2; i++)
    for (int j = 0; j < N_PTK; j++) {
      double u = u_of(i), v = v_of(j);
      double x = a[0] + a[1] * u + a[2] * v + a[3] * u * v + a[4] * (v * v - 2.0 / 3.0);
      r[i * N_PTK + j] = x;
      if (fabs(x) > mx) mx = fabs(x);
    }
  for (int b = 0; b < N_BIN; b++) r[b] /= mx;
}

/* Moves a fraction f of every bin's content one step along BDT2 (step = N_PTK)
 * or pT(K) (step = 1), upward for dir = +1 and downward for -1; bins at the
 * edge keep what cannot move out. */
static void migrate(const double nom[N_BIN], double f, int dir, int along_bdt2, double out[N_BIN]) {
  memcpy(out, nom, sizeof(double) * N_BIN);
  for (int i = 0; i < N_BDT2; i++)
    for (int j = 0; j < N_PTK; j++) {
      int ti = along_bdt2 ? i + dir : i, tj = along_bdt2 ? j : j + dir;
      if (ti < 0 || ti >= N_BDT2 || tj < 0 || tj >= N_PTK) continue;
      double moved = f * nom[i * N_PTK + j];
      out[i * N_PTK + j] -= moved;
      out[ti * N_PTK + tj] += moved;
    }
}

/* One histosys variation pair for (systematic, sample) in every channel the
 * sample lives in.  hi/lo are indexed [channel][bin]. */
static int make_histosys(gsl_rng *rng, const struct histosys_def *hd, int s,
                         const struct templates *t, double hi[N_CH][N_BIN],
                         double lo[N_CH][N_BIN]) {
  double size = hd->size[s];
  double asym = gsl_ran_flat(rng, -0.3, 0.3);
  double r[N_BIN];
  for (int b = 0; b < N_BIN; b++) r[b] = 1.0;
  for (int i = 0; i < N_BDT2; i++)
    for (int j = 0; j < N_PTK; j++) {
      double *x = &r[i * N_PTK + j];
      switch (hd->shape) {
        case SH_BDT2_RISE: *x = (u_of(i) + 1.0) / 2.0; break;
        case SH_BDT2_TILT: *x = u_of(i); break;
        case SH_PTK_TILT: *x = v_of(j); break;
        default: break;
      }
    }
  if (hd->shape == SH_PATTERN) pattern_shape(rng, r);

  for (int c = 0; c < N_CH; c++) {
    if (!(k_samples[s].channels & (1u << c))) continue;
    const double *nom = t->nominal[c][s];
    if (hd->shape == SH_PTK_MIGRATE || hd->shape == SH_BDT2_MIGRATE) {
      int along = hd->shape == SH_BDT2_MIGRATE;
      migrate(nom, size * (1.0 + asym), +1, along, hi[c]);
      migrate(nom, size * (1.0 - asym), -1, along, lo[c]);
    } else {
      for (int b = 0; b < N_BIN; b++) {
        hi[c][b] = nom[b] * (1.0 + size * r[b] * (1.0 + asym));
        lo[c][b] = nom[b] * (1.0 - size * r[b] * (1.0 - asym));
      }
    }
    /* Finite-sample noise of the varied templates, independent per side. */
    for (int b = 0; b < N_BIN; b++) {
      hi[c][b] *= 1.0 + gsl_ran_gaussian(rng, 0.1 * fabs(size));
      lo[c][b] *= 1.0 + gsl_ran_gaussian(rng, 0.1 * fabs(size));
      if (!(hi[c][b] > 0.0) || !(lo[c][b] > 0.0)) {
        fprintf(stderr, "hfscan-genws: histosys %s on %s bin %d: template not positive\n", hd->name,
                k_samples[s].name, b);
        return -1;
      }
    }
  }
  return 0;
}

static json_t *real_array(const double *x, int n) {
  json_t *a = json_array();
  for (int k = 0; a && k < n; k++)
    if (json_array_append_new(a, json_real(x[k])) != 0) {
      json_decref(a);
      return NULL;
    }
  return a;
}

/* The name lives in a static buffer: json_pack copies it at once. */
static const char *staterror_name(int s, int c) {
  static char buf[128];
  snprintf(buf, sizeof buf, "staterror_%s_%s", k_samples[s].name, k_channel_name[c]);
  return buf;
}

/* Appends every modifier of sample s in channel c, in a fixed order:
 * normfactor, normsys, histosys, staterror. */
static int add_modifiers(json_t *mods, int s, int c, const struct templates *t,
                         double hs_hi[][N_SAMPLE][N_CH][N_BIN],
                         double hs_lo[][N_SAMPLE][N_CH][N_BIN]) {
  int rc = 0;
  if (s == S_SIGNAL)
    rc |= json_array_append_new(
        mods, json_pack("{s:s, s:s, s:n}", "name", "mu", "type", "normfactor", "data"));
  for (size_t k = 0; k < N_NORMSYS; k++) {
    const struct normsys_def *nd = &k_normsys[k];
    if (!(nd->samples & BIT(s)) || !(nd->channels & (1u << c))) continue;
    rc |=
        json_array_append_new(mods, json_pack("{s:s, s:s, s:{s:f, s:f}}", "name", nd->name, "type",
                                              "normsys", "data", "hi", nd->hi, "lo", nd->lo));
  }
  for (size_t k = 0; k < N_HISTOSYS; k++) {
    if (k_histosys[k].size[s] == 0.0) continue;
    rc |= json_array_append_new(
        mods, json_pack("{s:s, s:s, s:{s:o, s:o}}", "name", k_histosys[k].name, "type", "histosys",
                        "data", "hi_data", real_array(hs_hi[k][s][c], N_BIN), "lo_data",
                        real_array(hs_lo[k][s][c], N_BIN)));
  }
  rc |=
      json_array_append_new(mods, json_pack("{s:s, s:s, s:o}", "name", staterror_name(s, c), "type",
                                            "staterror", "data", real_array(t->stat[c][s], N_BIN)));
  return rc ? -1 : 0;
}

static json_t *build_workspace(unsigned long seed, double mu_obs) {
  json_t *ws = NULL, *channels = NULL, *observations = NULL;
  gsl_rng *rng[N_STREAM] = {NULL};
  struct templates *t = malloc(sizeof *t);
  double(*hs_hi)[N_SAMPLE][N_CH][N_BIN] = calloc(N_HISTOSYS, sizeof *hs_hi);
  double(*hs_lo)[N_SAMPLE][N_CH][N_BIN] = calloc(N_HISTOSYS, sizeof *hs_lo);
  int ok = 0;
  if (!t || !hs_hi || !hs_lo) goto cleanup;
  for (int k = 0; k < N_STREAM; k++) {
    rng[k] = gsl_rng_alloc(gsl_rng_mt19937);
    if (!rng[k]) goto cleanup;
    gsl_rng_set(rng[k], stream_seed(seed, (unsigned)k));
  }

  make_templates(rng[STREAM_MC], t);
  for (size_t k = 0; k < N_HISTOSYS; k++)
    for (int s = 0; s < N_SAMPLE; s++)
      if (k_histosys[k].size[s] != 0.0 &&
          make_histosys(rng[STREAM_SYST], &k_histosys[k], s, t, hs_hi[k][s], hs_lo[k][s]) != 0)
        goto cleanup;

  channels = json_array();
  observations = json_array();
  if (!channels || !observations) goto cleanup;
  for (int c = 0; c < N_CH; c++) {
    json_t *samples = json_array();
    double obs[N_BIN];
    if (!samples) goto cleanup;
    if (json_array_append_new(
            channels, json_pack("{s:s, s:o}", "name", k_channel_name[c], "samples", samples)) != 0)
      goto cleanup;
    for (int s = 0; s < N_SAMPLE; s++) {
      if (!(k_samples[s].channels & (1u << c))) continue;
      json_t *mods = json_array();
      if (!mods) goto cleanup;
      if (json_array_append_new(
              samples, json_pack("{s:s, s:o, s:o}", "name", k_samples[s].name, "data",
                                 real_array(t->nominal[c][s], N_BIN), "modifiers", mods)) != 0)
        goto cleanup;
      if (add_modifiers(mods, s, c, t, hs_hi, hs_lo) != 0) goto cleanup;
    }
    /* Observed counts: Poisson draws from the smooth truth, not from the
     * MC-fluctuated templates, with the signal scaled to mu_obs. */
    for (int b = 0; b < N_BIN; b++) {
      double expect = 0.0;
      for (int s = 0; s < N_SAMPLE; s++)
        expect += (s == S_SIGNAL ? mu_obs : 1.0) * t->truth[c][s][b];
      obs[b] = (double)gsl_ran_poisson(rng[STREAM_DATA], expect);
    }
    if (json_array_append_new(observations, json_pack("{s:s, s:o}", "name", k_channel_name[c],
                                                      "data", real_array(obs, N_BIN))) != 0)
      goto cleanup;
  }
  ws = json_pack("{s:O, s:[{s:s, s:{s:s, s:[{s:s, s:[[f, f]], s:[f]}]}}], s:O, s:s}", "channels",
                 channels, "measurements", "name", "BelleII_like", "config", "poi", "mu",
                 "parameters", "name", "mu", "bounds", 0.0, 20.0, "inits", 1.0, "observations",
                 observations, "version", "1.0.0");
  ok = ws != NULL;

cleanup:
  if (!ok) fprintf(stderr, "hfscan-genws: could not build the workspace\n");
  json_decref(channels);
  json_decref(observations);
  for (int k = 0; k < N_STREAM; k++) gsl_rng_free(rng[k]);
  free(hs_lo);
  free(hs_hi);
  free(t);
  return ws;
}

static void usage(FILE *f) {
  fprintf(f,
          "usage: hfscan-genws [--seed N] [--mu-obs X] [-o FILE]\n"
          "\n"
          "Writes hfscan's default input, a Belle II B+ -> K+ nu nubar-like pyhf 1.0.0\n"
          "workspace (inputs/belle2_like.json), as JSON.  The same seed gives the same\n"
          "bytes; docs/inputs.md describes the model.\n"
          "\n"
          "  --seed N      seed, 1..4294967295 (default %lu); it fixes the simulated\n"
          "                template fluctuations, the shape-systematic patterns and the\n"
          "                observed counts\n"
          "  --mu-obs X    signal strength injected into the observed counts\n"
          "                (default %g)\n"
          "  -o, --output FILE  write to FILE instead of standard output\n"
          "  -h, --help    show this help\n"
          "\n"
          "Channels: onres_bdt2_x_ptk (6 samples), offres_bdt2_x_ptk (3 samples),\n"
          "12 bins each, bin = 3 * i_BDT2 + i_pT(K).  Measurement BelleII_like, POI mu.\n",
          DEFAULT_SEED, DEFAULT_MU_OBS);
  fprintf(f, "BDT2 edges:");
  for (int i = 0; i <= N_BDT2; i++) fprintf(f, " %g", k_bdt2_edges[i]);
  fprintf(f, "\npT(K) edges (GeV/c):");
  for (int j = 0; j <= N_PTK; j++) fprintf(f, " %g", k_ptk_edges[j]);
  fprintf(f, "\n");
}

static int parse_seed(const char *s, unsigned long *out) {
  char *end = NULL;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || !end || *end || end == s || s[0] == '-' || v == 0 || v > 4294967295ULL) return -1;
  *out = (unsigned long)v;
  return 0;
}

static int parse_double(const char *s, double *out) {
  char *end = NULL;
  errno = 0;
  double v = strtod(s, &end);
  if (errno || !end || *end || end == s || !isfinite(v) || v < 0.0) return -1;
  *out = v;
  return 0;
}

int main(int argc, char **argv) {
  unsigned long seed = DEFAULT_SEED;
  double mu_obs = DEFAULT_MU_OBS;
  const char *out_path = NULL;
  for (int k = 1; k < argc; k++) {
    const char *a = argv[k];
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      usage(stdout);
      return EXIT_SUCCESS;
    }
    if (!strcmp(a, "--seed") || !strcmp(a, "--mu-obs") || !strcmp(a, "-o") ||
        !strcmp(a, "--output")) {
      if (k + 1 >= argc) {
        fprintf(stderr, "hfscan-genws: %s: missing value\n", a);
        return EXIT_FAILURE;
      }
      const char *v = argv[++k];
      if (!strcmp(a, "--seed") && parse_seed(v, &seed) != 0) {
        fprintf(stderr, "hfscan-genws: --seed: expected an integer in 1..4294967295, got '%s'\n",
                v);
        return EXIT_FAILURE;
      }
      if (!strcmp(a, "--mu-obs") && parse_double(v, &mu_obs) != 0) {
        fprintf(stderr, "hfscan-genws: --mu-obs: expected a finite number >= 0, got '%s'\n", v);
        return EXIT_FAILURE;
      }
      if (!strcmp(a, "-o") || !strcmp(a, "--output")) out_path = v;
      continue;
    }
    fprintf(stderr, "hfscan-genws: %s: unknown argument (try --help)\n", a);
    return EXIT_FAILURE;
  }

  /* GSL's default error handler aborts; its routines used here cannot fail
   * on valid arguments, so we turn it off and check results ourselves. */
  gsl_set_error_handler_off();
  json_t *ws = build_workspace(seed, mu_obs);
  if (!ws) return EXIT_FAILURE;

  FILE *f = out_path ? fopen(out_path, "w") : stdout;
  if (!f) {
    fprintf(stderr, "hfscan-genws: %s: %s\n", out_path, strerror(errno));
    json_decref(ws);
    return EXIT_FAILURE;
  }
  /* Ten significant digits: enough to be reproduced exactly, few enough that
   * the last bits of libm on another machine cannot show. */
  int rc = json_dumpf(ws, f, JSON_INDENT(1) | JSON_REAL_PRECISION(10));
  if (rc == 0 && fputc('\n', f) == EOF) rc = -1;
  if (out_path && fclose(f) != 0) rc = -1;
  if (!out_path && fflush(f) != 0) rc = -1;
  json_decref(ws);
  if (rc != 0) {
    fprintf(stderr, "hfscan-genws: %s: write failed\n", out_path ? out_path : "stdout");
    return EXIT_FAILURE;
  }
  return EXIT_SUCCESS;
}
