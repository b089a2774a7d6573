"""CR2 with Satterthwaite df against R clubSandwich 0.5.x (coef_test / linear_contrast)."""

import numpy as np
import pytest

from analysis.stats.clustering import choose_clusters, cr2_contrast, influence_variance


def _data():
    rng = np.random.default_rng(1)
    n = 120
    cluster = rng.integers(0, 9, n)
    x1 = rng.normal(size=n)
    d = (cluster < 4).astype(float)
    y = 1 + 0.5 * x1 + 0.3 * d + rng.normal(size=n) + rng.normal(size=9)[cluster]
    return np.column_stack([np.ones(n), x1, d]), y, cluster


# R: coef_test(lm(y ~ x1 + d), vcov = "CR2", cluster = cl, test = "Satterthwaite")
CLUBSANDWICH = {
    (1, 0, 0): (0.476693399171, 3.40054003742),
    (0, 1, 0): (0.099032654309, 7.34406414390),
    (0, 0, 1): (0.508031524975, 5.94427389045),
    (0, 1, 1): (0.517315950377, 6.526773867870),
}


@pytest.mark.parametrize("contrast", list(CLUBSANDWICH))
def test_cr2_and_satterthwaite_match_clubsandwich(contrast):
    design, y, cluster = _data()
    test = cr2_contrast(design, y, cluster, np.array(contrast, dtype=float))
    se, df = CLUBSANDWICH[contrast]
    assert test.se == pytest.approx(se, rel=1e-8)
    assert test.df == pytest.approx(df, rel=1e-8)
    assert test.clusters == 9


def test_cluster_labels_do_not_matter():
    design, y, cluster = _data()
    c = np.array([0, 0, 1.0])
    a = cr2_contrast(design, y, cluster, c)
    b = cr2_contrast(design, y, np.array([f"site {k}" for k in cluster]), c)
    assert (a.se, a.df) == pytest.approx((b.se, b.df))


def test_influence_variance_sums_within_clusters():
    phi = np.array([1.0, -1.0, 2.0, 0.5])
    variance, df = influence_variance(phi, np.array([0, 0, 1, 1]))
    assert variance == pytest.approx(2 / 1 * (0.0**2 + 2.5**2)) and df == 1
    variance, df = influence_variance(phi, None)
    assert variance == pytest.approx(4 / 3 * float(np.square(phi).sum())) and df == 3


def test_choose_clusters_follows_assignment():
    rng = np.random.default_rng(0)
    site = np.repeat(np.arange(10), 50)
    person = np.arange(500)
    spread = rng.random(500) < 0.4
    assert choose_clusters(person, site, spread).unit == "person"
    rollout = (site < 5) & (rng.random(500) < 0.6)
    choice = choose_clusters(person, site, rollout)
    assert choice.unit == "site" and "some sites" in choice.reason
    concentrated = rng.random(500) < np.where(site < 5, 0.7, 0.15)
    assert choose_clusters(person, site, concentrated).unit == "site"
    assert choose_clusters(person[:150], site[:150], rollout[:150]).unit == "person"  # 3 sites only
