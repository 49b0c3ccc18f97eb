//! Main-content selection.
//!
//! Two readability-style opinions come first: containers scored by the paragraph text they
//! hold, once distrusting candidates inside elements named like chrome and once trusting
//! only the text. Then every block of the page is classified as article or not by a small
//! tree ensemble (see `model`) that weighs those opinions with what the block itself looks
//! like and where it sits. The kept blocks are rendered to paragraphs, and chrome lines
//! inside them (read-more lines, tag lists, comment-form fine print) are dropped.

use rustc_hash::FxHashSet as HashSet;

use crate::blocks::{Block, BlockKind, Elem, ElementInfo, Linearized};
use crate::{features, model, rules};

/// Blocks shorter than this do not vote for their containers.
const MIN_SCORING_CHARS: usize = 25;

/// Readability-style tally of one element.
#[derive(Default, Clone, Copy, Debug)]
pub(crate) struct Tally {
    /// Votes of the prose blocks within a few levels below.
    pub score: f32,
    pub chars: usize,
    pub link_chars: usize,
    /// Script-weighted length of the text (see `Block::weight`).
    pub weight: usize,
}

impl Tally {
    pub fn link_density(&self) -> f32 {
        if self.chars == 0 {
            0.0
        } else {
            self.link_chars as f32 / self.chars as f32
        }
    }
}

fn is_paragraph_like(kind: BlockKind) -> bool {
    matches!(
        kind,
        BlockKind::Paragraph | BlockKind::Quote | BlockKind::Preformatted | BlockKind::Loose
    )
}

pub(crate) fn commas(text: &str) -> usize {
    text.chars()
        .filter(|c| matches!(c, ',' | '،' | '，' | '、' | '。' | '؛' | ';'))
        .count()
}

/// The elements chosen to hold the article: the depth of each chosen element, by element.
#[derive(Debug, Clone, Default)]
pub(crate) struct Chosen {
    depth: Vec<Option<u16>>,
}

impl Chosen {
    fn new(lin: &Linearized) -> Chosen {
        Chosen {
            depth: vec![None; lin.elements.len()],
        }
    }

    fn insert(&mut self, e: Elem, depth: u16) {
        self.depth[e as usize] = Some(depth);
    }

    pub fn get(&self, e: Elem) -> Option<u16> {
        self.depth.get(e as usize).copied().flatten()
    }

    pub fn contains(&self, e: Elem) -> bool {
        self.get(e).is_some()
    }
}

/// How much a candidate inside an element named like chrome keeps of its score.
#[derive(Clone, Copy, Debug)]
pub(crate) enum ChromeNames {
    /// Inside a popup, a comment or a gallery, even a long text is rarely the article.
    Penalize,
    /// Layout wrappers named like chrome (`l-sidebar-fixed`) are common too: the second
    /// opinion trusts only the text.
    Ignore,
}

/// Tallies every element. Chrome names count only below a candidate: a share bar inside an
/// article neither votes for it nor dilutes its link density, while a wrapper named like
/// chrome (`sidebar-layout`, `elementor-widget-container`) can still hold the article.
pub(crate) fn tally(lin: &Linearized) -> Vec<Tally> {
    let mut tallies = vec![Tally::default(); lin.elements.len()];
    for block in &lin.blocks {
        let n = block.chars();
        let weight = block.weight();
        for (depth, id) in block.ancestors.iter().enumerate() {
            if block.chrome_below(depth as u16) {
                continue;
            }
            let t = &mut tallies[*id as usize];
            t.chars += n;
            t.link_chars += block.link_chars;
            t.weight += weight;
        }
        // List items vote when they read like prose: articles made of bullet points are
        // common, menus and link lists are not prose.
        let prose_item =
            block.kind == BlockKind::ListItem && weight >= 80 && block.link_density() < 0.3;
        if weight < MIN_SCORING_CHARS
            || !(is_paragraph_like(block.kind) || prose_item)
            || block.link_density() > 0.5
        {
            continue;
        }
        let score = 1.0 + commas(&block.text) as f32 + (weight as f32 / 100.0).min(3.0);
        // The element holding the text is the paragraph itself; its container and the
        // container's container are the candidates.
        let holder_is_paragraph = matches!(block.kind, BlockKind::Paragraph | BlockKind::Quote);
        let mut levels = block.ancestors.iter().enumerate().rev();
        if holder_is_paragraph {
            levels.next();
        }
        for (level, (depth, id)) in levels.take(5).enumerate() {
            if block.chrome_below(depth as u16) {
                break;
            }
            let divider = match level {
                0 => 1.0,
                1 => 2.0,
                l => l as f32 * 3.0,
            };
            tallies[*id as usize].score += score / divider;
        }
    }
    tallies
}

fn final_score(info: &ElementInfo, t: &Tally, names: ChromeNames) -> f32 {
    // Where every candidate is inside chrome (page builders name all blocks `widget`) the
    // order holds.
    let chrome = match names {
        ChromeNames::Penalize if info.in_chrome => 0.5,
        _ => 1.0,
    };
    (t.score + info.tag_prior + info.class_weight as f32) * (1.0 - t.link_density()) * chrome
}

/// The best container and its content-like siblings; with `ranking`, every candidate's
/// final score is also reported (for [`explain`]).
pub(crate) fn choose(
    lin: &Linearized,
    tallies: &[Tally],
    names: ChromeNames,
    mut ranking: Option<&mut Vec<(Elem, f32, usize, f32)>>,
) -> Option<Chosen> {
    let mut best: Option<(Elem, f32)> = None;
    for (i, (t, info)) in tallies.iter().zip(&lin.elements).enumerate() {
        if t.score <= 0.0 || info.is_root {
            continue;
        }
        let id = i as Elem;
        let s = final_score(info, t, names);
        if let Some(r) = ranking.as_deref_mut() {
            r.push((id, s, t.chars, t.link_density()));
        }
        // Ties go to the earlier element in the document.
        if best.map(|(_, b)| s > b).unwrap_or(true) {
            best = Some((id, s));
        }
    }
    let (top, top_score) = best?;
    let top_info = &lin.elements[top as usize];
    let mut chosen = Chosen::new(lin);
    chosen.insert(top, top_info.depth);

    // Content split over several sibling containers (a lead box, then the body) is common.
    if let Some(parent) = top_info.parent {
        let threshold = (top_score * 0.2).max(10.0);
        for (i, (t, info)) in tallies.iter().zip(&lin.elements).enumerate() {
            if info.parent != Some(parent) || i as Elem == top {
                continue;
            }
            // A lead paragraph standing beside the body container.
            let lead_paragraph = info.is_paragraph && t.weight >= 80 && t.link_density() < 0.25;
            if lead_paragraph || (t.score > 0.0 && final_score(info, t, names) >= threshold) {
                chosen.insert(i as Elem, info.depth);
            }
        }
    }
    Some(chosen)
}

/// The depth of the chosen container holding `block`, if one does.
pub(crate) fn container_depth(block: &Block, containers: &Chosen) -> Option<u16> {
    block
        .ancestors
        .iter()
        .rev()
        .find_map(|id| containers.get(*id))
}

/// Blocks a container choice keeps before line filtering: inside a chosen container, not
/// below chrome there, not a short link list.
fn container_blocks(lin: &Linearized, chosen: Option<&Chosen>) -> Vec<bool> {
    lin.blocks
        .iter()
        .map(|b| {
            chosen
                .and_then(|c| container_depth(b, c))
                .is_some_and(|depth| !b.chrome_below(depth))
                && !(b.link_density() > 0.5 && b.chars() < 400)
        })
        .collect()
}

