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

/// The elements chosen to hold the article, each with its depth.
type Chosen = HashMap<NodeId, u16>;

/// How much a candidate inside an element named like chrome keeps of its score.
#[derive(Clone, Copy)]
enum ChromeNames {
    /// Inside a popup, a comment or a gallery, even a long text is rarely the article.
    Penalize,
    /// Layout wrappers named like chrome (`l-sidebar-fixed`) are common too: the second
    /// opinion trusts only the text.
    Ignore,
}

/// Picks the elements that hold the article text.
fn choose_containers(lin: &Linearized, names: ChromeNames) -> Option<Chosen> {
    ranked_containers(lin, names, None)
}

/// The container choice; with `ranking`, every candidate's final score is also reported
/// (for [`explain`]).
///
/// Chrome names (`comments`, `share`, `widget`...) count only below a candidate: a share
/// bar inside an article neither votes for it nor dilutes its link density, while a
/// wrapper named like chrome (`sidebar-layout`, `elementor-widget-container`) can still hold
/// the article.
fn ranked_containers(
    lin: &Linearized,
    names: ChromeNames,
    mut ranking: Option<&mut Vec<(NodeId, f32, usize, f32)>>,
) -> Option<Chosen> {
    let mut tallies: HashMap<NodeId, Tally> = HashMap::new();
    for block in &lin.blocks {
        let n = block.chars();
        let weight = block.weight();
        for (depth, id) in block.ancestors.iter().enumerate() {
            if block.chrome_below(depth as u16) {
                continue;
            }
            let t = tallies.entry(*id).or_default();
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
            tallies.entry(*id).or_default().score += score / divider;
        }
    }

    let final_score = |info: &ElementInfo, t: &Tally| -> f32 {
        let link_density = if t.chars == 0 {
            0.0
        } else {
            t.link_chars as f32 / t.chars as f32
        };
        // Where every candidate is inside chrome (page builders name all blocks `widget`)
        // the order holds.
        let chrome = match names {
            ChromeNames::Penalize if info.in_chrome => 0.5,
            _ => 1.0,
        };
        (t.score + tag_prior(&info.tag) + info.class_weight as f32) * (1.0 - link_density) * chrome
    };

    let mut best: Option<(NodeId, f32)> = None;
    for (id, t) in &tallies {
        if t.score <= 0.0 {
            continue;
        }
        let Some(info) = lin.elements.get(id) else {
            continue;
        };
        if info.tag == "html" {
            continue;
        }
        let s = final_score(info, t);
        if let Some(r) = ranking.as_deref_mut() {
            r.push((*id, s, t.chars, t.link_chars as f32 / t.chars.max(1) as f32));
        }
        if best.map(|(_, b)| s > b).unwrap_or(true) {
            best = Some((*id, s));
        }
    }
    let (top, top_score) = best?;
    let top_info = lin.elements.get(&top)?;
    let mut chosen = HashMap::from([(top, top_info.depth)]);

    // Content split over several sibling containers (a lead box, then the body) is common.
    if let Some(parent) = top_info.parent {
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
                chosen.insert(*id, info.depth);
            }
        }
    }
    Some(chosen)
}

/// The depth of the chosen container holding `block`, if one does.
fn container_depth(block: &Block, containers: &Chosen) -> Option<u16> {
    block
        .ancestors
        .iter()
        .rev()
        .find_map(|id| containers.get(id).copied())
}

/// Returns the article paragraphs, in document order.
pub(crate) fn main_text(lin: &Linearized, title: Option<&str>) -> Vec<String> {
    let primary = select(lin, title, ChromeNames::Penalize);
    let chars = |ps: &[String]| ps.iter().map(|p| p.chars().count()).sum::<usize>();
    let primary_chars = chars(&primary);
    // A short first choice next to a much longer second opinion usually means a teaser or
    // a hero box won over a body wrapped in an element named like chrome.
    if primary_chars < 1000 {
        let second = select(lin, title, ChromeNames::Ignore);
        if chars(&second) >= primary_chars * 2 + 200 {
            return second;
        }
    }
    primary
}

fn select(lin: &Linearized, title: Option<&str>, names: ChromeNames) -> Vec<String> {
    let Some(containers) = choose_containers(lin, names) else {
        return Vec::new();
    };
    let title_key = title.map(normalize_for_compare);
    let mut out: Vec<String> = Vec::new();
    let mut body_chars = 0usize;
    let mut seen: HashSet<String> = HashSet::new();
    for block in &lin.blocks {
        let Some(depth) = container_depth(block, &containers) else {
            continue;
        };
        if block.chrome_below(depth) {
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
        // Galleries and sticky headers repeat captions and teasers; a paragraph of prose
        // that repeats is the author's.
        let prose = block.kind == BlockKind::Paragraph
            && text.chars().count() >= 150
            && ends_like_sentence(&text);
        if !prose
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

fn ends_like_sentence(text: &str) -> bool {
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
fn same_headline(title: &str, heading: &str) -> bool {
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

/// A developer's view of one page: the best-scoring containers, the choice, and every
/// block with whether it was kept. Not a stable format.
pub fn explain(doc: &scraper::Html, lin: &Linearized, title: Option<&str>) -> String {
    use std::fmt::Write;
    let label = |id: NodeId| -> String {
        let Some(node) = doc.tree.get(id) else {
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
            let _ = write!(l, ".{}", c.split_whitespace().collect::<Vec<_>>().join(".").chars().take(50).collect::<String>());
        }
        l
    };
    let mut out = String::new();
    let mut ranking = Vec::new();
    let chosen = ranked_containers(lin, ChromeNames::Penalize, Some(&mut ranking)).unwrap_or_default();
    ranking.sort_by(|a, b| b.1.total_cmp(&a.1));
    let _ = writeln!(out, "candidates:");
    for (id, score, chars, ld) in ranking.iter().take(12) {
        let mark = if chosen.contains_key(id) { "*" } else { " " };
        let _ = writeln!(out, " {mark} {score:8.1}  {chars:>6} chars  links {ld:.2}  {}", label(*id));
    }
    let kept: HashSet<String> = main_text(lin, title).into_iter().collect();
    let _ = writeln!(out, "blocks:");
    for b in &lin.blocks {
        let first = b.text.lines().next().unwrap_or_default();
        let keep = if kept.iter().any(|k| k.contains(first)) { "K" } else { "-" };
        let flags = format!(
            "{}{}{}",
            if container_depth(b, &chosen).is_some() { "in " } else { "   " },
            if b.boilerplate() { "bp " } else { "   " },
            format!("{:?}", b.kind).chars().take(4).collect::<String>()
        );
        let holder = b.ancestors.iter().rev().take(2).map(|id| label(*id)).collect::<Vec<_>>().join(" < ");
        let _ = writeln!(
            out,
            "{keep} {flags} {:>5} ld {:.2} | {} | {}",
            b.chars(),
            b.link_density(),
            first.chars().take(70).collect::<String>(),
            holder.chars().take(80).collect::<String>()
        );
    }
    out
}
