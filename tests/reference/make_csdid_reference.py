"""Reference values for the group-time estimator from csdid 0.4.3 (PyPI; not a dependency).

Run once, with csdid installed apart from the project (it pins other versions):

    pip install --target /tmp/csdid_env csdid==0.4.3
    PYTHONPATH=/tmp/csdid_env:. python tests/reference/make_csdid_reference.py

Prints the dictionaries stored in tests/stats/test_group_time.py and writes the panel to
/tmp/gt.csv for tests/reference/did_row_reference.R (``Rscript ... /tmp/gt.csv``). The data: the
simulator's ``staggered`` situation with 400 people, no missed waves, seed 11 (balanced,
so csdid's calendar weights equal the cell sizes).
"""

from dataclasses import replace

import pandas as pd
from csdid.att_gt import ATTgt

from tooling.simulate_programs import SITUATIONS, simulate

scenario = replace(SITUATIONS["staggered"], n_people=400, missing_rate=0.0, early_share=0.2)
panel = simulate(scenario, 11).panel
first = panel.loc[panel["participant"]].groupby("person")["wave_index"].min()
data = pd.DataFrame({"id": panel["person"], "t": panel["wave_index"] + 1, "y": panel["cbi_work"]})
data["g"] = panel["person"].map(first + 1).fillna(0).astype(int).to_numpy()
fit = ATTgt(
    yname="y", tname="t", idname="id", gname="g", data=data, control_group="notyettreated", biters=200
).fit(est_method="reg", base_period="varying", bstrap=False)
res = fit.results
cells = {
    (int(g) - 1, int(t) - 1): (float(a), float(s))
    for g, t, a, s in zip(res["group"], res["year"], res["att"], res["se"])
}
print("CELLS =", cells)
for kind in ("dynamic",):
    agg = fit.aggte(typec=kind, bstrap=False).atte
    print(
        kind.upper(),
        "=",
        {
            int(k) - (1 if kind == "calendar" else 0): (float(a), float(s))
            for k, a, s in zip(agg["egt"], agg["att_egt"], agg["se_egt"])
        },
    )