/// What the page says of itself beside its markup, used as evidence.
#[derive(Default)]
pub(crate) struct PageHints<'a> {
    pub title: Option<&'a str>,
    pub description: Option<&'a str>,
    /// JSON-LD `articleBody`, as plain text.
    pub structured_body: Option<&'a str>,
}

/// Both container opinions and the tallies behind them.
pub(crate) struct Opinions {
    pub tallies: Vec<Tally>,
    pub primary: Option<Chosen>,
    pub second: Option<Chosen>,
}

pub(crate) fn opinions(lin: &Linearized) -> Opinions {
    let tallies = tally(lin);
    let primary = choose(lin, &tallies, ChromeNames::Penalize, None);
    let second = choose(lin, &tallies, ChromeNames::Ignore, None);
    Opinions {
        tallies,
        primary,
        second,
    }
}

/// The block choice of the container heuristics alone: the first opinion, or the second
/// when the first is short and the second much longer (a teaser or a hero box won over a
/// body wrapped in an element named like chrome).
pub(crate) fn heuristic_keep(lin: &Linearized, op: &Opinions, hints: &PageHints) -> Vec<bool> {
    let primary = container_blocks(lin, op.primary.as_ref());
    let chars = |keep: &[bool]| -> usize {
        render(lin, keep, keep, hints.title)
            .iter()
            .map(|p| p.chars().count())
            .sum()
    };
    let primary_chars = chars(&primary);
    if primary_chars < 1000 {
        let second = container_blocks(lin, op.second.as_ref());
        if chars(&second) >= primary_chars * 2 + 200 {
            return second;
        }
    }
    primary
}

/// Which blocks are article text, and which the container heuristics chose.
pub(crate) fn keep_blocks(
    lin: &Linearized,
    hints: &PageHints,
    model: Option<&model::Model>,
) -> (Vec<bool>, Vec<bool>) {
    let op = opinions(lin);
    let heuristic = heuristic_keep(lin, &op, hints);
    let Some(model) = model else {
        return (heuristic.clone(), heuristic);
    };
    let rows = features::compute(lin, &op, &heuristic, hints);
    let probabilities = model.probabilities(lin, &rows);
    let keep = keep_mask(lin, &probabilities, &heuristic, model.threshold());
    (keep, heuristic)
}

/// Which blocks the classifier keeps, given their probabilities.
fn keep_mask(
    lin: &Linearized,
    probabilities: &[f32],
    heuristic: &[bool],
    threshold: f32,
) -> Vec<bool> {
    // Two kinds of chrome read like prose, so the classifier keeps them on sites it never
    // saw: a comment thread after the article, and a gallery, slideshow or video widget
    // set into the article's span but outside its container (fifty captioned slides of
    // other news). The second needs a chrome-named holder as well, since a figure inside
    // the story's own markup is often part of the text; list items are left to the
    // classifier because page builders name every widget, lists of the article included.
    // (Site-grouped cross-validation: readability F1 +0.003, AEB +0.0002, trafilatura
    // level; grouped by set, readability +0.003.) Teaser lists above the article are the
    // third kind (`teaser_lists_before`: site-grouped AEB +0.0012, the others level). A
    // footer's paragraphs after the article (the publisher's contact and customer-service
    // prose) are the fourth, and go with the comments (site-grouped AEB +0.0017,
    // trafilatura +0.0002, readability level).
    let first_in_container = heuristic.iter().position(|h| *h);
    let last_in_container = heuristic.iter().rposition(|h| *h);
    let teasers = teaser_lists_before(lin, heuristic, first_in_container);
    let mut keep: Vec<bool> = probabilities
        .iter()
        .zip(heuristic)
        .zip(&lin.blocks)
        .enumerate()
        .map(|(i, ((p, h), b))| {
            let after = last_in_container.is_some_and(|last| i > last);
            let inside_span = first_in_container.is_some_and(|first| i > first)
                && last_in_container.is_some_and(|last| i < last);
            let trailing_chrome = !*h && after && b.groups_near & AFTER_THE_TEXT != 0;
            let embedded_gallery = !*h
                && inside_span
                && b.boilerplate()
                && b.kind != BlockKind::ListItem
                && b.groups_any & rules::groups::CAPTION != 0;
            let teaser = teasers.get(i).copied().unwrap_or(false);
            // A quotation or an embedded post (a tweet quoted in a blockquote) in the
            // article's span is part of what the article says, though it is styled and
            // named like a social widget (site-grouped AEB F1 +0.0013, others level).
            let quotation = b.in_quote
                && (*h || inside_span)
                && b.link_density() < 0.5
                && b.chars() >= MIN_QUOTATION_CHARS;
            if quotation {
                return true;
            }
            // A lone label above the article (section name, breadcrumb step, "Categories")
            // is chrome in every language; the classifier, seeing few words and no links
            // on some sites, keeps it (site-grouped AEB and readability F1 +0.0001 each).
            let label_above = !*h
                && first_in_container.is_some_and(|first| i < first)
                && b.chars() < MAX_LABEL_CHARS
                && !matches!(b.kind, BlockKind::Heading(_));
            // A long run of nothing but links outside the container is a tag cloud or a
            // menu printed as one line: an article's own lists hold one link per item.
            let link_cloud = !*h
                && b.chars() >= MIN_CLOUD_CHARS
                && b.link_density() >= 0.95
                && !matches!(b.kind, BlockKind::Heading(_));
            kept(*p, *h, threshold)
                && !link_cloud
                && !trailing_chrome
                && !embedded_gallery
                && !teaser
                && !label_above
        })
        .collect();
    keep_prose_between_kept(lin, probabilities, heuristic, &mut keep);
    keep_styled_like_the_text(lin, probabilities, heuristic, &mut keep);
    keep_repeated_sections(lin, probabilities, heuristic, &mut keep);
    keep_the_texts_last_paragraphs(lin, probabilities, heuristic, &mut keep);
    keep_subheadings(lin, probabilities, &mut keep);
    keep_items_of_kept_lists(lin, heuristic, &mut keep);
    keep
}

/// Marks the items of teaser lists above the article: lists of at least
/// [`MIN_TEASER_ITEMS`] items outside the container, before its first block, each a linked
/// headline followed by its summary. A "latest news" box at the top of the page reads like
/// prose to the classifier (every item has a sentence or two), but an article does not
/// begin with a list of links to other articles. After the article the same shape is
/// often the text's own reference list, so only lists above it are marked.
fn teaser_lists_before(lin: &Linearized, heuristic: &[bool], first: Option<usize>) -> Vec<bool> {
    let Some(first) = first else {
        return Vec::new();
    };
    let list_of = |b: &Block| b.ancestors.len().checked_sub(2).map(|i| b.ancestors[i]);
    let is_teaser = |b: &Block, in_container: bool| {
        !in_container
            && b.kind == BlockKind::ListItem
            && b.starts_with_link
            && (0.1..0.9).contains(&b.link_density())
    };
    let mut items_per_list: rustc_hash::FxHashMap<Elem, usize> = Default::default();
    for (b, h) in lin.blocks[..first].iter().zip(heuristic) {
        if let Some(list) = list_of(b).filter(|_| is_teaser(b, *h)) {
            *items_per_list.entry(list).or_default() += 1;
        }
    }
    lin.blocks
        .iter()
        .zip(heuristic)
        .enumerate()
        .map(|(i, (b, h))| {
            i < first
                && is_teaser(b, *h)
                && list_of(b)
                    .and_then(|list| items_per_list.get(&list))
                    .is_some_and(|n| *n >= MIN_TEASER_ITEMS)
        })
        .collect()
}

