#!/usr/bin/env python3
"""Trains the stripper's block classifier on the rows `blockdata` exports from the dev sets,
reports how it does on pages it was not trained on, and writes the model as JSON.

    cargo run --release -p newsriver-bench --bin blockdata -- --out target/blocks
    python3 crates/bench/scripts/train_blocks.py --data target/blocks \\
        --out crates/stripper/model/blocks.json --folds target/blocks/folds

The model has two stages of boosted trees. The first reads each block's own features; the
second also reads the first stage's opinion of the blocks around it (neighbours, the
block's container, the page), computed from out-of-fold first-stage predictions so that
the second stage learns how far to trust the first on pages it has not seen.

Held-out evidence, two ways:
- by set: for each dev set, a model trained on the other two (written to --folds as
  without-<set>.json, so `eval --classifier FILE --sets <set>` scores whole pages with it);
- by site (--site-folds DIR): grouped 5-fold cross-validation over hosts, each fold's model
  written to DIR with the page list, so `eval --classifier folds:DIR` scores every page
  with the model that never saw its site.

Labels: text-set blocks with at least half of their shingles in the true text are article,
those with at most 15% are not, the ones between are left out; snippet-set blocks are
labelled only where they hold a snippet. Each page weighs the same; within a page a block
weighs by its tokens (the scorer counts shingles), so a page of short blocks is not drowned.
"""
import argparse
import json
import os
import sys

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import GroupKFold

PARAMS = dict(
    max_iter=80,
    learning_rate=0.2,
    max_leaf_nodes=24,
    min_samples_leaf=60,
    l2_regularization=1.0,
    early_stopping=False,
    random_state=7,
)
# News pages (the AEB set) are the product's domain and weigh double; the snippet set
# labels few blocks per page, so its pages count less than pages whose every block is
# labelled. Chosen on site-grouped cross-validation (2/1/0.5 beat 1/1/0.6 and 3/1.2/0.4).
SET_WEIGHT = {"aeb": 2.0, "readability": 1.0, "trafilatura": 0.5}
OOF_FOLDS = 3
SITE_FOLDS = 5


class Data:
    def __init__(self, path):
        self.names = read_names(os.path.join(path, "features.txt"))
        self.context_names = read_names(os.path.join(path, "context.txt"))
        self.x = np.fromfile(os.path.join(path, "features.f32"), dtype="<f4").reshape(-1, len(self.names))
        self.probe = np.fromfile(os.path.join(path, "context_probe.f32"), dtype="<f4").reshape(
            -1, len(self.context_names))
        cols = {k: [] for k in ("set", "page", "host", "block", "label", "tokens", "chars", "parent", "grand")}
        with open(os.path.join(path, "blocks.tsv"), encoding="utf-8") as f:
            header = next(f).rstrip("\n").split("\t")
            for line in f:
                p = line.rstrip("\n").split("\t")
                for k in cols:
                    cols[k].append(p[header.index(k)])
        self.set = np.array(cols["set"])
        self.page = np.array([s + "/" + p for s, p in zip(cols["set"], cols["page"])])
        self.host = np.array(cols["host"])
        self.block = np.array(cols["block"], dtype=int)
        self.label = np.array(cols["label"], dtype=float)
        self.tokens = np.array(cols["tokens"], dtype=int)
        self.chars = np.array(cols["chars"], dtype=int)
        self.parent = np.array(cols["parent"], dtype=int)
        self.grand = np.array(cols["grand"], dtype=int)
        assert len(self.set) == self.x.shape[0] == self.probe.shape[0], "exports disagree"
        # pages as contiguous index ranges, in export order
        self.pages = []
        start = 0
        for i in range(1, len(self.page) + 1):
            if i == len(self.page) or self.page[i] != self.page[start]:
                self.pages.append((start, i))
                start = i


def read_names(path):
    return [l.strip() for l in open(path, encoding="utf-8") if l.strip()]


def context(d, p):
    """The second stage's context features (features::context in the library)."""
    out = np.zeros((len(p), 10), dtype=np.float32)
    p = p.astype(np.float32)
    for a, b in d.pages:
        n = b - a
        pp = p[a:b]
        chars = d.chars[a:b]
        kept = float(chars[pp >= 0.5].sum()) / max(int(chars.sum()), 1)
        for key, col in ((d.parent[a:b], 5), (d.grand[a:b], 7)):
            sums, counts = {}, {}
            for i, k in enumerate(key):
                if k >= 0:
                    sums[k] = sums.get(k, np.float32(0)) + pp[i]
                    counts[k] = counts.get(k, 0) + 1
            for i, k in enumerate(key):
                c = counts.get(k, 0) if k >= 0 else 0
                if c > 1:
                    out[a + i, col] = (sums[k] - pp[i]) / (c - 1)
                    out[a + i, col + 1] = np.log1p(c - 1)
                else:
                    out[a + i, col] = -1.0
                    out[a + i, col + 1] = 0.0
        for i in range(n):
            lo, hi = max(0, i - 3), min(n, i + 4)
            win = np.concatenate([pp[lo:i], pp[i + 1:hi]])
            out[a + i, 0] = pp[i]
            out[a + i, 1] = pp[i - 1] if i > 0 else -1.0
            out[a + i, 2] = pp[i + 1] if i + 1 < n else -1.0
            out[a + i, 3] = win.mean() if len(win) else -1.0
            out[a + i, 4] = win.max() if len(win) else -1.0
            out[a + i, 9] = kept
    return out


