//! Linearizes a parsed page into text blocks, each remembering the elements it sits in.
//!
//! The walk is iterative (ego-tree's `traverse`), so pathological nesting cannot overflow
//! the stack; ancestor chains are capped at [`MAX_TRACKED_DEPTH`] so memory stays linear.

use ego_tree::iter::Edge;
use ego_tree::NodeId;
use scraper::{Html, Node};

use crate::rules;

/// Deeper elements are treated as part of the element at this depth.
pub(crate) const MAX_TRACKED_DEPTH: usize = 256;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BlockKind {
    Heading(u8),
    Paragraph,
    ListItem,
    Quote,
    Preformatted,
    Cell,
    /// Text directly inside a generic container (div, section, td...).
    Loose,
}

#[derive(Debug, Clone)]
pub(crate) struct Block {
    pub text: String,
    /// Characters of `text` (counted once: every stage asks).
    n_chars: usize,
    /// Script-weighted length of `text` (see [`Block::weight`]).
    n_weight: usize,
    /// Characters of `text` that are inside links.
    pub link_chars: usize,
    /// The text starts inside a link (a teaser's linked title, a menu entry).
    pub starts_with_link: bool,
    pub kind: BlockKind,
    /// Elements (indices into `Linearized::elements`) from the root down to the element
    /// holding the block (capped).
    pub ancestors: Vec<Elem>,
    /// Depth (index into `ancestors`) of the deepest enclosing element whose class or id
    /// marks it as page chrome, if any. Whether that makes the block chrome depends on where
    /// the article container is: chrome inside the container is dropped, a "chrome" name on
    /// a wrapper around the container is a misnomer.
    pub chrome_depth: Option<u16>,
    /// Class-word [`rules::groups`] of the holder and its two nearest ancestors.
    pub groups_near: u16,
    /// Class-word groups of every ancestor.
    pub groups_any: u16,
    /// Class-word groups of the element holding the text itself.
    pub groups_holder: u16,
    /// Inside a `<blockquote>`: a quotation, or a social post embedded in the text.
    pub in_quote: bool,
    /// How the holder and its parent are styled (tags and class attributes hashed), 0
    /// when neither has a class: paragraphs of one text share it, whatever their section.
    pub style: u64,
    /// Class weight of the holder, and the largest and smallest along the ancestors.
    pub class_holder: i16,
    pub class_max: i16,
    pub class_min: i16,
    /// Inside a table cell: a column header saying "Comment" is not a comment section.
    pub in_cell: bool,
}

impl Block {
    /// Inside some element named like chrome.
    pub fn boilerplate(&self) -> bool {
        self.chrome_depth.is_some()
    }

    /// Whether the block is chrome for a container at depth `container_depth` (an element
    /// named like chrome lies between the container and the block).
    pub fn chrome_below(&self, container_depth: u16) -> bool {
        self.chrome_depth.is_some_and(|d| d > container_depth)
    }

    pub fn chars(&self) -> usize {
        self.n_chars
    }

    /// Length that compares across scripts: a CJK character carries about as much as a
    /// short word, so it counts three times.
    pub fn weight(&self) -> usize {
        self.n_weight
    }

    pub fn link_density(&self) -> f32 {
        let n = self.chars();
        if n == 0 {
            0.0
        } else {
            self.link_chars as f32 / n as f32
        }
    }
}

pub(crate) fn text_weight(text: &str) -> usize {
    text.chars().map(|c| if is_cjk(c) { 3 } else { 1 }).sum()
}

/// Kana, CJK ideographs and Hangul: scripts written without spaces between words.
pub(crate) fn is_cjk(c: char) -> bool {
    matches!(
        c as u32,
        0x3040..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xAC00..=0xD7AF | 0xF900..=0xFAFF
    )
}

/// An element's index in `Linearized::elements`: dense, so per-element tallies are
/// vectors rather than hash maps.
pub(crate) type Elem = u32;

/// Per-element facts the scorer needs, gathered during the walk.
#[derive(Debug, Clone)]
pub(crate) struct ElementInfo {
    /// The element in the parsed document.
    pub node: NodeId,
    /// Readability-style weight of the tag (article and main above div above lists).
    pub tag_prior: f32,
    /// A `<p>`.
    pub is_paragraph: bool,
    /// `<html>`, never a candidate.
    pub is_root: bool,
    pub class_weight: i32,
    pub parent: Option<Elem>,
    /// Number of ancestors (the root element is at depth 0).
    pub depth: u16,
    /// The element or one of its ancestors is named like page chrome.
    pub in_chrome: bool,
    /// Hash of the tag and class attribute; 0 when it has no class.
    pub style: u64,
}

pub(crate) struct Linearized {
    pub blocks: Vec<Block>,
    pub elements: Vec<ElementInfo>,
}

/// Elements deeper than [`MAX_TRACKED_DEPTH`] get no index.
const UNTRACKED: Elem = Elem::MAX;

