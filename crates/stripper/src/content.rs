//! Main-content selection: score containers by the paragraph text they hold
//! (readability-style), keep the best one and its content-like siblings, then drop the
//! chrome that lives inside article containers (read-more lines, tag lists, comment forms).

use std::collections::{HashMap, HashSet};

use ego_tree::NodeId;

use crate::blocks::{Block, BlockKind, ElementInfo, Linearized};
use crate::rules;

/// Blocks shorter than this do not vote for their containers.
const MIN_SCORING_CHARS: usize = 25;

#[derive(Default, Clone, Copy)]
struct Tally {
    score: f32,
    chars: usize,
    link_chars: usize,
    /// Script-weighted length of the text (see `Block::weight`).
    weight: usize,
}

fn tag_prior(tag: &str) -> f32 {
    match tag {
        "article" | "main" => 10.0,
        "div" | "section" => 5.0,
        "pre" | "td" | "blockquote" => 3.0,
        "address" | "ol" | "ul" | "dl" | "dd" | "dt" | "li" | "form" => -3.0,
        "h1" | "h2" | "h3" | "h4" | "h5" | "h6" | "th" => -5.0,
        _ => 0.0,
    }
}

fn is_paragraph_like(kind: BlockKind) -> bool {
    matches!(
        kind,
        BlockKind::Paragraph | BlockKind::Quote | BlockKind::Preformatted | BlockKind::Loose
    )
}

fn commas(text: &str) -> usize {
    text.chars()
        .filter(|c| matches!(c, ',' | '،' | '，' | '、' | '。' | '؛' | ';'))
        .count()
}

/// Picks the elements that hold the article text.
fn choose_containers(lin: &Linearized, use_boilerplate_flags: bool) -> Option<HashSet<NodeId>> {
    let mut tallies: HashMap<NodeId, Tally> = HashMap::new();
    for block in &lin.blocks {
        if use_boilerplate_flags && block.boilerplate {
            continue;
        }
        let n = block.chars();
        let weight = block.weight();
        for id in &block.ancestors {
            let t = tallies.entry(*id).or_default();
            t.chars += n;
            t.link_chars += block.link_chars;
            t.weight += weight;
        }
        if weight < MIN_SCORING_CHARS
            || !is_paragraph_like(block.kind)
            || block.link_density() > 0.5
        {
            continue;
        }
        let score = 1.0 + commas(&block.text) as f32 + (weight as f32 / 100.0).min(3.0);
        // The element holding the text is the paragraph itself; its container and the
        // container's container are the candidates.
        let holder_is_paragraph = matches!(block.kind, BlockKind::Paragraph | BlockKind::Quote);
        let mut levels = block.ancestors.iter().rev();
        if holder_is_paragraph {
            levels.next();
        }
        for (level, id) in levels.take(5).enumerate() {
            let divider = match level {
                0 => 1.0,
                1 => 2.0,
                l => l as f32 * 3.0,
            };
            tallies.entry(*id).or_default().score += score / divider;
        }
    }

    let final_score = |info: &ElementInfo, t: &Tally| -> f32 {
        let link_density = if t.chars == 0 {
            0.0
        } else {
            t.link_chars as f32 / t.chars as f32
        };
        (t.score + tag_prior(&info.tag) + info.class_weight as f32) * (1.0 - link_density)
    };

    let mut best: Option<(NodeId, f32)> = None;
    for (id, t) in &tallies {
        if t.score <= 0.0 {
            continue;
        }
        let Some(info) = lin.elements.get(id) else {
            continue;
        };
        if matches!(info.tag.as_str(), "html" | "body") {
            continue;
        }
        let s = final_score(info, t);
        if best.map(|(_, b)| s > b).unwrap_or(true) {
            best = Some((*id, s));
        }
    }
    let (top, top_score) = best?;
    let mut chosen = HashSet::from([top]);

    // Content split over several sibling containers (a lead box, then the body) is common.
    if let Some(parent) = lin.elements.get(&top).and_then(|i| i.parent) {
        let threshold = (top_score * 0.2).max(10.0);
        for (id, info) in &lin.elements {
            if info.parent != Some(parent) || *id == top {
                continue;
            }
            let Some(t) = tallies.get(id) else { continue };
            let link_density = t.link_chars as f32 / t.chars.max(1) as f32;
            // A lead paragraph standing beside the body container.
            let lead_paragraph = info.tag == "p" && t.weight >= 80 && link_density < 0.25;
            if lead_paragraph || (t.score > 0.0 && final_score(info, t) >= threshold) {
                chosen.insert(*id);
            }
        }
    }
    Some(chosen)
}

fn inside(block: &Block, containers: &HashSet<NodeId>) -> bool {
    block.ancestors.iter().any(|id| containers.contains(id))
}

