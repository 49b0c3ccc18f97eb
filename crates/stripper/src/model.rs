//! The block classifier: gradient-boosted regression trees over the rows of `features`,
//! trained offline on the development sets (crates/bench/scripts/train_blocks.py) and
//! shipped inside the binary as JSON.

use std::sync::{Arc, LazyLock};

use serde::Deserialize;

use crate::blocks::Linearized;
use crate::features::{self, Row};

/// The model built into the library.
const BUILTIN: &str = include_str!("../model/blocks.json");

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("model is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error(
        "model was trained on {found} features, this build computes {expected} \
         (first difference at #{index}: {found_name:?} where {expected_name:?} was expected); \
         retrain it with crates/bench/scripts/train_blocks.py"
    )]
    Features {
        expected: usize,
        found: usize,
        index: usize,
        expected_name: String,
        found_name: String,
    },
    #[error("tree {tree} is malformed: {why}")]
    Tree { tree: usize, why: &'static str },
}

#[derive(Deserialize)]
struct TreeJson {
    feature: Vec<i32>,
    threshold: Vec<f32>,
    left: Vec<i32>,
    right: Vec<i32>,
    value: Vec<f32>,
}

#[derive(Deserialize)]
struct EnsembleJson {
    features: Vec<String>,
    base_score: f32,
    trees: Vec<TreeJson>,
}

#[derive(Deserialize)]
struct ModelJson {
    #[serde(flatten)]
    stage1: EnsembleJson,
    stage2: Option<EnsembleJson>,
    #[serde(default = "half")]
    threshold: f32,
}

fn half() -> f32 {
    0.5
}

/// One node of the flattened forest. A split sends a row to `left` when its feature is at
/// most `value`, else to `left + 1` (children are stored side by side); a leaf adds
/// `value` to the log-odds.
#[derive(Debug, Clone, Copy)]
struct Node {
    value: f32,
    /// `LEAF` marks a leaf.
    feature: u16,
    left: u32,
}

const LEAF: u16 = u16::MAX;

/// Rows evaluated together (see `Ensemble::raw_scores`).
const LANES: usize = 8;

/// Boosted trees: the sum of their leaves plus a base, as log-odds. All trees live in one
/// array, each laid out breadth-first, so evaluation walks little memory.
#[derive(Debug, Clone)]
struct Ensemble {
    base_score: f32,
    roots: Vec<u32>,
    nodes: Vec<Node>,
}

impl Ensemble {
    fn from_json(e: EnsembleJson, names: &[&str]) -> Result<Ensemble, ModelError> {
        if e.features
            .iter()
            .map(String::as_str)
            .ne(names.iter().copied())
        {
            let index = e
                .features
                .iter()
                .zip(names)
                .position(|(a, b)| a != b)
                .unwrap_or(e.features.len().min(names.len()));
            return Err(ModelError::Features {
                expected: names.len(),
                found: e.features.len(),
                index,
                expected_name: names.get(index).unwrap_or(&"").to_string(),
                found_name: e.features.get(index).cloned().unwrap_or_default(),
            });
        }
        let mut roots = Vec::with_capacity(e.trees.len());
        let mut nodes = Vec::new();
        for (ti, t) in e.trees.into_iter().enumerate() {
            let bad = |why| ModelError::Tree { tree: ti, why };
            let n = t.feature.len();
            if [
                t.threshold.len(),
                t.left.len(),
                t.right.len(),
                t.value.len(),
            ] != [n; 4]
                || n == 0
            {
                return Err(bad("arrays of different lengths"));
            }
            // Breadth-first from the root, placing each split's children side by side.
            let root = nodes.len();
            roots.push(root as u32);
            let mut queue = std::collections::VecDeque::from([(0usize, root)]);
            nodes.push(Node {
                value: 0.0,
                feature: LEAF,
                left: 0,
            });
            let mut seen = 1usize;
            while let Some((src, dst)) = queue.pop_front() {
                if t.feature[src] < 0 {
                    nodes[dst] = Node {
                        value: t.value[src],
                        feature: LEAF,
                        left: 0,
                    };
                    continue;
                }
                let f = t.feature[src] as usize;
                if f >= names.len() {
                    return Err(bad("feature index out of range"));
                }
                let (l, r) = (t.left[src], t.right[src]);
                // Children come after their parent and every node is reached once, so
                // the layout is a tree and evaluation always ends.
                if l <= src as i32 || r <= src as i32 || l as usize >= n || r as usize >= n {
                    return Err(bad("child index out of order"));
                }
                seen += 2;
                if seen > n {
                    return Err(bad("a node is reached twice"));
                }
                let left = nodes.len();
                nodes.push(Node {
                    value: 0.0,
                    feature: LEAF,
                    left: 0,
                });
                nodes.push(Node {
                    value: 0.0,
                    feature: LEAF,
                    left: 0,
                });
                nodes[dst] = Node {
                    value: t.threshold[src],
                    feature: f as u16,
                    left: left as u32,
                };
                queue.push_back((l as usize, left));
                queue.push_back((r as usize, left + 1));
            }
        }
        Ok(Ensemble {
            base_score: e.base_score,
            roots,
            nodes,
        })
    }

    /// Log-odds of every row, tree by tree (one tree's nodes stay in cache for all rows).
    fn raw_scores<R: AsRef<[f32]>>(&self, rows: &[R]) -> Vec<f32> {
        let mut raw = vec![self.base_score; rows.len()];
        for &root in &self.roots {
            // Several rows walk the tree in step: their node loads are independent, so the
            // processor overlaps them instead of waiting on one walk's chain of loads.
            for (raw, rows) in raw.chunks_mut(LANES).zip(rows.chunks(LANES)) {
                let mut at = [root; LANES];
                loop {
                    let mut moved = false;
                    for (at, row) in at.iter_mut().zip(rows) {
                        let node = self.nodes[*at as usize];
                        if node.feature != LEAF {
                            // Every feature is always computed: there are no missing values.
                            let right = u32::from(row.as_ref()[node.feature as usize] > node.value);
                            *at = node.left + right;
                            moved = true;
                        }
                    }
                    if !moved {
                        break;
                    }
                }
                for (r, at) in raw.iter_mut().zip(at) {
                    *r += self.nodes[at as usize].value;
                }
            }
        }
        raw
    }