struct Open {
    id: Elem,
    /// Hash of the tag and its class attribute, 0 when it has no class.
    style: u64,
    block: bool,
    link: bool,
    chrome: bool,
    kind: BlockKind,
    groups: u16,
    /// Groups of this element and all its ancestors.
    groups_cum: u16,
    class_weight: i16,
    class_max: i16,
    class_min: i16,
}

/// The tag and class attribute of an element as one hash (0 without a class).
fn style_of(tag: &str, class: Option<&str>) -> u64 {
    use std::hash::{Hash, Hasher};
    let Some(class) = class.map(str::trim).filter(|c| !c.is_empty()) else {
        return 0;
    };
    let mut h = rustc_hash::FxHasher::default();
    tag.hash(&mut h);
    class.hash(&mut h);
    h.finish().max(1)
}

/// A `<noscript>` whose whole text is markup: an ad's fallback (`<div><a href=...><img
/// ...></a></div>`) that its template escaped once more, so a parser reads it as text.
/// Read as text it would put tags into the article; markup a page escapes inside its
/// prose (a how-to quoting `<div>`) is not the whole text of a `<noscript>`.
fn escaped_fallback_markup(node: ego_tree::NodeRef<'_, Node>, text: &str) -> bool {
    let in_noscript = node
        .parent()
        .and_then(|p| p.value().as_element().map(|e| e.name() == "noscript"))
        .unwrap_or(false);
    let t = text.trim();
    in_noscript
        && t.starts_with('<')
        && t.ends_with('>')
        && t[1..].starts_with(|c: char| c.is_ascii_alphabetic())
}

/// Text without the comment delimiters broken templates leave in it (a `-->` after a
/// comment that was never opened, a `<!--` inside a text node): they are not words.
fn without_comment_marks(t: &str) -> std::borrow::Cow<'_, str> {
    // Every delimiter holds "--": one scan decides for nearly every text node.
    if memchr::memmem::find(t.as_bytes(), b"--").is_none() {
        return std::borrow::Cow::Borrowed(t);
    }
    std::borrow::Cow::Owned(
        t.replace("<!--", " ")
            .replace("--!>", " ")
            .replace("-->", " "),
    )
}

struct Builder {
    blocks: Vec<Block>,
    text: String,
    link_chars: usize,
    starts_with_link: bool,
    pending_space: bool,
}

impl Builder {
    fn push_text(&mut self, s: &str, in_link: bool) {
        for c in s.chars() {
            if c.is_whitespace() || c == '\u{a0}' || c == '\u{200b}' {
                self.pending_space = true;
                continue;
            }
            if self.pending_space && !self.text.is_empty() && !self.text.ends_with('\n') {
                self.text.push(' ');
                if in_link {
                    self.link_chars += 1;
                }
            }
            self.pending_space = false;
            if self.text.is_empty() {
                self.starts_with_link = in_link;
            }
            self.text.push(c);
            if in_link {
                self.link_chars += 1;
            }
        }
    }

    fn line_break(&mut self) {
        if !self.text.is_empty() && !self.text.ends_with('\n') {
            self.text.push('\n');
        }
        self.pending_space = false;
    }

    fn flush(&mut self, stack: &[Open], closing: Option<&Open>, chrome_depth: Option<u16>) {
        let text = self.text.trim().to_string();
        self.text.clear();
        self.pending_space = false;
        let link_chars = std::mem::take(&mut self.link_chars);
        let starts_with_link = std::mem::take(&mut self.starts_with_link);
        if text.is_empty() {
            return;
        }
        let kind = closing
            .into_iter()
            .chain(stack.iter().rev())
            .find(|o| o.block)
            .map(|o| o.kind)
            .unwrap_or(BlockKind::Loose);
        let n_chars = text.chars().count();
        let n_weight = text_weight(&text);
        let link_chars = link_chars.min(n_chars);
        let chain = || stack.iter().chain(closing);
        let groups_near = chain().rev().take(3).fold(0, |acc, o| acc | o.groups);
        let holder = chain().last();
        let groups_any = holder.map(|o| o.groups_cum).unwrap_or(0);
        self.blocks.push(Block {
            text,
            n_chars,
            n_weight,
            link_chars,
            starts_with_link,
            kind,
            ancestors: stack
                .iter()
                .chain(closing)
                .take(MAX_TRACKED_DEPTH)
                .map(|o| o.id)
                .collect(),
            chrome_depth,
            groups_near,
            groups_any,
            groups_holder: holder.map(|o| o.groups).unwrap_or(0),
            in_quote: chain().any(|o| o.kind == BlockKind::Quote),
            style: {
                let mut near = chain().rev().take(2).map(|o| o.style);
                let (holder, parent) = (near.next().unwrap_or(0), near.next().unwrap_or(0));
                if holder == 0 && parent == 0 {
                    0
                } else {
                    holder.rotate_left(17) ^ parent
                }
            },
            class_holder: holder.map(|o| o.class_weight).unwrap_or(0),
            class_max: holder.map(|o| o.class_max).unwrap_or(0),
            class_min: holder.map(|o| o.class_min).unwrap_or(0),
            in_cell: chain().any(|o| o.kind == BlockKind::Cell),
        });
    }
}

