//! What the block classifier sees of each block: its text, its kind, the class words around
//! it, what the container heuristics chose, its neighbours and what the page says of itself
//! (headline, description, JSON-LD body). Every feature is generic: none names a site.
//!
//! [`NAMES`] fixes the order; the training script reads it from the exported rows and the
//! model file records it, so a model trained on another layout is refused (see `model`).

use rustc_hash::FxHashSet as HashSet;

use crate::blocks::{Block, BlockKind, Elem, Linearized};
use crate::content::{self, Opinions, PageHints};
use crate::rules::{self, groups};

/// Feature names, in row order.
pub const NAMES: &[&str] = &[
    // the block's own text
    "log_chars",
    "log_weight",
    "log_words",
    "link_density",
    "chars_per_word",
    "sentence_marks",
    "commas",
    "ends_sentence",
    "digit_ratio",
    "upper_ratio",
    "lines",
    // its kind
    "heading_level",
    "is_p",
    "is_li",
    "is_quote_pre",
    "is_cell",
    "is_loose",
    // line rules
    "chrome_line_share",
    "end_marker",
    "is_headline",
    "starts_with_link",
    "end_markers_before",
    "comment_marker_before",
    // chrome names and class words
    "chrome_named",
    "chrome_above_holder",
    "chrome_share",
    "class_holder",
    "class_max",
    "class_min",
    "depth",
    "near_comment",
    "near_related",
    "near_share",
    "near_nav",
    "near_footer",
    "near_sidebar",
    "near_ad",
    "near_subscribe",
    "near_meta",
    "near_caption",
    "near_content",
    "near_header",
    "near_hidden",
    "near_listing",
    "near_declared_body",
    "any_comment",
    "any_related",
    "any_share",
    "any_nav",
    "any_footer",
    "any_sidebar",
    "any_ad",
    "any_subscribe",
    "any_meta",
    "any_caption",
    "any_content",
    "any_header",
    "any_hidden",
    "any_listing",
    "any_declared_body",
    // the container opinions
    "in_primary",
    "in_second",
    "in_heuristic",
    "chrome_below_primary",
    "heuristic_dist",
    "before_heuristic",
    "after_heuristic",
    "heuristic_share",
    // the elements around it
    "parent_log_weight",
    "parent_link_density",
    "parent_score",
    "parent_share",
    "grand_log_weight",
    "grand_link_density",
    "grand_score",
    "grand_share",
    // neighbours
    "prev_log_weight",
    "prev_link_density",
    "next_log_weight",
    "next_link_density",
    "window_prose",
    "window_link_density",
    // position
    "rel_pos",
    "after_headline",
    "headline_dist",
    "page_log_weight",
    // what the page says of itself
    "structured_overlap",
    "description_overlap",
];

pub const COUNT: usize = 88;

const _: () = assert!(NAMES.len() == COUNT);

pub type Row = [f32; COUNT];