    #[cfg(test)]
    fn probability(&self, row: &[f32]) -> f32 {
        sigmoid(self.raw_scores(&[row])[0])
    }
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// A trained block classifier: a first stage over each block's own features and, when
/// trained, a second stage that also reads the first stage's opinion of the blocks around.
#[derive(Debug, Clone)]
pub struct Model {
    stage1: Ensemble,
    stage2: Option<Ensemble>,
    /// Probability at or above which a block is article text.
    threshold: f32,
}

impl Model {
    /// Reads a model exported by the training script; refuses one trained on another
    /// feature layout.
    pub fn from_json(json: &str) -> Result<Model, ModelError> {
        let m: ModelJson = serde_json::from_str(json)?;
        let stage1 = Ensemble::from_json(m.stage1, features::NAMES)?;
        let stage2 = match m.stage2 {
            Some(e) => {
                let names: Vec<&str> = features::NAMES
                    .iter()
                    .chain(features::CONTEXT_NAMES)
                    .copied()
                    .collect();
                Some(Ensemble::from_json(e, &names)?)
            }
            None => None,
        };
        Ok(Model {
            stage1,
            stage2,
            threshold: m.threshold,
        })
    }

    /// Probability, per block of `lin`, that it is article text.
    pub(crate) fn probabilities(&self, lin: &Linearized, rows: &[Row]) -> Vec<f32> {
        let p1: Vec<f32> = self
            .stage1
            .raw_scores(rows)
            .into_iter()
            .map(sigmoid)
            .collect();
        let Some(stage2) = &self.stage2 else {
            return p1;
        };
        let context = features::context(lin, &p1);
        let full: Vec<[f32; features::COUNT + features::CONTEXT_COUNT]> = rows
            .iter()
            .zip(&context)
            .map(|(r, c)| {
                let mut full = [0f32; features::COUNT + features::CONTEXT_COUNT];
                full[..features::COUNT].copy_from_slice(r);
                full[features::COUNT..].copy_from_slice(c);
                full
            })
            .collect();
        stage2.raw_scores(&full).into_iter().map(sigmoid).collect()
    }

    pub(crate) fn threshold(&self) -> f32 {
        self.threshold
    }
}

static BUILTIN_MODEL: LazyLock<Option<Arc<Model>>> =
    LazyLock::new(|| Model::from_json(BUILTIN).ok().map(Arc::new));

/// The model shipped in the binary (`None` only if the build shipped a broken one, which a
/// test rules out).
pub fn builtin() -> Option<Arc<Model>> {
    BUILTIN_MODEL.clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_model_loads_and_matches_the_features() {
        if let Err(e) = Model::from_json(BUILTIN) {
            panic!("{e}");
        }
    }

    /// One row down one tree at a time: what the lockstep walk must agree with.
    fn reference_scores(e: &Ensemble, rows: &[Row]) -> Vec<f32> {
        rows.iter()
            .map(|row| {
                let mut sum = e.base_score;
                for &root in &e.roots {
                    let mut node = e.nodes[root as usize];
                    while node.feature != LEAF {
                        let right = u32::from(row[node.feature as usize] > node.value);
                        node = e.nodes[(node.left + right) as usize];
                    }
                    sum += node.value;
                }
                sum
            })
            .collect()
    }

    #[test]
    fn rows_walked_in_step_score_as_one_at_a_time() {
        let model = Model::from_json(BUILTIN).unwrap();
        // Rows that take many different paths, in a count that leaves a partial group.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let rows: Vec<Row> = (0..LANES * 3 + 5)
            .map(|_| {
                let mut row = [0f32; features::COUNT];
                for v in &mut row {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    *v = (state % 2000) as f32 / 100.0 - 5.0;
                }
                row
            })
            .collect();
        let got = model.stage1.raw_scores(&rows);
        assert_eq!(got, reference_scores(&model.stage1, &rows));
        assert!(got.iter().any(|&a| a != got[0]), "rows must differ");
    }

    #[test]
    fn evaluates_a_tree() {
        let names: Vec<&str> = features::NAMES.to_vec();
        let json = serde_json::json!({
            "features": names, "base_score": 0.0,
            "trees": [{"feature": [3, -1, -1], "threshold": [0.5, 0.0, 0.0],
                       "left": [1, -1, -1], "right": [2, -1, -1], "value": [0.0, 4.0, -4.0]}]
        });
        let m = Model::from_json(&json.to_string()).unwrap();
        let mut row = [0.0; features::COUNT];
        assert!(m.stage1.probability(&row) > 0.95);
        row[3] = 0.9;
        assert!(m.stage1.probability(&row) < 0.05);
        let bad = serde_json::json!({"features": ["x"], "base_score": 0.0, "trees": []});
        assert!(matches!(
            Model::from_json(&bad.to_string()),
            Err(ModelError::Features { .. })
        ));
        let looping = serde_json::json!({
            "features": names, "base_score": 0.0,
            "trees": [{"feature": [3], "threshold": [0.5], "left": [0], "right": [0], "value": [0.0]}]
        });
        assert!(matches!(
            Model::from_json(&looping.to_string()),
            Err(ModelError::Tree { .. })
        ));
    }
}
