/* Discovery significance from toys: p0 is CLs+b of the background-only
 * (mu = 0) toys, Z = Phi^-1(1 - p0); the expected band from the CLs+b of
 * the mu = 1 toys (pyhf's convention, docs/inference.md). */
#include "toy_notes.h"
#include "cli_json.h"
#include "hfs_toys.h"

#include <math.h>
#include <stdio.h>

void hfs_cli_toy_discovery_print(const hfs_toy_cls *r) {
  double z = hfs_toys_z_from_p(r->clsb);
  if (r->clsb == 0) /* No toy reaches the observed q0: p0 < 1/N, so Z is only bounded. */
    printf(
        "observed   p0 < %.4e   Z > %.4f sigma   (q0 = %.4f; no background-only toy reaches "
        "it: more toys resolve p0)\n",
        r->n_sb ? 1.0 / (double)r->n_sb : NAN,
        hfs_toys_z_from_p(r->n_sb ? 1.0 / (double)r->n_sb : NAN), r->t_obs);
  else
    printf("observed   p0 = %.4e +- %.1e   Z = %.4f sigma   (q0 = %.4f)\n", r->clsb, r->clsb_err, z,
           r->t_obs);
  printf("expected   p0 = %.4e   Z = %.4f sigma   (median, signal at mu = 1)\n", r->clsb_exp[2],
         hfs_toys_z_from_p(r->clsb_exp[2]));
  printf("expected Z -2s %.4f  -1s %.4f  median %.4f  +1s %.4f  +2s %.4f\n",
         hfs_toys_z_from_p(r->clsb_exp[0]), hfs_toys_z_from_p(r->clsb_exp[1]),
         hfs_toys_z_from_p(r->clsb_exp[2]), hfs_toys_z_from_p(r->clsb_exp[3]),
         hfs_toys_z_from_p(r->clsb_exp[4]));
  printf("toys used: %lld background-only, %lld signal; failed toys left out: %lld, %lld\n",
         (long long)r->n_sb, (long long)r->n_b, (long long)r->nfail_sb, (long long)r->nfail_b);
}

void hfs_cli_toy_discovery_json(json_t *obj, const hfs_toy_cls *r) {
  json_object_set_new(obj, "q0", hfs_cli_json_real(r->t_obs));
  json_object_set_new(obj, "p0", hfs_cli_json_real(r->clsb));
  json_object_set_new(obj, "p0_err", hfs_cli_json_real(r->clsb_err));
  json_object_set_new(obj, "Z", hfs_cli_json_real(hfs_toys_z_from_p(r->clsb)));
  /* Z is infinite when no toy reaches q0: give the bound that holds. */
  json_object_set_new(obj, "Z_lower_bound",
                      r->clsb == 0 && r->n_sb
                          ? hfs_cli_json_real(hfs_toys_z_from_p(1.0 / (double)r->n_sb))
                          : json_null());
  json_t *e = json_array();
  for (int k = 0; k < 5; ++k)
    json_array_append_new(e, hfs_cli_json_real(hfs_toys_z_from_p(r->clsb_exp[k])));
  json_object_set_new(obj, "Z_exp", e);
}