/// Keeps a paragraph of prose inside the container that lies between kept container
/// blocks when the classifier doubts it only mildly: a sentence in the middle of the story
/// is the story's, and the classifier's doubt there comes from features of the paragraph
/// alone (a dateline, a few links, an unusual wrapper). Plainly rejected blocks (`p`
/// below [`MIN_BETWEEN_PROBABILITY`]) stay out: ads and pull quotes sit there too.
/// (Site-grouped AEB F1 +0.0007, the others level.)
fn keep_prose_between_kept(
    lin: &Linearized,
    probabilities: &[f32],
    heuristic: &[bool],
    keep: &mut [bool],
) {
    let first_kept = (0..keep.len()).find(|i| keep[*i] && heuristic[*i]);
    let last_kept = (0..keep.len()).rev().find(|i| keep[*i] && heuristic[*i]);
    let (Some(first), Some(last)) = (first_kept, last_kept) else {
        return;
    };
    for i in first + 1..last {
        let b = &lin.blocks[i];
        if !keep[i]
            && heuristic[i]
            && probabilities[i] >= MIN_BETWEEN_PROBABILITY
            && b.chars() >= MIN_BETWEEN_CHARS
            && b.link_density() < 0.3
            && ends_like_sentence(&b.text)
        {
            keep[i] = true;
        }
    }
}

/// Blocks inside the sibling sections of the text: a how-to, a listicle or a long read
/// whose every step or chapter is its own element with the same tag and classes as the
/// one holding the container (`div.mod.step` after `div.mod.step`), with ads and related
/// boxes between them. The heuristics pick one section; the others are the same text.
fn repeated_sections(lin: &Linearized, heuristic: &[bool]) -> Vec<bool> {
    let mut in_section = vec![false; lin.blocks.len()];
    let container_blocks: Vec<&crate::blocks::Block> = lin
        .blocks
        .iter()
        .zip(heuristic)
        .filter(|(_, h)| **h)
        .map(|(b, _)| b)
        .collect();
    let Some((first, rest)) = container_blocks.split_first() else {
        return in_section;
    };
    // A container that holds a whole text did not stop at one section of it.
    if container_blocks.iter().map(|b| b.chars()).sum::<usize>() >= MAX_SECTION_CHARS {
        return in_section;
    }
    // The deepest element holding every container block.
    let mut common = first.ancestors.len();
    for b in rest {
        common = common.min(
            first
                .ancestors
                .iter()
                .zip(&b.ancestors)
                .take_while(|(x, y)| x == y)
                .count(),
        );
    }
    for level in (common.saturating_sub(MAX_SECTION_LEVELS)..common).rev() {
        let section = first.ancestors[level];
        let Some(info) = lin.elements.get(section as usize) else {
            continue;
        };
        if info.style == 0 || info.parent.is_none() {
            continue;
        }
        let siblings: Vec<Elem> = lin
            .elements
            .iter()
            .enumerate()
            .filter(|(i, e)| {
                *i != section as usize && e.parent == info.parent && e.style == info.style
            })
            .map(|(i, _)| i as Elem)
            .collect();
        if siblings.len() < MIN_SIBLING_SECTIONS {
            continue;
        }
        for (b, mark) in lin.blocks.iter().zip(in_section.iter_mut()) {
            if b.ancestors.get(level).is_some_and(|a| siblings.contains(a)) {
                *mark = true;
            }
        }
        break;
    }
    in_section
}

/// Keeps the prose and list items of [`repeated_sections`] that the classifier gives a
/// little belief: it judges each step alone, and a short step reads like a caption.
/// (Site-grouped readability F1 +0.0018, trafilatura +0.0002, AEB level; by set
/// readability +0.0008, trafilatura +0.0015, AEB level.)
fn keep_repeated_sections(
    lin: &Linearized,
    probabilities: &[f32],
    heuristic: &[bool],
    keep: &mut [bool],
) {
    let sections = repeated_sections(lin, heuristic);
    for (i, b) in lin.blocks.iter().enumerate() {
        // Prose and list items, not the labels and metadata lines around a section.
        let text_like = b.kind == BlockKind::ListItem
            || b.chars() >= MIN_BETWEEN_CHARS
            || (b.kind == BlockKind::Paragraph && ends_like_sentence(&b.text));
        if sections[i]
            && !keep[i]
            && text_like
            && !b.boilerplate()
            && b.link_density() < 0.3
            && probabilities[i] >= MIN_SAME_STYLE_PROBABILITY
        {
            keep[i] = true;
        }
    }
}

/// A subheading between two kept blocks, heading a kept paragraph of prose, is the
/// text's own structure. The classifier doubts headings (few words, no sentence, often a
/// link to the thing reviewed, and teaser boxes have headings too), so one between
/// paragraphs of the text needs only a little belief. (Site-grouped AEB F1 +0.0006,
/// readability +0.0006, trafilatura level; by set readability +0.0005, the others level.)
fn keep_subheadings(lin: &Linearized, probabilities: &[f32], keep: &mut [bool]) {
    for i in 1..keep.len().saturating_sub(1) {
        let b = &lin.blocks[i];
        if keep[i]
            || !matches!(b.kind, BlockKind::Heading(level) if level >= 2)
            || probabilities[i] < MIN_SUBHEADING_PROBABILITY
            || b.boilerplate()
        {
            continue;
        }
        let (before, after) = (&lin.blocks[i - 1], &lin.blocks[i + 1]);
        let after_text = keep[i - 1] && !matches!(before.kind, BlockKind::Heading(_));
        let heads_prose = keep[i + 1]
            && ((after.kind == BlockKind::Paragraph
                && after.chars() >= MIN_BETWEEN_CHARS
                && ends_like_sentence(&after.text))
                || (after.kind == BlockKind::ListItem && after.link_density() < 0.3));
        if after_text && heads_prose {
            keep[i] = true;
        }
    }
}

/// The last paragraphs of a story are where the classifier doubts most: they sit where
/// related links and sign-offs usually start, and the next block is chrome. Inside the
/// container, after its last kept block, a paragraph styled like at least
/// [`MIN_SAME_STYLE`] kept ones (same tag and classes, same parent) that ends like a
/// sentence and holds no link (sign-offs and app pitches do) continues the text, if the
/// classifier gives it a little belief. (Site-grouped AEB F1 +0.0005, trafilatura
/// +0.0004, readability level; by set AEB +0.0001, trafilatura +0.0002.)
fn keep_the_texts_last_paragraphs(
    lin: &Linearized,
    probabilities: &[f32],
    heuristic: &[bool],
    keep: &mut [bool],
) {
    let Some(last_kept) = (0..keep.len()).rev().find(|i| keep[*i] && heuristic[*i]) else {
        return;
    };
    let mut styles: rustc_hash::FxHashMap<u64, usize> = Default::default();
    for (i, b) in lin.blocks.iter().enumerate().take(last_kept + 1) {
        if keep[i] && heuristic[i] && b.style != 0 {
            *styles.entry(b.style).or_default() += 1;
        }
    }
    for i in last_kept + 1..keep.len() {
        let b = &lin.blocks[i];
        if !heuristic[i] {
            break;
        }
        let shared = styles.get(&b.style).copied().unwrap_or(0);
        if b.style != 0
            && shared >= MIN_SAME_STYLE
            && probabilities[i] >= MIN_BETWEEN_PROBABILITY
            && b.link_chars == 0
            && !b.boilerplate()
            && ends_like_sentence(&b.text)
        {
            keep[i] = true;
        } else {
            break;
        }
    }
}