def check_context(d):
    probe_p = ((d.block * 37) % 101) / 100.0
    ours = context(d, probe_p)
    diff = np.abs(ours - d.probe).max()
    assert diff < 1e-4, f"context features differ from the library's by {diff}"


def targets(d):
    y = np.full(len(d.label), -1, dtype=int)
    text = d.set != "trafilatura"
    y[text & (d.label >= 0.5)] = 1
    y[text & (d.label >= 0) & (d.label <= 0.15)] = 0
    y[~text & (d.label == 1)] = 1
    y[~text & (d.label == 0)] = 0
    w = np.zeros(len(d.label))
    m = y >= 0
    w[m] = np.where(text[m], d.tokens[m] + 2.0, 1.0)
    for a, b in d.pages:
        idx = np.arange(a, b)[m[a:b]]
        if len(idx):
            w[idx] = w[idx] / w[idx].sum() * SET_WEIGHT[d.set[a]]
    return y, w


# What is known of some features whatever the page: more of the block's text in links, or
# after a "Leave a reply" line, never makes it likelier to be article text; the first
# stage's own verdict never makes it less likely in the second. Trees are free to learn
# anything else, but these directions hold on sites the dev sets lack, where an
# unconstrained tree can wander (a tag cloud of 100 links kept because nothing like it
# was in training).
MONOTONIC = {
    "link_density": -1,
    "window_link_density": -1,
    "parent_link_density": -1,
    "grand_link_density": -1,
    "chrome_line_share": -1,
    "end_marker": -1,
    "end_markers_before": -1,
    "comment_marker_before": -1,
    "p_self": 1,
}


def fit(x, y, w, names):
    cst = [MONOTONIC.get(n, 0) for n in names] if MONOTONIC else None
    clf = HistGradientBoostingClassifier(**PARAMS, monotonic_cst=cst)
    clf.fit(x, y, sample_weight=w)
    return clf


def train(d, y, w, rows):
    """Both stages on the pages of `rows` (a boolean mask over blocks)."""
    lab = rows & (y >= 0)
    stage1 = fit(d.x[lab], y[lab], w[lab], d.names)
    # Out-of-fold first-stage probabilities for every block of the training pages, folds
    # grouped by site.
    oof = np.zeros(len(y))
    idx = np.nonzero(rows)[0]
    for tr, te in GroupKFold(n_splits=OOF_FOLDS).split(idx, groups=d.host[idx]):
        tr_lab = idx[tr][y[idx[tr]] >= 0]
        m = fit(d.x[tr_lab], y[tr_lab], w[tr_lab], d.names)
        oof[idx[te]] = m.predict_proba(d.x[idx[te]])[:, 1]
    ctx = context(d, oof)
    x2 = np.hstack([d.x, ctx])
    stage2 = fit(x2[lab], y[lab], w[lab], d.names + d.context_names)
    return stage1, stage2


def trees(clf):
    out = []
    for (pred,) in clf._predictors:
        nodes = pred.nodes
        leaf = nodes["is_leaf"].astype(bool)
        out.append({
            "feature": [(-1 if l else int(f)) for f, l in zip(nodes["feature_idx"], leaf)],
            "threshold": [float(t) for t in nodes["num_threshold"]],
            "left": [(-1 if l else int(c)) for c, l in zip(nodes["left"], leaf)],
            "right": [(-1 if l else int(c)) for c, l in zip(nodes["right"], leaf)],
            "value": [(float(v) if l else 0.0) for v, l in zip(nodes["value"], leaf)],
        })
    return out


def export(d, stage1, stage2, path, threshold=0.5):
    model = {
        "features": d.names,
        "base_score": float(np.ravel(stage1._baseline_prediction)[0]),
        "trees": trees(stage1),
        "stage2": {
            "features": d.names + d.context_names,
            "base_score": float(np.ravel(stage2._baseline_prediction)[0]),
            "trees": trees(stage2),
        },
        "threshold": threshold,
        "trained_on": "newsriver dev sets (aeb, readability, trafilatura); see train_blocks.py",
    }
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(model, f, separators=(",", ":"))
    return model