/// Linearizes a page; when that leaves almost no prose although the page holds plenty, the
/// page is linearized again skipping only what is never text (scripts, styles, forms):
/// malformed pages nest their article inside a navigation or banner element, or inside
/// one hidden until a script runs.
pub(crate) fn linearize(doc: &Html) -> Linearized {
    let strict = linearize_with(doc, true);
    if strict.prose_weight() >= 200 {
        return strict;
    }
    let relaxed = linearize_with(doc, false);
    if relaxed.prose_weight() >= 1000 {
        relaxed
    } else {
        strict
    }
}

impl Linearized {
    /// Script-weighted length of the blocks that read like prose.
    fn prose_weight(&self) -> usize {
        self.blocks
            .iter()
            .filter(|b| b.weight() >= 80 && b.link_density() < 0.3)
            .map(Block::weight)
            .sum()
    }
}

fn linearize_with(doc: &Html, strict: bool) -> Linearized {
    let mut builder = Builder {
        blocks: Vec::new(),
        text: String::new(),
        link_chars: 0,
        starts_with_link: false,
        pending_space: false,
    };
    let mut elements: Vec<ElementInfo> = Vec::new();
    let mut stack: Vec<Open> = Vec::new();
    // Depth inside a subtree whose text is never content (script, style, nav...).
    let mut skipping = 0usize;
    // Depths of the open elements marked as page chrome.
    let mut chrome: Vec<u16> = Vec::new();

    for edge in doc.tree.root().traverse() {
        match edge {
            Edge::Open(node) => match node.value() {
                Node::Element(el) => {
                    if skipping > 0 {
                        skipping += 1;
                        continue;
                    }
                    let tag = el.name();
                    let class = rules::classify(el);
                    if class.skipped && (strict || rules::never_text(tag)) {
                        skipping = 1;
                        continue;
                    }
                    if tag == "br" {
                        builder.line_break();
                        continue;
                    }
                    if matches!(tag, "td" | "th" | "mi" | "mn" | "mo" | "mtext") {
                        // Cells stay on their row's line, separated like words; so do the
                        // symbols of a MathML formula, which pages often write without
                        // spaces (`<mi>a</mi><mi>x</mi>` is "a x", not the word "ax").
                        builder.pending_space = true;
                    }
                    let block = rules::is_block_tag(tag);
                    if block {
                        builder.flush(&stack, None, chrome.last().copied());
                    }
                    let depth = stack.len().min(MAX_TRACKED_DEPTH - 1) as u16;
                    let is_chrome = class.chrome;
                    let cw = class.class_weight.clamp(-1000, 1000) as i16;
                    if is_chrome {
                        chrome.push(depth);
                    }
                    let style = style_of(tag, el.attr("class"));
                    let id = if stack.len() < MAX_TRACKED_DEPTH {
                        elements.push(ElementInfo {
                            style,
                            node: node.id(),
                            tag_prior: rules::tag_prior(tag),
                            is_paragraph: tag == "p",
                            is_root: tag == "html",
                            class_weight: class.class_weight,
                            parent: stack.last().map(|o| o.id),
                            depth,
                            in_chrome: !chrome.is_empty(),
                        });
                        (elements.len() - 1) as Elem
                    } else {
                        UNTRACKED
                    };
                    stack.push(Open {
                        id,
                        style,
                        block,
                        link: tag == "a",
                        chrome: is_chrome,
                        kind: rules::block_kind(tag),
                        groups: class.groups,
                        groups_cum: class.groups | stack.last().map(|o| o.groups_cum).unwrap_or(0),
                        class_weight: cw,
                        class_max: stack.last().map(|o| o.class_max.max(cw)).unwrap_or(cw),
                        class_min: stack.last().map(|o| o.class_min.min(cw)).unwrap_or(cw),
                    });
                }
                Node::Text(t) if skipping == 0 => {
                    if escaped_fallback_markup(node, t) {
                        continue;
                    }
                    let in_link = stack.iter().rev().take(8).any(|o| o.link);
                    builder.push_text(&without_comment_marks(t), in_link);
                }
                _ => {}
            },
            Edge::Close(node) => {
                if let Node::Element(el) = node.value() {
                    if skipping > 0 {
                        skipping -= 1;
                        continue;
                    }
                    if el.name() == "br" {
                        continue;
                    }
                    if let Some(open) = stack.pop() {
                        if open.block {
                            builder.flush(&stack, Some(&open), chrome.last().copied());
                        }
                        if open.chrome {
                            chrome.pop();
                        }
                    }
                }
            }
        }
    }
    builder.flush(&stack, None, chrome.last().copied());
    Linearized {
        blocks: builder.blocks,
        elements,
    }
}
