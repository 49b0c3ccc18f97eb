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
    /// Characters of `text` that are inside links.
    pub link_chars: usize,
    pub kind: BlockKind,
    /// Element ids from the root down to the element holding the block (capped).
    pub ancestors: Vec<NodeId>,
    /// Depth (index into `ancestors`) of the deepest enclosing element whose class or id
    /// marks it as page chrome, if any. Whether that makes the block chrome depends on where
    /// the article container is: chrome inside the container is dropped, a "chrome" name on
    /// a wrapper around the container is a misnomer.
    pub chrome_depth: Option<u16>,
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
        self.text.chars().count()
    }

    /// Length that compares across scripts: a CJK character carries about as much as a
    /// short word, so it counts three times.
    pub fn weight(&self) -> usize {
        text_weight(&self.text)
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
    text.chars()
        .map(|c| match c as u32 {
            0x3040..=0x30FF
            | 0x3400..=0x4DBF
            | 0x4E00..=0x9FFF
            | 0xAC00..=0xD7AF
            | 0xF900..=0xFAFF => 3,
            _ => 1,
        })
        .sum()
}

/// Per-element facts the scorer needs, gathered during the walk.
#[derive(Debug, Clone)]
pub(crate) struct ElementInfo {
    pub tag: String,
    pub class_weight: i32,
    pub parent: Option<NodeId>,
    /// Number of ancestors (the root element is at depth 0).
    pub depth: u16,
    /// The element or one of its ancestors is named like page chrome.
    pub in_chrome: bool,
}

pub(crate) struct Linearized {
    pub blocks: Vec<Block>,
    pub elements: std::collections::HashMap<NodeId, ElementInfo>,
}

struct Open {
    id: NodeId,
    block: bool,
    link: bool,
    chrome: bool,
    kind: BlockKind,
}

struct Builder {
    blocks: Vec<Block>,
    text: String,
    link_chars: usize,
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
        if text.is_empty() {
            return;
        }
        let kind = closing
            .into_iter()
            .chain(stack.iter().rev())
            .find(|o| o.block)
            .map(|o| o.kind)
            .unwrap_or(BlockKind::Loose);
        let link_chars = link_chars.min(text.chars().count());
        self.blocks.push(Block {
            text,
            link_chars,
            kind,
            ancestors: stack
                .iter()
                .chain(closing)
                .take(MAX_TRACKED_DEPTH)
                .map(|o| o.id)
                .collect(),
            chrome_depth,
        });
    }
}

pub(crate) fn linearize(doc: &Html) -> Linearized {
    let mut builder = Builder {
        blocks: Vec::new(),
        text: String::new(),
        link_chars: 0,
        pending_space: false,
    };
    let mut elements = std::collections::HashMap::new();
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
                    if rules::is_skipped_element(el) {
                        skipping = 1;
                        continue;
                    }
                    if tag == "br" {
                        builder.line_break();
                        continue;
                    }
                    if matches!(tag, "td" | "th") {
                        // Cells stay on their row's line, separated like words.
                        builder.pending_space = true;
                    }
                    let block = rules::is_block_tag(tag);
                    if block {
                        builder.flush(&stack, None, chrome.last().copied());
                    }
                    let depth = stack.len().min(MAX_TRACKED_DEPTH - 1) as u16;
                    let is_chrome = rules::is_boilerplate_container(el);
                    if is_chrome {
                        chrome.push(depth);
                    }
                    if stack.len() < MAX_TRACKED_DEPTH {
                        elements.insert(
                            node.id(),
                            ElementInfo {
                                tag: tag.to_string(),
                                class_weight: rules::class_weight(el),
                                parent: stack.last().map(|o| o.id),
                                depth,
                                in_chrome: !chrome.is_empty(),
                            },
                        );
                    }
                    stack.push(Open {
                        id: node.id(),
                        block,
                        link: tag == "a",
                        chrome: is_chrome,
                        kind: rules::block_kind(tag),
                    });
                }
                Node::Text(t) if skipping == 0 => {
                    let in_link = stack.iter().rev().take(8).any(|o| o.link);
                    builder.push_text(t, in_link);
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