/// A text split over sibling sections (a blog engine's one section per heading) leaves
/// the heuristics' container with the first: the paragraphs after it are styled exactly
/// like the ones kept inside it, which chrome beside an article rarely is. Such a block
/// needs a little of the classifier's belief, not its threshold (site-grouped readability
/// F1 +0.0009, trafilatura +0.0002, AEB level; by set readability +0.0009, trafilatura
/// +0.0008).
fn keep_styled_like_the_text(
    lin: &Linearized,
    probabilities: &[f32],
    heuristic: &[bool],
    keep: &mut [bool],
) {
    let mut styles: rustc_hash::FxHashMap<u64, usize> = Default::default();
    for (b, _) in lin
        .blocks
        .iter()
        .zip(heuristic)
        .filter(|(b, h)| **h && b.style != 0)
    {
        *styles.entry(b.style).or_default() += 1;
    }
    let Some(last) = heuristic.iter().rposition(|h| *h) else {
        return;
    };
    for (i, b) in lin.blocks.iter().enumerate().skip(last + 1) {
        if keep[i] || b.style == 0 || b.boilerplate() || b.link_density() >= 0.3 {
            continue;
        }
        if b.groups_near & AFTER_THE_TEXT != 0 {
            continue;
        }
        let shared = styles.get(&b.style).copied().unwrap_or(0);
        if shared >= MIN_SAME_STYLE && probabilities[i] >= MIN_SAME_STYLE_PROBABILITY {
            keep[i] = true;
        }
    }
}

/// A list of the article (release notes, a changelog, steps with links to each bug or
/// source) is one piece of text: when the heuristics' container holds some of its items
/// and at least half of them are kept, its heavily linked items are kept too, not left
/// out one by one for their links (site-grouped readability F1 +0.0003, others level; by
/// set readability +0.0006, AEB -0.0001).
fn keep_items_of_kept_lists(lin: &Linearized, heuristic: &[bool], keep: &mut [bool]) {
    let list_of = |b: &crate::blocks::Block| -> Option<Elem> {
        match b.ancestors.as_slice() {
            [.., list, _item] if b.kind == BlockKind::ListItem => Some(*list),
            _ => None,
        }
    };
    // Per list: items, items kept, items in the container.
    let mut tally: rustc_hash::FxHashMap<Elem, (usize, usize, usize)> = Default::default();
    for (i, b) in lin.blocks.iter().enumerate() {
        if let Some(list) = list_of(b) {
            let t = tally.entry(list).or_default();
            t.0 += 1;
            t.1 += usize::from(keep[i]);
            t.2 += usize::from(heuristic[i]);
        }
    }
    for (i, b) in lin.blocks.iter().enumerate() {
        if keep[i] || b.boilerplate() {
            continue;
        }
        let Some((items, kept, in_container)) = list_of(b).and_then(|l| tally.get(&l).copied())
        else {
            continue;
        };
        if in_container > 0 && kept > 0 && 2 * kept >= items {
            keep[i] = true;
        }
    }
}

/// Class-word groups of what follows an article and is never its text: a comment thread,
/// the page footer.
const AFTER_THE_TEXT: u16 = rules::groups::COMMENT | rules::groups::FOOTER;

/// Paragraphs of the container styled alike before the style marks the text.
const MIN_SAME_STYLE: usize = 3;
const MIN_SAME_STYLE_PROBABILITY: f32 = 0.1;

const MIN_BETWEEN_PROBABILITY: f32 = 0.2;

/// Section labels are a word or two; a standfirst or a dateline above the text is longer.
const MAX_LABEL_CHARS: usize = 15;
const MIN_CLOUD_CHARS: usize = 200;
const LINKS_ONLY_DENSITY: f32 = 0.8;
const MIN_SUBHEADING_PROBABILITY: f32 = 0.2;
const MAX_SECTION_LEVELS: usize = 4;
const MIN_SIBLING_SECTIONS: usize = 2;
const MAX_SECTION_CHARS: usize = 1000;
const MIN_BETWEEN_CHARS: usize = 100;

/// Shorter quoted lines are an embed's signature ("— name (@handle) date") or a pull quote
/// the text repeats.
const MIN_QUOTATION_CHARS: usize = 60;

/// Fewer than three linked items above the article may be its own kicker and summary.
const MIN_TEASER_ITEMS: usize = 3;

/// Whether a block of article probability `p` is kept. Outside the container the
/// heuristics chose, a block needs more confidence: there the classifier meets layouts
/// unlike its training pages (menus, tag clouds, footers of sites it never saw) and its
/// probabilities are less sure than they look. (+0.1 chosen on site-grouped
/// cross-validation: +0.003 F1 on AEB, level on the other sets.)
fn kept(p: f32, in_heuristic: bool, threshold: f32) -> bool {
    p >= if in_heuristic {
        threshold
    } else {
        threshold + 0.1
    }
}

/// Returns the article paragraphs, in document order.
pub(crate) fn main_text(
    lin: &Linearized,
    hints: &PageHints,
    model: Option<&model::Model>,
) -> Vec<String> {
    let (keep, container) = keep_blocks(lin, hints, model);
    let text = render(lin, &keep, &container, hints.title);
    // A classifier that keeps nothing on a page whose container holds text has met a
    // layout it does not know; the container is the better answer than no article.
    if text.is_empty() && model.is_some() {
        if links_only(lin, &container) {
            return Vec::new();
        }
        return render(lin, &container, &container, hints.title);
    }
    if links_only(lin, &keep) {
        return Vec::new();
    }
    text
}

/// Whether every kept block but the headings is a link (or nearly): a section front's
/// list of headlines, an index page. An article says something besides pointing elsewhere, so such a page
/// has none.
fn links_only(lin: &Linearized, keep: &[bool]) -> bool {
    let mut kept = lin
        .blocks
        .iter()
        .zip(keep)
        .filter(|(b, k)| **k && !matches!(b.kind, BlockKind::Heading(_)))
        .peekable();
    kept.peek().is_some() && kept.all(|(b, _)| b.link_density() >= LINKS_ONLY_DENSITY)
}