/// Tokens for overlap tests: runs of letters and digits, and every CJK character alone
/// (those scripts write no spaces).
fn tokens(text: &str) -> Vec<u64> {
    let mut out = Vec::new();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut open = false;
    for c in text.chars() {
        let cjk = crate::blocks::is_cjk(c);
        if c.is_alphanumeric() && !cjk {
            for l in c.to_lowercase() {
                h = (h ^ l as u64).wrapping_mul(0x0100_0000_01b3);
            }
            open = true;
            continue;
        }
        if open {
            out.push(h);
            h = 0xcbf2_9ce4_8422_2325;
            open = false;
        }
        if cjk {
            out.push((c as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
        }
    }
    if open {
        out.push(h);
    }
    out
}

/// Hashes of consecutive token windows (one window when the text is shorter).
fn windows(tokens: &[u64], n: usize) -> impl Iterator<Item = u64> + '_ {
    let n = n.min(tokens.len()).max(1);
    tokens.windows(n).map(|w| {
        w.iter().fold(0u64, |acc, t| {
            acc.rotate_left(13) ^ t.wrapping_mul(0x2545_f491_4f6c_dd1d)
        })
    })
}

const WINDOW: usize = 4;

/// Share of the block's token windows found in `reference` (-1 when there is none).
fn overlap(block_tokens: &[u64], reference: Option<&HashSet<u64>>) -> f32 {
    let Some(reference) = reference else {
        return -1.0;
    };
    if block_tokens.is_empty() {
        return 0.0;
    }
    let mut n = 0usize;
    let mut hit = 0usize;
    for w in windows(block_tokens, WINDOW).take(64) {
        n += 1;
        hit += usize::from(reference.contains(&w));
    }
    hit as f32 / n.max(1) as f32
}

/// Share of `part`'s token windows that occur in `whole` (1 when `part` has none).
pub(crate) fn containment(part: &str, whole: &str) -> f32 {
    let whole = window_set(whole);
    let part = tokens(part);
    if part.is_empty() {
        return 1.0;
    }
    let (mut n, mut hit) = (0usize, 0usize);
    for w in windows(&part, WINDOW) {
        n += 1;
        hit += usize::from(whole.contains(&w));
    }
    hit as f32 / n.max(1) as f32
}

fn window_set(text: &str) -> HashSet<u64> {
    let t = tokens(text);
    windows(&t, WINDOW).collect()
}

/// The element a block's text belongs to (its paragraph's container; a loose text's own
/// element) and the one above it.
pub(crate) fn containers(b: &Block) -> (Option<Elem>, Option<Elem>) {
    let len = b.ancestors.len();
    let skip = if matches!(b.kind, BlockKind::Loose) {
        1
    } else {
        2
    };
    let at = |back: usize| {
        len.checked_sub(back)
            .and_then(|i| b.ancestors.get(i))
            .copied()
    };
    (at(skip), at(skip + 1))
}

fn log1p(x: usize) -> f32 {
    (x as f32).ln_1p()
}

/// Per-block facts computed once and read by several features.
struct Basic {
    chars: usize,
    weight: usize,
    link_density: f32,
    prose: bool,
}

/// One row per block of `lin`, in block order.
pub(crate) fn compute(
    lin: &Linearized,
    op: &Opinions,
    heuristic: &[bool],
    hints: &PageHints,
) -> Vec<Row> {
    let n = lin.blocks.len();
    let basics: Vec<Basic> = lin
        .blocks
        .iter()
        .map(|b| {
            let weight = b.weight();
            let link_density = b.link_density();
            Basic {
                chars: b.chars(),
                weight,
                link_density,
                prose: weight >= 80 && link_density < 0.3,
            }
        })
        .collect();
    let page_weight: usize = basics.iter().map(|b| b.weight).sum::<usize>().max(1);
    let heuristic_weight: usize = basics
        .iter()
        .zip(heuristic)
        .filter(|(_, k)| **k)
        .map(|(b, _)| b.weight)
        .sum();
    let first_kept = heuristic.iter().position(|k| *k);
    let last_kept = heuristic.iter().rposition(|k| *k);
    // Distance in blocks to the nearest block the heuristics kept.
    let mut dist = vec![usize::MAX; n];
    let mut last = None;
    for i in 0..n {
        if heuristic[i] {
            last = Some(i);
        }
        if let Some(l) = last {
            dist[i] = i - l;
        }
    }
    last = None;
    for i in (0..n).rev() {
        if heuristic[i] {
            last = Some(i);
        }
        if let Some(l) = last {
            dist[i] = dist[i].min(l - i);
        }
    }
    let title_key = hints.title.map(content::normalize_for_compare);
    let headline = lin.blocks.iter().position(|b| {
        matches!(b.kind, BlockKind::Heading(_))
            && title_key.as_deref().is_some_and(|t| {
                content::same_headline(t, &content::normalize_for_compare(&b.text))
            })
    });
    let headline = headline.or_else(|| {
        lin.blocks
            .iter()
            .position(|b| b.kind == BlockKind::Heading(1))
    });
    // End markers ("Related articles", "Leave a reply") passed since the article began (at
    // the headline, or at the first block the heuristics kept).
    let start = match (headline, first_kept) {
        (Some(h), Some(f)) => h.min(f),
        (h, f) => h.or(f).unwrap_or(0),
    };
    let mut markers_before = vec![0u8; n];
    let mut comment_before = vec![false; n];
    let (mut markers, mut comments) = (0u8, false);
    for (i, b) in lin.blocks.iter().enumerate() {
        markers_before[i] = markers;
        comment_before[i] = comments;
        let line = b.text.trim();
        if i > start
            && !b.in_cell
            && b.chars() <= 300
            && b.link_density() < 0.5
            && !line.contains('\n')
            && rules::is_end_marker(line)
        {
            markers = markers.saturating_add(1).min(3);
            comments |= rules::is_comment_marker(line);
        }
    }
    let structured = hints.structured_body.map(window_set);
    let description = hints.description.map(window_set);

    let tally_of = |id: Option<Elem>| id.and_then(|id| op.tallies.get(id as usize)).copied();

    let mut rows = Vec::with_capacity(n);
    for (i, b) in lin.blocks.iter().enumerate() {
        let basic = &basics[i];
        let mut r: Row = [0.0; COUNT];
        let mut k = 0usize;
        let mut push = |v: f32| {
            r[k] = v;
            k += 1;
        };
        // the block's own text
        let words = b.text.split_whitespace().count();
        let mut sentence_marks = 0usize;
        let mut digits = 0usize;
        let mut letters = 0usize;
        let mut upper = 0usize;
        for c in b.text.chars() {
            if matches!(c, '.' | '!' | '?' | '。' | '؟' | '।' | '！' | '？') {
                sentence_marks += 1;
            } else if c.is_ascii_digit() {
                digits += 1;
            } else if c.is_alphabetic() {
                letters += 1;
                if c.is_uppercase() {
                    upper += 1;
                }
            }
        }
        let lines: Vec<&str> = b
            .text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        push(log1p(basic.chars));
        push(log1p(basic.weight));
        push(log1p(words));
        push(basic.link_density);
        push((basic.chars as f32 / words.max(1) as f32).min(40.0));
        push(log1p(sentence_marks));
        push(log1p(content::commas(&b.text)));
        push(f32::from(u8::from(content::ends_like_sentence(&b.text))));
        push(digits as f32 / basic.chars.max(1) as f32);
        push(upper as f32 / letters.max(1) as f32);
        push(lines.len().min(20) as f32);
        // its kind
        push(match b.kind {
            BlockKind::Heading(l) => f32::from(l),
            _ => 0.0,
        });
        push(f32::from(u8::from(b.kind == BlockKind::Paragraph)));
        push(f32::from(u8::from(b.kind == BlockKind::ListItem)));
        push(f32::from(u8::from(matches!(
            b.kind,
            BlockKind::Quote | BlockKind::Preformatted
        ))));
        push(f32::from(u8::from(b.kind == BlockKind::Cell)));
        push(f32::from(u8::from(b.kind == BlockKind::Loose)));
        // line rules
        let chrome_lines = lines
            .iter()
            .filter(|l| {
                rules::is_chrome_line(l) || rules::is_term_list(l) || rules::is_end_marker(l)
            })
            .count();
        push(chrome_lines as f32 / lines.len().max(1) as f32);
        push(f32::from(u8::from(
            lines.len() == 1 && rules::is_end_marker(lines[0]),
        )));
        push(f32::from(u8::from(Some(i) == headline)));
        push(f32::from(u8::from(b.starts_with_link)));
        push(f32::from(markers_before[i]));
        push(f32::from(u8::from(comment_before[i])));
        // chrome names and class words
        let depth = b.ancestors.len().saturating_sub(1);
        push(f32::from(u8::from(b.boilerplate())));
        push(
            b.chrome_depth
                .map(|d| (depth as f32 - f32::from(d)).min(20.0))
                .unwrap_or(-1.0),
        );
        // How much of the page the element named like chrome holds: a wrapper named
        // `sidebar-layout` holds most of it, a share bar or a comment very little.
        push(
            b.chrome_depth
                .and_then(|d| b.ancestors.get(usize::from(d)))
                .and_then(|e| op.tallies.get(*e as usize))
                .map(|t| t.weight as f32 / page_weight as f32)
                .unwrap_or(-1.0),
        );
        push(f32::from(b.class_holder));
        push(f32::from(b.class_max));
        push(f32::from(b.class_min));
        push(depth.min(100) as f32);
        for mask in [b.groups_near, b.groups_any] {
            for bit in 0..groups::COUNT {
                push(f32::from(u8::from(mask & (1 << bit) != 0)));
            }
        }
        // the container opinions
        let in_primary = op
            .primary
            .as_ref()
            .and_then(|c| content::container_depth(b, c));
        push(f32::from(u8::from(in_primary.is_some())));
        push(f32::from(u8::from(
            op.second
                .as_ref()
                .and_then(|c| content::container_depth(b, c))
                .is_some(),
        )));
        push(f32::from(u8::from(heuristic[i])));
        push(f32::from(u8::from(
            in_primary.is_some_and(|d| b.chrome_below(d)),
        )));
        push(if dist[i] == usize::MAX {
            -1.0
        } else {
            log1p(dist[i])
        });
        push(f32::from(u8::from(first_kept.is_some_and(|f| i < f))));
        push(f32::from(u8::from(last_kept.is_some_and(|l| i > l))));
        push(heuristic_weight as f32 / page_weight as f32);
        // the elements around it: the holder's container and the one above
        let (parent, grand) = containers(b);
        for t in [tally_of(parent), tally_of(grand)] {
            let t = t.unwrap_or_default();
            push(log1p(t.weight));
            push(t.link_density());
            push(t.score.max(0.0).ln_1p());
            push(t.weight as f32 / page_weight as f32);
        }
        // neighbours
        let neighbour = |j: Option<usize>| j.and_then(|j| basics.get(j));
        for nb in [neighbour(i.checked_sub(1)), neighbour(Some(i + 1))] {
            match nb {
                Some(nb) => {
                    push(log1p(nb.weight));
                    push(nb.link_density);
                }
                None => {
                    push(0.0);
                    push(0.0);
                }
            }
        }
        let lo = i.saturating_sub(3);
        let hi = (i + 4).min(n);
        let (mut prose, mut chars, mut link) = (0usize, 0usize, 0f32);
        for (j, nb) in basics[lo..hi].iter().enumerate() {
            if lo + j == i {
                continue;
            }
            if nb.prose {
                prose += nb.weight;
            }
            chars += nb.chars;
            link += nb.link_density * nb.chars as f32;
        }
        push(log1p(prose));
        push(link / chars.max(1) as f32);
        // position
        push(i as f32 / n.max(1) as f32);
        push(match headline {
            Some(h) if i > h => 1.0,
            Some(h) if i < h => -1.0,
            Some(_) => 0.0,
            None => 0.0,
        });
        push(headline.map(|h| log1p(h.abs_diff(i))).unwrap_or(-1.0));
        push(log1p(page_weight));
        // what the page says of itself
        if structured.is_some() || description.is_some() {
            let toks = tokens(&b.text);
            push(overlap(&toks, structured.as_ref()));
            push(overlap(&toks, description.as_ref()));
        } else {
            push(-1.0);
            push(-1.0);
        }
        debug_assert_eq!(k, COUNT);
        rows.push(r);
    }
    rows
}

/// Names of the second stage's context features, appended to [`NAMES`]: what the first
/// stage thought of the block and of the blocks around it. A subheading or a short
/// paragraph between two paragraphs of the article is article text; a lone paragraph among
/// teasers is not.
pub const CONTEXT_NAMES: &[&str] = &[
    "p_self",
    "p_prev",
    "p_next",
    "p_window_mean",
    "p_window_max",
    "p_group_mean",
    "p_group_count",
    "p_grand_mean",
    "p_grand_count",
    "p_page_kept",
];

pub const CONTEXT_COUNT: usize = 10;

const _: () = assert!(CONTEXT_NAMES.len() == CONTEXT_COUNT);

pub type ContextRow = [f32; CONTEXT_COUNT];

/// Context rows from first-stage probabilities `p` (one per block of `lin`).
///
/// The training script computes the same features from exported group ids; keep the two
/// in step (its consistency check compares them on real pages).
pub(crate) fn context(lin: &Linearized, p: &[f32]) -> Vec<ContextRow> {
    let n = lin.blocks.len();
    let keys: Vec<(Option<Elem>, Option<Elem>)> = lin.blocks.iter().map(containers).collect();
    let mut parent_sum = vec![(0f32, 0usize); lin.elements.len()];
    let mut grand_sum = vec![(0f32, 0usize); lin.elements.len()];
    let mut kept_chars = 0usize;
    let mut all_chars = 0usize;
    for (i, (parent, grand)) in keys.iter().enumerate() {
        if let Some(id) = parent {
            let e = &mut parent_sum[*id as usize];
            e.0 += p[i];
            e.1 += 1;
        }
        if let Some(id) = grand {
            let e = &mut grand_sum[*id as usize];
            e.0 += p[i];
            e.1 += 1;
        }
        let chars = lin.blocks[i].chars();
        all_chars += chars;
        if p[i] >= 0.5 {
            kept_chars += chars;
        }
    }
    let page_kept = kept_chars as f32 / all_chars.max(1) as f32;
    let others = |sums: &[(f32, usize)], id: &Option<Elem>, own: f32| match id
        .and_then(|id| sums.get(id as usize))
    {
        Some((sum, count)) if *count > 1 => ((sum - own) / (*count - 1) as f32, log1p(*count - 1)),
        _ => (-1.0, 0.0),
    };
    (0..n)
        .map(|i| {
            let lo = i.saturating_sub(3);
            let hi = (i + 4).min(n);
            let (mut sum, mut count, mut max) = (0f32, 0usize, 0f32);
            for (j, pj) in p[lo..hi].iter().enumerate() {
                if lo + j != i {
                    sum += pj;
                    count += 1;
                    max = max.max(*pj);
                }
            }
            let (group_mean, group_count) = others(&parent_sum, &keys[i].0, p[i]);
            let (grand_mean, grand_count) = others(&grand_sum, &keys[i].1, p[i]);
            [
                p[i],
                if i > 0 { p[i - 1] } else { -1.0 },
                if i + 1 < n { p[i + 1] } else { -1.0 },
                if count > 0 { sum / count as f32 } else { -1.0 },
                if count > 0 { max } else { -1.0 },
                group_mean,
                group_count,
                grand_mean,
                grand_count,
                page_kept,
            ]
        })
        .collect()
}