/// Returns the article paragraphs, in document order.
pub(crate) fn main_text(lin: &Linearized, title: Option<&str>) -> Vec<String> {
    let mut paragraphs = select(lin, title, true);
    let total: usize = paragraphs.iter().map(|p| p.chars().count()).sum();
    if total < 200 {
        // Some templates put the whole page in a wrapper named like chrome
        // (`sidebar-layout`, `has-comments`...): retry trusting only the scores.
        let relaxed = select(lin, title, false);
        let relaxed_total: usize = relaxed.iter().map(|p| p.chars().count()).sum();
        if relaxed_total > total * 2 {
            paragraphs = relaxed;
        }
    }
    paragraphs
}

fn select(lin: &Linearized, title: Option<&str>, use_boilerplate_flags: bool) -> Vec<String> {
    let Some(containers) = choose_containers(lin, use_boilerplate_flags) else {
        return Vec::new();
    };
    let title_key = title.map(normalize_for_compare);
    let mut out: Vec<String> = Vec::new();
    let mut body_chars = 0usize;
    let mut seen: HashSet<String> = HashSet::new();
    for block in &lin.blocks {
        if !inside(block, &containers) || (use_boilerplate_flags && block.boilerplate) {
            continue;
        }
        if let BlockKind::Heading(level) = block.kind {
            if level == 1 || title_key.as_deref() == Some(&normalize_for_compare(&block.text)) {
                continue;
            }
        }
        let lines: Vec<&str> = block
            .text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        // A linked "Subscribe to ..." inside the body is an ad, not the end of the article.
        let end_marker =
            lines.len() == 1 && block.link_density() < 0.5 && rules::is_end_marker(lines[0]);
        if end_marker && body_chars >= 150 {
            break;
        }
        if block.link_density() > 0.5 && block.chars() < 400 {
            continue;
        }
        let kept: Vec<&str> = lines
            .into_iter()
            .filter(|l| {
                !rules::is_chrome_line(l) && !rules::is_term_list(l) && !rules::is_end_marker(l)
            })
            .collect();
        if kept.is_empty() {
            continue;
        }
        let text = kept.join("\n");
        // Galleries and sticky headers repeat captions and teasers; body paragraphs
        // practically never repeat verbatim.
        if out.last() == Some(&text) || (text.chars().count() >= 40 && !seen.insert(text.clone())) {
            continue;
        }
        body_chars += text.chars().count();
        out.push(text);
    }
    trim_trailing_chrome(&mut out);
    out
}

/// Short link-less lines left at the very end (bylines, "Photo: ...") are rarely content
/// when the body ended with a full paragraph before them.
fn trim_trailing_chrome(out: &mut Vec<String>) {
    while out.len() > 1 {
        let Some(last) = out.last() else { break };
        let looks_like_sentence = last.ends_with(['.', '!', '?', '。', '؟', '"', '”', '»']);
        if last.chars().count() < 20 && !looks_like_sentence {
            out.pop();
        } else {
            break;
        }
    }
}

pub(crate) fn normalize_for_compare(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// Paragraphs of a JSON-LD `articleBody` (plain text, or HTML as some publishers embed).
fn structured_paragraphs(body: &str) -> Vec<String> {
    let looks_html = body.contains("</p>") || body.contains("<p>") || body.contains("<br");
    let text = if looks_html {
        let doc = scraper::Html::parse_fragment(body);
        let lin = crate::blocks::linearize(&doc);
        return lin
            .blocks
            .into_iter()
            .map(|b| b.text)
            .filter(|t| !t.is_empty())
            .collect();
    } else {
        body.to_string()
    };
    text.split('\n')
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|l| !l.is_empty())
        .collect()
}

/// When the visible page holds only the start of the article (paywalls, "read more"
/// expanders, lazy loading) but its structured data holds all of it, the structured
/// body is the better text. It is used only when it starts like what was extracted
/// and is clearly longer, so a stale or unrelated articleBody cannot replace the page.
pub(crate) fn fuller_structured_body(extracted: &[String], body: &str) -> Option<Vec<String>> {
    let structured = structured_paragraphs(body);
    let structured_chars: usize = structured.iter().map(|p| p.chars().count()).sum();
    let extracted_chars: usize = extracted.iter().map(|p| p.chars().count()).sum();
    if structured_chars < 200 || (structured_chars as f64) < extracted_chars as f64 * 1.5 {
        return None;
    }
    let key = |s: &str| -> String {
        s.chars()
            .filter(|c| c.is_alphanumeric())
            .take(80)
            .collect::<String>()
            .to_lowercase()
    };
    let structured_key: String = structured
        .iter()
        .flat_map(|p| p.chars())
        .filter(|c| c.is_alphanumeric())
        .collect::<String>()
        .to_lowercase();
    let starts_alike = extracted
        .first()
        .map(|first| structured_key.contains(&key(first)))
        .unwrap_or(true);
    starts_alike.then_some(structured)
}