/// The kept blocks as paragraphs: the headline, chrome lines and repeats dropped, and
/// nothing after a line that announces the end of the article. `container` marks the
/// blocks of the heuristics' container, where such a line counts even if not kept.
pub(crate) fn render(
    lin: &Linearized,
    keep: &[bool],
    container: &[bool],
    title: Option<&str>,
) -> Vec<String> {
    let title_key = title.map(normalize_for_compare);
    let mut out: Vec<String> = Vec::new();
    let mut body_chars = 0usize;
    let mut seen: HashSet<String> = HashSet::default();
    for ((block, kept), in_container) in lin.blocks.iter().zip(keep).zip(container) {
        if !kept {
            // Inside the container the heuristics chose, a line that announces the end of
            // the article ends it ("Leave a reply", "Related articles" after the body),
            // whether or not the classifier kept the line itself.
            let line = block.text.trim();
            if *in_container
                && !block.in_cell
                && body_chars >= 150
                && !line.contains('\n')
                && block.link_density() < 0.5
                && rules::is_end_marker(line)
            {
                break;
            }
            continue;
        }
        // The headline is metadata; other headings, an h1 that is not the headline among
        // them, are part of the text.
        if matches!(block.kind, BlockKind::Heading(_))
            && title_key
                .as_deref()
                .is_some_and(|t| same_headline(t, &normalize_for_compare(&block.text)))
        {
            continue;
        }
        let lines: Vec<&str> = block
            .text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        // A linked "Subscribe to ..." inside the body is an ad, not the end of the article.
        let end_marker = lines.len() == 1
            && !block.in_cell
            && block.link_density() < 0.5
            && rules::is_end_marker(lines[0]);
        if end_marker && body_chars >= 150 {
            break;
        }
        // A tag cloud or a list of section names, one per line.
        if rules::is_word_list(&lines) && block.kind != BlockKind::ListItem {
            continue;
        }
        // A tag list under its label ("Tags" on a line of its own, then the linked tags).
        if rules::is_labelled_tag_list(&lines, block.link_density()) {
            continue;
        }
        let kept: Vec<&str> = lines
            .into_iter()
            .filter(|l| {
                !rules::is_chrome_line(l)
                    && !rules::is_term_list(l)
                    && !rules::is_end_marker(l)
                    && !rules::is_date_line(l)
                    && !rules::is_photo_caption(l)
            })
            .collect();
        if kept.is_empty() {
            continue;
        }
        let text = kept.join("\n");
        // A shortened copy of a line already printed (a caption's collapsed form ending in
        // "... more", a teaser of the lead) says nothing new.
        if let Some(stem) = truncated_stem(&text) {
            if out.iter().any(|o| o.starts_with(stem)) {
                continue;
            }
        }
        // Galleries and sticky headers repeat captions and teasers; a paragraph of prose
        // that repeats is the author's, and so is a repeat inside the article's container
        // (recipes and plans repeat their lines), unless the repeat is held by an element
        // named for a caption: galleries and responsive layouts print one caption several
        // times inside the story's own markup (site-grouped AEB F1 +0.0012, others level).
        let prose = block.kind == BlockKind::Paragraph
            && text.chars().count() >= 150
            && ends_like_sentence(&text);
        let caption = block.groups_holder & rules::groups::CAPTION != 0;
        let authored = *in_container && block.link_density() < 0.5 && !caption;
        if !prose
            && !authored
            && (out.last() == Some(&text)
                || (text.chars().count() >= 40 && !seen.insert(text.clone())))
        {
            continue;
        }
        body_chars += text.chars().count();
        out.push(text);
    }
    trim_trailing_chrome(&mut out);
    out
}

/// What is left of `text` before a closing ellipsis (and an expander word after it), when
/// that is long enough to identify the line it shortens.
fn truncated_stem(text: &str) -> Option<&str> {
    let t = text.trim_end();
    let t = t
        .strip_suffix("more")
        .or_else(|| t.strip_suffix("More"))
        .map(str::trim_end)
        .unwrap_or(t);
    let stem = t
        .strip_suffix("...")
        .or_else(|| t.strip_suffix('…'))?
        .trim_end();
    (stem.chars().count() >= MIN_TRUNCATED_STEM).then_some(stem)
}

const MIN_TRUNCATED_STEM: usize = 40;

pub(crate) fn ends_like_sentence(text: &str) -> bool {
    text.trim_end()
        .ends_with(['.', '!', '?', '。', '؟', '"', '”', '»', '…', '।'])
}

/// Short link-less lines left at the very end (bylines, "Photo: ...") are rarely content
/// when the body ended with a full paragraph before them.
fn trim_trailing_chrome(out: &mut Vec<String>) {
    while out.len() > 1 {
        let Some(last) = out.last() else { break };
        if last.chars().count() < 20 && !ends_like_sentence(last) {
            out.pop();
        } else {
            break;
        }
    }
}

/// A heading repeats the headline when one is the other, or when one starts with the other
/// and the rest is short (a site name, a kicker).
pub(crate) fn same_headline(title: &str, heading: &str) -> bool {
    if title == heading {
        return true;
    }
    let (short, long) = if title.len() <= heading.len() {
        (title, heading)
    } else {
        (heading, title)
    };
    short.chars().count() >= 15
        && (long.starts_with(short) || long.ends_with(short))
        && long.chars().count() <= short.chars().count() * 2
}

