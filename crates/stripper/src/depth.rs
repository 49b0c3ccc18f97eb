//! Guards the HTML parser against pathological nesting.
//!
//! html5ever checks element scopes by walking the stack of open elements, so a page with
//! 100k nested (or unclosed) elements costs O(depth²): tens of seconds. Real pages nest a
//! few dozen levels. Before parsing, a cheap tag scan measures the depth; only when it
//! exceeds [`MAX_DEPTH`] are the tags beyond that depth dropped (their text is kept).

use std::borrow::Cow;

/// Deeper markup than this is flattened before parsing.
pub(crate) const MAX_DEPTH: usize = 512;

/// Elements that never hold children, and elements whose end tag is optional (old pages
/// leave thousands of `<p>` and `<li>` unclosed; the parser closes them, so they add no depth).
const NOT_NESTING: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
    "track", "wbr", "keygen", "command", "p", "li", "dt", "dd", "tr", "td", "th", "thead", "tbody",
    "tfoot", "option", "optgroup", "rt", "rp", "colgroup",
];

/// A start or end tag found by the scan, as a byte range.
struct Tag {
    start: usize,
    end: usize,
    closing: bool,
    counts: bool,
}

/// Elements whose content is text to the parser, not markup: a `<div>` inside a script's
/// string must not count as nesting.
const RAW_TEXT: &[&str] = &[
    "script",
    "style",
    "textarea",
    "title",
    "xmp",
    "iframe",
    "noembed",
    "noframes",
    "plaintext",
];

/// Position of `needle` (ASCII, compared without case) at or after `from`.
fn find(bytes: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    let (&first, rest) = needle.split_first()?;
    let hay = bytes.get(from..)?;
    let mut at = 0;
    // Markup bytes are ASCII: search the first byte in both cases, then compare the rest.
    while let Some(p) = memchr::memchr2(
        first.to_ascii_lowercase(),
        first.to_ascii_uppercase(),
        &hay[at..],
    ) {
        let start = at + p;
        let tail = &hay[start + 1..];
        if tail.len() >= rest.len() && tail[..rest.len()].eq_ignore_ascii_case(rest) {
            return Some(from + start);
        }
        at = start + 1;
    }
    None
}

fn next_tag(bytes: &[u8], from: usize) -> Option<Tag> {
    let mut i = from;
    while i < bytes.len() {
        let lt = i + memchr::memchr(b'<', &bytes[i..])?;
        if bytes[lt..].starts_with(b"<!--") {
            i = find(bytes, lt + 4, b"-->").map(|e| e + 3)?;
            continue;
        }
        let mut j = lt + 1;
        let closing = bytes.get(j) == Some(&b'/');
        if closing {
            j += 1;
        }
        if !bytes.get(j).map(u8::is_ascii_alphabetic).unwrap_or(false) {
            i = lt + 1;
            continue;
        }
        let name_start = j;
        while j < bytes.len() && (bytes[j].is_ascii_alphanumeric() || bytes[j] == b'-') {
            j += 1;
        }
        let name = &bytes[name_start..j];
        let is = |list: &[&str]| list.iter().any(|n| n.as_bytes().eq_ignore_ascii_case(name));
        let gt = j + memchr::memchr(b'>', &bytes[j..])?;
        if !closing && is(RAW_TEXT) {
            // Skip to the end tag; the element itself adds no lasting depth.
            let mut close = b"</".to_vec();
            close.extend_from_slice(name);
            let end = find(bytes, gt + 1, &close)
                .and_then(|c| memchr::memchr(b'>', &bytes[c..]).map(|e| c + e + 1))
                .unwrap_or(bytes.len());
            return Some(Tag {
                start: lt,
                end,
                closing,
                counts: false,
            });
        }
        let self_closing = gt > 0 && bytes[gt - 1] == b'/';
        let counts = !is(NOT_NESTING) && !self_closing;
        return Some(Tag {
            start: lt,
            end: gt + 1,
            closing,
            counts,
        });
    }
    None
}

fn max_depth(html: &str) -> usize {
    let bytes = html.as_bytes();
    let (mut depth, mut max, mut pos) = (0usize, 0usize, 0usize);
    while let Some(tag) = next_tag(bytes, pos) {
        pos = tag.end;
        if !tag.counts {
            continue;
        }
        if tag.closing {
            depth = depth.saturating_sub(1);
        } else {
            depth += 1;
            max = max.max(depth);
        }
    }
    max
}

/// `html` unchanged when it nests reasonably; otherwise a copy without the tags that
/// would open elements deeper than `MAX_DEPTH` (and without their end tags).
pub(crate) fn flatten_deep_nesting(html: &str) -> Cow<'_, str> {
    if max_depth(html) <= MAX_DEPTH {
        return Cow::Borrowed(html);
    }
    let bytes = html.as_bytes();
    let mut out = String::with_capacity(html.len());
    let (mut depth, mut suppressed, mut pos, mut copied) = (0usize, 0usize, 0usize, 0usize);
    while let Some(tag) = next_tag(bytes, pos) {
        pos = tag.end;
        if !tag.counts {
            continue;
        }
        let drop = if tag.closing {
            if suppressed > 0 {
                suppressed -= 1;
                true
            } else {
                depth = depth.saturating_sub(1);
                false
            }
        } else if depth >= MAX_DEPTH {
            suppressed += 1;
            true
        } else {
            depth += 1;
            false
        };
        if drop {
            out.push_str(&html[copied..tag.start]);
            out.push(' ');
            copied = tag.end;
        }
    }
    out.push_str(&html[copied..]);
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shallow_pages_are_untouched() {
        let html = "<html><body><div><p>a<br>b<img src=x></p></div></body></html>";
        assert!(matches!(flatten_deep_nesting(html), Cow::Borrowed(_)));
        assert_eq!(max_depth(html), 3);
    }

    #[test]
    fn markup_inside_scripts_and_comments_does_not_count() {
        let html = format!(
            "<html><body><script>var t = '{}';</script><!-- {} --><div><p>kept</p></div></body></html>",
            "<div>".repeat(2000),
            "<section>".repeat(2000)
        );
        assert_eq!(max_depth(&html), 3);
        assert!(matches!(flatten_deep_nesting(&html), Cow::Borrowed(_)));
    }

    #[test]
    fn deep_pages_are_flattened_keeping_text() {
        let html = format!(
            "{}<p>kept</p>{}",
            "<div>".repeat(5000),
            "</div>".repeat(5000)
        );
        let flat = flatten_deep_nesting(&html);
        assert!(max_depth(&flat) <= MAX_DEPTH + 1);
        assert!(flat.contains("<p>kept</p>") || flat.contains("kept"));
    }
}