def ensemble_predict(e, x):
    """The library's tree evaluation, in Python: checks the export means what sklearn means."""
    raw = np.full(x.shape[0], e["base_score"])
    for t in e["trees"]:
        feat = np.array(t["feature"])
        thr = np.array(t["threshold"], dtype=np.float64)
        left, right, val = np.array(t["left"]), np.array(t["right"]), np.array(t["value"])
        node = np.zeros(x.shape[0], dtype=int)
        active = np.ones(x.shape[0], dtype=bool)
        while active.any():
            f = feat[node]
            leaf = f < 0
            done = active & leaf
            raw[done] += val[node[done]]
            active &= ~leaf
            go_left = x[np.arange(len(node)), np.maximum(f, 0)] <= thr[node]
            node = np.where(active, np.where(go_left, left[node], right[node]), node)
    return 1 / (1 + np.exp(-raw))


def predict(d, model, rows):
    p1 = np.zeros(len(d.set))
    p1[rows] = ensemble_predict(model, d.x[rows])
    ctx = context(d, p1)
    return ensemble_predict(model["stage2"], np.hstack([d.x, ctx])[rows])


def weighted_accuracy(p, y, w):
    return float(((p >= 0.5) == (y == 1)).astype(float) @ w / w.sum())


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="target/blocks")
    ap.add_argument("--out", default="crates/stripper/model/blocks.json")
    ap.add_argument("--folds", help="write leave-one-set-out models here")
    ap.add_argument("--site-folds", help="write site-grouped cross-validation models here")
    ap.add_argument("--params", help="JSON object overriding the boosting parameters")
    ap.add_argument("--no-monotonic", action="store_true", help="train without MONOTONIC constraints")
    ap.add_argument("--set-weights", help="page weight per set, e.g. aeb=2,readability=1,trafilatura=0.5")
    args = ap.parse_args()
    if args.set_weights:
        for item in args.set_weights.split(","):
            k, v = item.split("=")
            SET_WEIGHT[k] = float(v)
    if args.no_monotonic:
        MONOTONIC.clear()
    if args.params:
        PARAMS.update(json.loads(args.params))
    d = Data(args.data)
    check_context(d)
    y, w = targets(d)
    lab = y >= 0
    print(f"{len(y)} blocks, {lab.sum()} labelled ({(y == 1).sum()} article), {len(d.pages)} pages",
          file=sys.stderr)

    if args.folds:
        for held in ("aeb", "readability", "trafilatura"):
            rows = d.set != held
            s1, s2 = train(d, y, w, rows)
            model = export(d, s1, s2, os.path.join(args.folds, f"without-{held}.json"))
            test = ~rows
            p = predict(d, model, test)
            t = lab[test]
            print(f"held out {held:<12} block accuracy (weighted) "
                  f"{weighted_accuracy(p[t], y[test][t], w[test][t]):.4f}", file=sys.stderr)

    if args.site_folds:
        # Grouped by host: no site is in both a fold's training and its test pages. The
        # fold of every page goes to pages.tsv, so `eval --classifier folds:DIR` scores each
        # page with the model that never saw its site.
        os.makedirs(args.site_folds, exist_ok=True)
        accs = []
        blocks = np.arange(len(y))
        with open(os.path.join(args.site_folds, "pages.tsv"), "w", encoding="utf-8") as out:
            for k, (tr, te) in enumerate(GroupKFold(n_splits=SITE_FOLDS).split(blocks, groups=d.host)):
                rows = np.zeros(len(y), dtype=bool)
                rows[tr] = True
                s1, s2 = train(d, y, w, rows)
                model = export(d, s1, s2, os.path.join(args.site_folds, f"site-{k}.json"))
                test = ~rows
                p = predict(d, model, test)
                t = lab[test]
                accs.append(weighted_accuracy(p[t], y[test][t], w[test][t]))
                for page in sorted(set(d.page[test])):
                    s, _, pid = page.partition("/")
                    out.write(f"{s}\t{pid}\t{k}\n")
        print(f"{SITE_FOLDS}-fold by site: block accuracy (weighted) {np.mean(accs):.4f} "
              f"± {np.std(accs):.4f}", file=sys.stderr)

    everything = np.ones(len(y), dtype=bool)
    s1, s2 = train(d, y, w, everything)
    model = export(d, s1, s2, args.out)
    drift = float(np.abs(ensemble_predict(model, d.x[lab]) - s1.predict_proba(d.x[lab])[:, 1]).max())
    assert drift < 1e-4, f"exported model disagrees with sklearn by {drift}"
    p = predict(d, model, everything)
    print(f"all sets: training block accuracy {weighted_accuracy(p[lab], y[lab], w[lab]):.4f}; "
          f"{len(model['trees'])}+{len(model['stage2']['trees'])} trees -> {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