pub(crate) fn normalize_for_compare(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// Paragraphs of a JSON-LD `articleBody` (plain text, or HTML as some publishers embed).
pub(crate) fn structured_paragraphs(body: &str) -> Vec<String> {
    let looks_html = body.contains("</p>") || body.contains("<p>") || body.contains("<br");
    if looks_html {
        let doc = scraper::Html::parse_fragment(body);
        let lin = crate::blocks::linearize(&doc);
        return lin
            .blocks
            .into_iter()
            .map(|b| b.text)
            .filter(|t| !t.is_empty())
            .collect();
    }
    body.split('\n')
        .map(|l| {
            // Plain-text bodies still carry inline links and entities ("AT&amp;T",
            // "<a href=...>"): read such a line as HTML so no markup reaches the text.
            if l.contains('<') || l.contains('&') {
                fragment_text(l)
            } else {
                l.split_whitespace().collect::<Vec<_>>().join(" ")
            }
        })
        .filter(|l| !l.is_empty())
        .collect()
}

/// The text of an HTML fragment, whitespace collapsed, without what is never text.
pub(crate) fn fragment_text(html: &str) -> String {
    let doc = scraper::Html::parse_fragment(html);
    let mut out = String::new();
    for node in doc.root_element().descendants() {
        let scraper::Node::Text(t) = node.value() else {
            continue;
        };
        let hidden = node.ancestors().any(|a| {
            a.value()
                .as_element()
                .is_some_and(|e| crate::rules::never_text(e.name()))
        });
        if !hidden {
            out.push_str(t);
            out.push(' ');
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// When the visible page holds only part of the article (paywalls, "read more"
/// expanders, lazy loading) but its structured data holds all of it, the structured body
/// is the better text. It is used only when it is clearly longer and holds most of what
/// was extracted, so a stale or unrelated articleBody cannot replace the page.
pub(crate) fn fuller_structured_body(
    extracted: &[String],
    structured: &[String],
) -> Option<Vec<String>> {
    let structured_chars: usize = structured.iter().map(|p| p.chars().count()).sum();
    let extracted_chars: usize = extracted.iter().map(|p| p.chars().count()).sum();
    if structured_chars < 200 || (structured_chars as f64) < extracted_chars as f64 * 1.5 {
        return None;
    }
    if extracted_chars == 0 {
        return Some(structured.to_vec());
    }
    let held = features::containment(&extracted.join("\n"), &structured.join("\n"));
    (held >= 0.6).then(|| structured.to_vec())
}

/// A developer's view of one page: the best-scoring containers, the choice, and every
/// block with its classifier probability and whether it was kept. Not a stable format.
pub(crate) fn explain(
    doc: &scraper::Html,
    lin: &Linearized,
    hints: &PageHints,
    model: Option<&model::Model>,
) -> String {
    use std::fmt::Write;
    let label = |id: Elem| -> String {
        let Some(node) = lin
            .elements
            .get(id as usize)
            .and_then(|e| doc.tree.get(e.node))
        else {
            return "?".into();
        };
        let Some(el) = node.value().as_element() else {
            return "#".into();
        };
        let mut l = el.name().to_string();
        if let Some(i) = el.attr("id") {
            let _ = write!(l, "#{}", i.chars().take(30).collect::<String>());
        }
        if let Some(c) = el.attr("class") {
            let classes = c.split_whitespace().collect::<Vec<_>>().join(".");
            let _ = write!(l, ".{}", classes.chars().take(50).collect::<String>());
        }
        l
    };
    let mut out = String::new();
    let op = opinions(lin);
    let mut ranking = Vec::new();
    let _ = choose(lin, &op.tallies, ChromeNames::Penalize, Some(&mut ranking));
    ranking.sort_by(|a, b| b.1.total_cmp(&a.1));
    let primary = op.primary.clone().unwrap_or_default();
    let _ = writeln!(out, "candidates (first opinion):");
    for (id, score, chars, ld) in ranking.iter().take(12) {
        let mark = if primary.contains(*id) { "*" } else { " " };
        let _ = writeln!(
            out,
            " {mark} {score:8.1}  {chars:>6} chars  links {ld:.2}  {}",
            label(*id)
        );
    }
    let heuristic = heuristic_keep(lin, &op, hints);
    let probs: Vec<f32> = match model {
        Some(m) => m.probabilities(lin, &features::compute(lin, &op, &heuristic, hints)),
        None => heuristic.iter().map(|k| f32::from(u8::from(*k))).collect(),
    };
    let _ = writeln!(
        out,
        "blocks (p = article probability; H = heuristic choice):"
    );
    let threshold = model.map(|m| m.threshold()).unwrap_or(0.5);
    let keep = keep_mask(lin, &probs, &heuristic, threshold);
    for (((b, p), h), k) in lin.blocks.iter().zip(&probs).zip(&heuristic).zip(&keep) {
        let first = b.text.lines().next().unwrap_or_default();
        let keep = if *k { "K" } else { "-" };
        let flags = format!(
            "{}{}{:<4}",
            if *h { "H " } else { "  " },
            if b.boilerplate() { "bp " } else { "   " },
            format!("{:?}", b.kind).chars().take(4).collect::<String>()
        );
        let holder = b
            .ancestors
            .iter()
            .rev()
            .take(2)
            .map(|id| label(*id))
            .collect::<Vec<_>>()
            .join(" < ");
        let _ = writeln!(
            out,
            "{keep} {p:.2} {flags} {:>5} ld {:.2} | {} | {}",
            b.chars(),
            b.link_density(),
            first.chars().take(70).collect::<String>(),
            holder.chars().take(80).collect::<String>()
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `keep_mask` over `html` with a classifier that is sure (0.99) of the heuristics'
    /// container and gives every other block `outside`: the linearized page, the
    /// container's blocks and what is kept.
    fn kept_trusting_the_container(html: &str, outside: f32) -> (Linearized, Vec<bool>, Vec<bool>) {
        let doc = scraper::Html::parse_document(html);
        let lin = crate::blocks::linearize(&doc);
        let heuristic = heuristic_keep(&lin, &opinions(&lin), &PageHints::default());
        let p: Vec<f32> = heuristic
            .iter()
            .map(|h| if *h { 0.99 } else { outside })
            .collect();
        let keep = keep_mask(&lin, &p, &heuristic, 0.5);
        (lin, heuristic, keep)
    }

    /// The texts of the blocks `keep` marks.
    fn kept_texts<'a>(lin: &'a Linearized, keep: &[bool]) -> Vec<&'a str> {
        lin.blocks
            .iter()
            .zip(keep)
            .filter(|(_, k)| **k)
            .map(|(b, _)| b.text.as_str())
            .collect()
    }

    /// What `keep_mask` keeps of `html` when the classifier is sure of every block, as
    /// the first words of each kept block. The rules under test are what stands between
    /// such a classifier and the text.
    fn kept_by_a_credulous_classifier(html: &str) -> Vec<String> {
        let (lin, _, keep) = kept_trusting_the_container(html, 0.99);
        kept_texts(&lin, &keep)
            .into_iter()
            .map(|t| t.chars().take(24).collect())
            .collect()
    }

    fn report(n: usize) -> String {
        format!(
            "<p>Paragraph {n} of the report: the council voted on Tuesday to extend the tram \
             line by four kilometres, a project its members said would cost about forty \
             million and open in three years, after a long public consultation.</p>"
        )
    }

    #[test]
    fn a_teaser_list_above_the_article_is_not_kept() {
        let teaser = |what: &str| {
            format!(
                "<li><a href=\"/news/{what}\">Harbour {what} plan approved</a> The harbour \
                 board approved on Monday a plan to {what} the old docks, which its chairman \
                 said would bring two hundred jobs to the town.</li>"
            )
        };
        let page = |items: &[&str]| {
            format!(
                "<html><body><div><ul>{}</ul></div><div class=\"story\"><h1>Tram line to \
                 grow</h1>{}</div></body></html>",
                items.iter().map(|w| teaser(w)).collect::<String>(),
                (1..=6).map(report).collect::<String>(),
            )
        };
        let kept = kept_by_a_credulous_classifier(&page(&["rebuild", "extend", "sell"]));
        assert!(
            kept.iter().any(|t| t.starts_with("Paragraph 1")),
            "{kept:?}"
        );
        assert!(
            kept.iter().any(|t| t.starts_with("Paragraph 6")),
            "{kept:?}"
        );
        assert!(!kept.iter().any(|t| t.starts_with("Harbour")), "{kept:?}");
        // Two linked items may be the article's own kicker and standfirst.
        let kept = kept_by_a_credulous_classifier(&page(&["rebuild", "extend"]));
        assert!(kept.iter().any(|t| t.starts_with("Harbour")), "{kept:?}");
    }

    #[test]
    fn a_section_label_above_the_article_is_not_kept() {
        let html = format!(
            "<html><body><div class=\"kicker\">Urbanismo</div><div class=\"dek\">The \
             extension was approved after a long consultation.</div><div class=\"story\">\
             <h1>Tram line to grow</h1>{}</div></body></html>",
            (1..=6).map(report).collect::<String>(),
        );
        let kept = kept_by_a_credulous_classifier(&html);
        assert!(
            kept.iter().any(|t| t.starts_with("Paragraph 1")),
            "{kept:?}"
        );
        assert!(!kept.iter().any(|t| t.starts_with("Urbanismo")), "{kept:?}");
        // A standfirst above the container is longer than a label, and may be the text's.
        assert!(
            kept.iter().any(|t| t.starts_with("The extension")),
            "{kept:?}"
        );
    }

    #[test]
    fn a_tag_cloud_beside_the_article_is_not_kept() {
        let tags = [
            "council",
            "trams",
            "transport",
            "budget",
            "consultation",
            "city",
            "planning",
            "mobility",
            "works",
            "elections",
            "roads",
            "housing",
            "parks",
            "schools",
            "culture",
            "sport",
            "weather",
            "traffic",
            "health",
            "safety",
            "environment",
            "tourism",
            "business",
            "employment",
            "libraries",
            "festivals",
            "courts",
            "police",
            "hospitals",
            "universities",
        ];
        let cloud: String = tags
            .iter()
            .map(|t| format!("<a href=\"/tag/{t}\">{t}</a> "))
            .collect();
        let html = format!(
            "<html><body><div class=\"side\"><div class=\"well\">{cloud}</div></div>\
             <div class=\"story\"><h1>Tram line to grow</h1>{}<p>See also <a \
             href=\"/a\">the tram network's map of every line and stop in the city and its \
             suburbs, with the opening dates of the planned stations</a>.</p></div>\
             <div><h2><a href=\"/next\">The council's next budget will fund four new \
             schools, three parks and the second phase of the harbour's long-awaited \
             renovation, the mayor says</a></h2></div></body></html>",
            (1..=6).map(report).collect::<String>(),
        );
        let kept = kept_by_a_credulous_classifier(&html);
        assert!(
            kept.iter().any(|t| t.starts_with("Paragraph 6")),
            "{kept:?}"
        );
        assert!(
            !kept.iter().any(|t| t.starts_with("council trams")),
            "{kept:?}"
        );
        // A linked headline is not a cloud, however long.
        assert!(
            kept.iter().any(|t| t.starts_with("The council's next")),
            "{kept:?}"
        );
    }

    #[test]
    fn the_last_paragraphs_styled_like_the_text_are_kept_when_doubted() {
        let styled = |n: usize| report(n).replace("<p>", "<p class=\"body\">");
        let html = format!(
            "<html><body><div class=\"story\"><h1>Tram line to grow</h1>{}<p \
             class=\"body\">Download our app for the latest news and alerts from the \
             <a href=\"/app\">city desk</a>, free on every phone.</p></div></body></html>",
            (1..=6).map(styled).collect::<String>(),
        );
        let doc = scraper::Html::parse_document(&html);
        let lin = crate::blocks::linearize(&doc);
        let heuristic = heuristic_keep(&lin, &opinions(&lin), &PageHints::default());
        let last = |start: &str| lin.blocks.iter().position(|b| b.text.starts_with(start));
        let (Some(p5), Some(promo)) = (last("Paragraph 5"), last("Download")) else {
            panic!(
                "blocks: {:?}",
                lin.blocks.iter().map(|b| &b.text).collect::<Vec<_>>()
            );
        };
        assert!(heuristic[p5] && heuristic[promo]);
        // The classifier doubts the story's last two paragraphs and the promo line alike.
        let p: Vec<f32> = (0..lin.blocks.len())
            .map(|i| if i >= p5 { 0.3 } else { 0.99 })
            .collect();
        let keep = keep_mask(&lin, &p, &heuristic, 0.5);
        let kept = kept_texts(&lin, &keep);
        assert!(
            kept.iter().any(|t| t.starts_with("Paragraph 6")),
            "{kept:?}"
        );
        // A line with a link in it is a sign-off or a pitch, not the story's end.
        assert!(!kept.iter().any(|t| t.starts_with("Download")), "{kept:?}");
        // Without belief, nothing is added.
        let p: Vec<f32> = (0..lin.blocks.len())
            .map(|i| if i >= p5 { 0.1 } else { 0.99 })
            .collect();
        let keep = keep_mask(&lin, &p, &heuristic, 0.5);
        assert!(!kept_texts(&lin, &keep)
            .iter()
            .any(|t| t.starts_with("Paragraph 6")));
    }

    #[test]
    fn the_steps_of_a_how_to_in_sibling_sections_are_kept() {
        let step = |n: usize, text: &str| {
            format!(
                "<div class=\"mod step\"><div class=\"step-body\"><div class=\"content\">\
                 <span class=\"label\">Step {n}</span><p>{text}</p></div></div></div>"
            )
        };
        let page = |lead: &str| {
            format!(
                "<html><body><main>\
                 <div class=\"mod step\"><div class=\"step-body lead\"><div class=\"content \
                 lead\"><p>{lead}</p></div></div></div>\
                 <div class=\"related\"><h3>Other people are reading</h3><ul><li><a \
                 href=\"/a\">How to grow herbs</a></li><li><a href=\"/b\">How to water \
                 moss</a></li></ul></div>{}{}{}</main></body></html>",
                step(
                    1,
                    "Cut the foam to fit the base of the glass dome, about two \
                         centimetres smaller than its rim."
                ),
                step(2, "Insert the plant into the hole."),
                step(
                    3,
                    "Cover the foam with moss and press it down gently with a spoon."
                ),
            )
        };
        let lead = "Glass terrariums are not only pleasing to the eye, they also keep a bit \
                    of nature in the house and make a simple gift. Building one takes an \
                    hour and a few things from a florist.";
        let html = page(lead);
        // A classifier that doubts everything outside the container, mildly.
        let (lin, heuristic, keep) = kept_trusting_the_container(&html, 0.15);
        assert!(
            lin.blocks
                .iter()
                .zip(&heuristic)
                .any(|(b, h)| *h && b.text.starts_with("Glass")),
            "the lead is the container"
        );
        let kept = kept_texts(&lin, &keep);
        for step in ["Cut the foam", "Insert the plant", "Cover the foam"] {
            assert!(kept.iter().any(|t| t.starts_with(step)), "{step}: {kept:?}");
        }
        assert!(!kept.iter().any(|t| t.starts_with("Step 2")), "{kept:?}");
        assert!(!kept.iter().any(|t| t.starts_with("How to")), "{kept:?}");
        // A container holding a whole text did not stop at one section: the sibling
        // sections are other stories (an endless page's next article).
        let long_lead = format!("{lead} ").repeat(6);
        let (lin, _, keep) = kept_trusting_the_container(&page(&long_lead), 0.15);
        let kept = kept_texts(&lin, &keep);
        assert!(
            !kept.iter().any(|t| t.starts_with("Cut the foam")),
            "{kept:?}"
        );
    }

    #[test]
    fn a_doubted_subheading_between_paragraphs_is_kept() {
        let html = format!(
            "<html><body><div class=\"story\"><h1>Tram line to grow</h1>{}<h3><a \
             href=\"/lines/4\">Line 4</a></h3>{}<h3>More news:</h3><ul><li><a \
             href=\"/x\">Bus fares</a></li><li><a href=\"/y\">Bike lanes</a></li></ul>\
             </div></body></html>",
            (1..=3).map(report).collect::<String>(),
            (4..=6).map(report).collect::<String>(),
        );
        let doc = scraper::Html::parse_document(&html);
        let lin = crate::blocks::linearize(&doc);
        let heuristic = heuristic_keep(&lin, &opinions(&lin), &PageHints::default());
        let heading = |t: &str| lin.blocks.iter().position(|b| b.text == t);
        let (Some(line4), Some(more)) = (heading("Line 4"), heading("More news:")) else {
            panic!(
                "blocks: {:?}",
                lin.blocks.iter().map(|b| &b.text).collect::<Vec<_>>()
            );
        };
        let mut p: Vec<f32> = lin
            .blocks
            .iter()
            .map(|b| {
                if b.text.starts_with("Paragraph") {
                    0.99
                } else {
                    0.05
                }
            })
            .collect();
        p[line4] = 0.3;
        p[more] = 0.3;
        let keep = keep_mask(&lin, &p, &heuristic, 0.5);
        assert!(keep[line4], "{:?}", kept_texts(&lin, &keep));
        // A heading over a list of links is a lead-in to teasers, not part of the text.
        assert!(!keep[more], "{:?}", kept_texts(&lin, &keep));
        p[line4] = 0.1;
        let keep = keep_mask(&lin, &p, &heuristic, 0.5);
        assert!(!keep[line4]);
    }

    #[test]
    fn the_footer_prose_after_the_article_is_not_kept() {
        let html = format!(
            "<html><body><div class=\"story\"><h1>Tram line to grow</h1>{}</div>\
             <div class=\"footer-wrap\"><div class=\"footer-text\">The Daily Courier \
             customer service centre can be contacted with any questions or requests by \
             telephone or by email, from Sunday to Thursday between eight and six.</div>\
             </div></body></html>",
            (1..=6).map(report).collect::<String>(),
        );
        let kept = kept_by_a_credulous_classifier(&html);
        assert!(
            kept.iter().any(|t| t.starts_with("Paragraph 6")),
            "{kept:?}"
        );
        assert!(!kept.iter().any(|t| t.starts_with("The Daily")), "{kept:?}");
    }

    #[test]
    fn a_text_continued_in_a_sibling_section_is_kept() {
        let styled = |n: usize| report(n).replace("<p>", "<p class=\"graf graf--p\">");
        let html = format!(
            "<html><body><main><div class=\"n\"><div class=\"z\"><h1>Tram line to grow</h1>\
             {}</div></div><div class=\"n\"><div class=\"z\"><h2>What comes next</h2>{}\
             </div></div>\
             <div class=\"promo\"><p class=\"pitch\">Our newsletter brings the week's \
             council decisions to your inbox every Friday, free of charge.</p></div>\
             </main></body></html>",
            (1..=6).map(styled).collect::<String>(),
            (7..=7).map(styled).collect::<String>(),
        );
        // A classifier that doubts everything outside the container, mildly.
        let (lin, heuristic, keep) = kept_trusting_the_container(&html, 0.15);
        let in_container = |start: &str| {
            kept_texts(&lin, &heuristic)
                .iter()
                .any(|t| t.starts_with(start))
        };
        assert!(in_container("Paragraph 1") && !in_container("Paragraph 7"));
        let kept = kept_texts(&lin, &keep);
        assert!(
            kept.iter().any(|t| t.starts_with("Paragraph 7")),
            "{kept:?}"
        );
        assert!(
            !kept.iter().any(|t| t.starts_with("Our newsletter")),
            "{kept:?}"
        );
    }

    #[test]
    fn the_linked_items_of_a_kept_list_are_kept() {
        let item = |n: usize, linked: bool| {
            let what = format!("the fix for bug {n} in the print preview, which now opens faster");
            if linked {
                format!("<li><a href=\"/bug/{n}\">{what}</a></li>")
            } else {
                format!("<li>Ana landed {what}.</li>")
            }
        };
        let html = format!(
            "<html><body><div class=\"story\"><h1>This week in the browser</h1>{}<ul>{}</ul>\
             </div></body></html>",
            (1..=4).map(report).collect::<String>(),
            (1..=6).map(|n| item(n, n % 3 == 0)).collect::<String>(),
        );
        // A classifier that trusts what the container chose and nothing else.
        let (lin, _, keep) = kept_trusting_the_container(&html, 0.01);
        let linked: Vec<bool> = lin
            .blocks
            .iter()
            .zip(&keep)
            .filter(|(b, _)| b.text.starts_with("the fix"))
            .map(|(_, k)| *k)
            .collect();
        assert_eq!(linked, [true, true], "{:?}", lin.blocks);
    }

    #[test]
    fn a_shortened_copy_of_a_printed_line_is_dropped() {
        let full = "The mayor at the tram depot on Tuesday, where the council met to vote on \
                    the extension of the line to the harbour.";
        let html = format!(
            "<html><body><div class=\"story\"><div class=\"caption-full\">{full}</div>\
             <div class=\"caption-short\">The mayor at the tram depot on Tuesday, where the \
             council met ... more</div>{}<p>Stop list, in full: Market Square, Old Bridge, \
             Harbour Gate...</p></div></body></html>",
            (1..=3).map(report).collect::<String>(),
        );
        let doc = scraper::Html::parse_document(&html);
        let lin = crate::blocks::linearize(&doc);
        let all = vec![true; lin.blocks.len()];
        let text = render(&lin, &all, &all, None).join("\n");
        assert_eq!(
            text.matches("The mayor at the tram depot").count(),
            1,
            "{text}"
        );
        // An ellipsis that shortens nothing printed before is the author's.
        assert!(text.contains("Harbour Gate..."), "{text}");
    }

    #[test]
    fn a_caption_printed_twice_in_the_article_is_kept_once() {
        let caption = "<div class=\"photo-caption\">The mayor at the tram depot on Tuesday, \
                       where the council met to vote on the extension.</div>";
        let line = "<p>Stop list: Market Square, Old Bridge, Harbour Gate.</p>";
        let html = format!(
            "<html><body><div class=\"story\"><h1>Tram line to grow</h1>{caption}{}\
             {caption}{line}{}{line}</div></body></html>",
            (1..=3).map(report).collect::<String>(),
            (4..=6).map(report).collect::<String>(),
        );
        let doc = scraper::Html::parse_document(&html);
        let lin = crate::blocks::linearize(&doc);
        let all = vec![true; lin.blocks.len()];
        let text = render(&lin, &all, &all, None).join("\n");
        assert_eq!(
            text.matches("The mayor at the tram depot").count(),
            1,
            "{text}"
        );
        // A repeated line that is not a caption is the author's (recipes, timetables).
        assert_eq!(text.matches("Stop list").count(), 2, "{text}");
    }

    #[test]
    fn a_post_embedded_in_the_article_is_kept() {
        let tweet = "<div class=\"social-media-embed\"><blockquote class=\"twitter-tweet\">\
                     <p>The council has just voted to extend the tram line by four kilometres, \
                     and the works start in spring.</p>— City Hall (@cityhall) May 4, 2021\
                     </blockquote></div>";
        let html = format!(
            "<html><body><div class=\"story\"><h1>Tram line to grow</h1>{}{tweet}{}</div>\
             </body></html>",
            (1..=3).map(report).collect::<String>(),
            (4..=6).map(report).collect::<String>(),
        );
        // A classifier that trusts the container alone, as one that never saw such embeds.
        let (lin, _, keep) = kept_trusting_the_container(&html, 0.01);
        let kept = kept_texts(&lin, &keep);
        assert!(
            kept.iter()
                .any(|t| t.starts_with("The council has just voted")),
            "{kept:?}"
        );
        assert!(!kept.iter().any(|t| t.contains("@cityhall")), "{kept:?}");
        assert!(
            kept.iter().any(|t| t.starts_with("Paragraph 6")),
            "{kept:?}"
        );
    }

    #[test]
    fn a_doubted_paragraph_between_kept_ones_is_kept() {
        let html = format!(
            "<html><body><div class=\"story\"><h1>Tram line to grow</h1>{}</div></body></html>",
            (1..=6).map(report).collect::<String>(),
        );
        let doc = scraper::Html::parse_document(&html);
        let lin = crate::blocks::linearize(&doc);
        let heuristic = heuristic_keep(&lin, &opinions(&lin), &PageHints::default());
        let index = |n: &str| {
            lin.blocks
                .iter()
                .position(|b| b.text.starts_with(&format!("Paragraph {n} ")))
                .unwrap()
        };
        let mut p = vec![0.99; lin.blocks.len()];
        p[index("2")] = 0.3; // mild doubt in the middle: kept
        p[index("4")] = 0.05; // plainly rejected: stays out
        p[index("6")] = 0.3; // mild doubt at the end: not "between", but styled like the text
        let keep = keep_mask(&lin, &p, &heuristic, 0.5);
        assert!(heuristic[index("2")] && heuristic[index("6")]);
        assert!(keep[index("2")]);
        assert!(!keep[index("4")]);
        assert!(keep[index("5")]);
        assert!(keep[index("6")]);
        // Plainly rejected at the end stays out too.
        p[index("6")] = 0.05;
        let keep = keep_mask(&lin, &p, &heuristic, 0.5);
        assert!(!keep[index("6")]);
    }

    #[test]
    fn a_reference_list_after_the_article_is_kept() {
        let reference = |n: usize| {
            format!(
                "<li><a href=\"/doc/{n}\">Council minutes, meeting {n}</a>, the record of \
                 the vote and of the consultation that came before it.</li>"
            )
        };
        let html = format!(
            "<html><body><div class=\"story\"><h1>Tram line to grow</h1>{}</div><div><ul>{}\
             </ul></div></body></html>",
            (1..=6).map(report).collect::<String>(),
            (1..=4).map(reference).collect::<String>(),
        );
        let kept = kept_by_a_credulous_classifier(&html);
        assert!(
            kept.iter().any(|t| t.starts_with("Council minutes")),
            "{kept:?}"
        );
    }
}
