# Reference CLs at mu=1 (q~mu, asymptotic) for 1Lbb points with pyhf from source (numpy, scipy SLSQP).
import gzip, json, sys, time
import pyhf
ws_file, ps_file = sys.argv[1], sys.argv[2]
names = sys.argv[3:]
bkg = json.load(open(ws_file))
ps = pyhf.PatchSet(json.load(gzip.open(ps_file)))
print("digest", pyhf.utils.digest(bkg), flush=True)
pyhf.set_backend("numpy")
for n in names:
    t = time.time()
    ws = ps.apply(pyhf.Workspace(bkg), n)
    model = ws.model()
    data = ws.data(model)
    obs, exp = pyhf.infer.hypotest(1.0, data, model, test_stat="qtilde", return_expected_set=True)
    print(json.dumps({"name": n, "CLs_obs": float(obs), "CLs_exp": [float(e) for e in exp], "time_s": round(time.time()-t, 1)}), flush=True)
