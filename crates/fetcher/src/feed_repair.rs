//! The recovery pass over a decoded XML feed, before feed-rs sees it: the malformations
//! feedparser tolerates, rewritten into the well-formed XML feed-rs reads.

use std::collections::HashSet;
use std::sync::LazyLock;

use regex::Regex;
use url::Url;

/// What the pass changed, for the feed's status.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FeedRepair {
    /// Short names of the repairs applied (`charset`, `entities`, `truncated`...).
    pub repairs: Vec<&'static str>,
    /// Entries lost to the repair (the incomplete last entry of a truncated document).
    pub dropped_entries: usize,
}

impl FeedRepair {
    pub fn repaired(&self) -> bool {
        !self.repairs.is_empty()
    }
    pub(crate) fn note(&mut self, what: &'static str) {
        if !self.repairs.contains(&what) {
            self.repairs.push(what);
        }
    }
}

fn re(p: &str) -> Regex {
    Regex::new(p).expect("static pattern is valid")
}

static PROLOG_ENCODING: LazyLock<Regex> =
    LazyLock::new(|| re(r#"^(\s*<\?xml[^>]{0,200}?encoding\s*=\s*)("[^"]*"|'[^']*')"#));
static TEXT_TYPE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r#"(<(?:atom:)?(?:title|subtitle|summary|rights|tagline)\b[^>]*?\btype\s*=\s*)("[^"]*"|'[^']*')"#,
    )
});
static XML_BASE: LazyLock<Regex> = LazyLock::new(|| re(r#"\s+xml:base\s*=\s*("[^"]*"|'[^']*')"#));
static ATOM03_DATES: LazyLock<Regex> = LazyLock::new(|| re(r#"<(/?)(issued|modified|created)\b"#));
static DCTERMS_PREFIX: LazyLock<Regex> =
    LazyLock::new(|| re(r#"xmlns:([A-Za-z_][\w.-]*)\s*=\s*["']http://purl.org/dc/terms/["']"#));
static ATOM_PREFIX: LazyLock<Regex> =
    LazyLock::new(|| re(r#"xmlns:([A-Za-z_][\w.-]*)\s*=\s*["']http://www.w3.org/2005/Atom["']"#));
static NON_PERMALINK_GUID: LazyLock<Regex> = LazyLock::new(|| {
    re(r#"<guid\b[^>]*\bisPermaLink\s*=\s*["']false["'][^>]*>\s*(?:<!\[CDATA\[)?([^<\]]*)"#)
});

/// Namespaces feed-rs does not know, mapped to the one it reads for the same vocabulary.
const NAMESPACE_ALIASES: &[(&str, &str, &str)] = &[
    // RSS 2.0 as first published, under the userland namespace.
    (
        "http://backend.userland.com/rss2",
        "http://purl.org/rss/1.0/",
        "rss-userland",
    ),
    (
        "http://blogs.law.harvard.edu/tech/rss",
        "http://purl.org/rss/1.0/",
        "rss-userland",
    ),
    // RSS 0.90: RDF like RSS 1.0, with the same item elements.
    (
        "http://my.netscape.com/rdf/simple/0.9/",
        "http://purl.org/rss/1.0/",
        "rss-0.90",
    ),
    (
        "http://purl.org/atom/ns#",
        "http://www.w3.org/2005/Atom",
        "atom-0.3",
    ),
];

/// The prepared document and what the pass learned on the way.
pub(crate) struct Prepared {
    pub text: String,
    /// `<guid isPermaLink="false">` values: ids, never article URLs.
    pub non_permalink_guids: HashSet<String>,
}

/// Rewrites a decoded XML feed into what feed-rs parses. `base` checks `xml:base` values.
pub(crate) fn prepare(text: &str, base: Option<&Url>, repair: &mut FeedRepair) -> Prepared {
    let mut out = text.to_string();
    // The text is UTF-8 now; a prolog naming another encoding would make the parser
    // decode it a second time.
    if let Some(c) = PROLOG_ENCODING.captures(&out) {
        let value = c[2].trim_matches(['"', '\'']);
        if !value.eq_ignore_ascii_case("utf-8") {
            out = PROLOG_ENCODING.replace(&out, "${1}\"utf-8\"").into_owned();
        }
    }
    if has_bad_control(&out) {
        out.retain(|c| !is_bad_control(c));
        repair.note("control-characters");
    }
    if let Some(fixed) = fix_references(&out) {
        out = fixed;
        repair.note("entities");
    }
    // Namespaces are declared on the root element in practice: looking for them in the
    // head keeps the pass cheap on large feeds.
    let head_end = head_len(&out, 8192);
    for (from, to, what) in NAMESPACE_ALIASES {
        if out[..head_len(&out, 8192)].contains(from) {
            out = out.replace(from, to);
            repair.note(what);
            if *what == "atom-0.3" {
                // Atom 0.3 dates under their Atom 1.0 names; `created` only stands in
                // for `issued` in an entry that has none.
                out = out
                    .split_inclusive("</entry>")
                    .map(|entry| {
                        let has_issued = entry.contains("<issued");
                        ATOM03_DATES.replace_all(entry, |c: &regex::Captures| {
                            let name = match &c[2] {
                                "issued" => "published",
                                "modified" => "updated",
                                _ if has_issued => "created",
                                _ => "published",
                            };
                            format!("<{}{name}", &c[1])
                        })
                    })
                    .collect();
            }
        }
    }
    let head_end = head_end.min(out.len());
    let is_atom = out[..head_len(&out, head_end)].contains("<feed");
    out = map_dcterms(out, head_end);
    out = map_atom_updated_in_rss(out, head_end);
    // Atom text constructs accept only text/html/xhtml; a MIME type there is read for
    // what it says (or as text) instead of failing the feed.
    if is_atom && TEXT_TYPE.is_match(&out) {
        let mut changed = false;
        let fixed = TEXT_TYPE.replace_all(&out, |c: &regex::Captures| {
            let v = c[2].trim_matches(['"', '\'']).to_ascii_lowercase();
            let mapped = match v.as_str() {
                "text" | "html" | "xhtml" | "text/html" => v.clone(),
                "application/xhtml+xml" => "xhtml".into(),
                _ => "text".into(),
            };
            changed |= mapped != v;
            format!("{}\"{mapped}\"", &c[1])
        });
        if changed {
            out = fixed.into_owned();
            repair.note("text-type");
        }
    }
    // An `xml:base` that is not a URL would fail the whole document in feed-rs; without
    // it the entry's links resolve against the enclosing base.
    if out.contains("xml:base") {
        let mut changed = false;
        let fixed = XML_BASE.replace_all(&out, |c: &regex::Captures| {
            let v = html_escape::decode_html_entities(c[1].trim_matches(['"', '\''])).into_owned();
            let ok = match base {
                Some(b) => b.join(&v).is_ok(),
                None => Url::parse(&v).is_ok(),
            };
            if ok {
                c[0].to_string()
            } else {
                changed = true;
                String::new()
            }
        });
        if changed {
            out = fixed.into_owned();
            repair.note("xml-base");
        }
    }
    let non_permalink_guids = if out.contains("isPermaLink") {
        NON_PERMALINK_GUID
            .captures_iter(&out)
            .map(|c| c[1].trim().to_string())
            .collect()
    } else {
        HashSet::new()
    };
    Prepared {
        text: out,
        non_permalink_guids,
    }
}

/// Byte scan for [`is_bad_control`] characters (the common case has none).
fn has_bad_control(text: &str) -> bool {
    text.bytes()
        .any(|b| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r'))
        || text.contains('\u{FFFE}')
        || text.contains('\u{FFFF}')
}

/// Characters XML 1.0 forbids (C0 controls other than tab, newline, carriage return).
fn is_bad_control(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{8}' | '\u{B}' | '\u{C}' | '\u{E}'..='\u{1F}' | '\u{FFFE}' | '\u{FFFF}')
}

/// Escapes bare `&` and turns HTML named entities into numeric references, outside CDATA
/// sections and comments. `None` when nothing needed fixing.
fn fix_references(text: &str) -> Option<String> {
    if !text.contains('&') || !needs_reference_fix(text) {
        return None;
    }
    let mut out = String::with_capacity(text.len() + 64);
    let mut changed = false;
    let mut rest = text;
    while let Some(pos) = rest.find(['&', '<']) {
        out.push_str(&rest[..pos]);
        rest = &rest[pos..];
        if rest.starts_with('<') {
            let end = section_len(rest).unwrap_or(1);
            out.push_str(&rest[..end]);
            rest = &rest[end..];
            continue;
        }
        // At '&': a well-formed reference is kept, an HTML entity becomes numeric, anything
        // else is a literal ampersand.
        let after = &rest[1..];
        let name_len = reference_name_len(after);
        let name = &after[..name_len];
        let closed = after.as_bytes().get(name_len) == Some(&b';');
        if closed && is_xml_reference(name) {
            out.push('&');
            out.push_str(name);
            out.push(';');
            rest = &after[name_len + 1..];
            continue;
        }
        changed = true;
        if closed && !name.starts_with('#') {
            let entity = format!("&{name};");
            let decoded = html_escape::decode_html_entities(&entity);
            if decoded != entity {
                for c in decoded.chars() {
                    out.push_str(&format!("&#{};", c as u32));
                }
                rest = &after[name_len + 1..];
                continue;
            }
        }
        out.push_str("&amp;");
        rest = after;
    }
    out.push_str(rest);
    changed.then_some(out)
}

/// Whether any `&` outside CDATA and comments starts something other than a well-formed
/// XML reference (cheap: no output is built).
fn needs_reference_fix(text: &str) -> bool {
    // Single-needle searches (memchr) rather than a char-set scan: this runs on every
    // feed, and most have nothing to fix.
    let skip_sections = text.contains("<![CDATA[") || text.contains("<!--");
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        if skip_sections {
            if let Some(sect) = rest[..amp].find("<!") {
                let r = &rest[sect..];
                rest = &r[section_len(r).unwrap_or(2)..];
                continue;
            }
        }
        let after = &rest[amp + 1..];
        let name_len = reference_name_len(after);
        if after.as_bytes().get(name_len) != Some(&b';') || !is_xml_reference(&after[..name_len]) {
            return true;
        }
        rest = &after[name_len + 1..];
    }
    false
}

/// Length of the CDATA section or comment `text` starts with (to its end, or to the end
/// of `text` when unclosed); `None` when it starts with neither.
fn section_len(text: &str) -> Option<usize> {
    let close = if text.starts_with("<![CDATA[") {
        "]]>"
    } else if text.starts_with("<!--") {
        "-->"
    } else {
        return None;
    };
    Some(text.find(close).map_or(text.len(), |e| e + close.len()))
}

/// Length of the reference name after an `&` (letters, digits, `#`; at most 40).
fn reference_name_len(after_amp: &str) -> usize {
    after_amp
        .bytes()
        .take(40)
        .take_while(|b| b.is_ascii_alphanumeric() || *b == b'#')
        .count()
}

fn is_xml_reference(name: &str) -> bool {
    match name.strip_prefix('#') {
        Some(num) => {
            let n = match num.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok(),
                None => num.parse::<u32>().ok(),
            };
            n.and_then(char::from_u32)
                .is_some_and(|c| !is_bad_control(c) && c != '\u{0}')
        }
        None => matches!(name, "amp" | "lt" | "gt" | "quot" | "apos"),
    }
}

/// `dcterms:issued/created/modified` read as the Dublin Core date feed-rs knows; the
/// modification time only when the entry has no publication time.
fn map_dcterms(text: String, head_end: usize) -> String {
    let Some(prefix) = DCTERMS_PREFIX
        .captures(&text[..head_len(&text, head_end)])
        .map(|c| c[1].to_string())
    else {
        return text;
    };
    let mut out = text.replace(
        "http://purl.org/dc/terms/",
        "http://purl.org/dc/elements/1.1/",
    );
    let has_issue =
        out.contains(&format!("<{prefix}:issued")) || out.contains(&format!("<{prefix}:created"));
    let mut names = vec!["issued", "created"];
    if !has_issue {
        names.push("modified");
    }
    for name in names {
        for (from, to) in [("<", "<"), ("</", "</")] {
            out = out.replace(
                &format!("{from}{prefix}:{name}>"),
                &format!("{to}{prefix}:date>"),
            );
        }
    }
    out
}

/// `atom:updated` inside RSS items, read as the item's date when RSS gives none.
fn map_atom_updated_in_rss(text: String, head_end: usize) -> String {
    let head = &text[..head_len(&text, head_end)];
    if !head.contains("<rss")
        || !head.contains("http://www.w3.org/2005/Atom")
        || text.contains("<pubDate")
    {
        return text;
    }
    let Some(prefix) = ATOM_PREFIX.captures(head).map(|c| c[1].to_string()) else {
        return text;
    };
    text.replace(&format!("<{prefix}:updated>"), "<pubDate>")
        .replace(&format!("</{prefix}:updated>"), "</pubDate>")
}

/// The length of the first `max` bytes of `text`, backed off to a character boundary.
fn head_len(text: &str, max: usize) -> usize {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    end
}

/// A truncated document cut after its last complete item or entry, with the elements left
/// open closed; `None` when it has no complete entry. Also returns the entries cut off.
pub(crate) fn truncate_to_complete(text: &str) -> Option<(String, usize)> {
    let end = ["</item>", "</entry>", ":item>", ":entry>"]
        .iter()
        .filter_map(|t| text.rfind(t).map(|p| p + t.len()))
        .max()?;
    let (head, tail) = text.split_at(end);
    let dropped = ["<item", "<entry"]
        .iter()
        .map(|t| {
            tail.match_indices(t)
                .filter(|(i, _)| {
                    tail.as_bytes()
                        .get(i + t.len())
                        .is_some_and(|b| b.is_ascii_whitespace() || *b == b'>')
                })
                .count()
        })
        .sum();
    let mut out = head.to_string();
    for name in open_elements(head).iter().rev() {
        out.push_str("</");
        out.push_str(name);
        out.push('>');
    }
    Some((out, dropped))
}

/// The elements still open at the end of `text`, outermost first.
fn open_elements(text: &str) -> Vec<&str> {
    let mut stack: Vec<&str> = Vec::new();
    let mut rest = text;
    while let Some(pos) = rest.find('<') {
        rest = &rest[pos..];
        let skip_to = |r: &str, end: &str| r.find(end).map(|e| e + end.len()).unwrap_or(r.len());
        let consumed = if rest.starts_with("<![CDATA[") {
            skip_to(rest, "]]>")
        } else if rest.starts_with("<!--") {
            skip_to(rest, "-->")
        } else if rest.starts_with("<?") || rest.starts_with("<!") {
            skip_to(rest, ">")
        } else {
            let close = rest.starts_with("</");
            let name_start = if close { 2 } else { 1 };
            let name_len = rest[name_start..]
                .find(|c: char| c.is_whitespace() || c == '>' || c == '/')
                .unwrap_or(rest.len() - name_start);
            let name = &rest[name_start..name_start + name_len];
            let tag_end = skip_to(rest, ">");
            let self_closing = rest[..tag_end].ends_with("/>");
            if close {
                if let Some(i) = stack.iter().rposition(|n| *n == name) {
                    stack.truncate(i);
                }
            } else if !self_closing && !name.is_empty() {
                stack.push(name);
            }
            tag_end
        };
        rest = &rest[consumed..];
    }
    stack
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references() {
        assert_eq!(
            fix_references("<t>AT&T &aacute; &amp; &#233; &bogus; <![CDATA[a&b]]></t>").unwrap(),
            "<t>AT&amp;T &#225; &amp; &#233; &amp;bogus; <![CDATA[a&b]]></t>"
        );
        assert_eq!(fix_references("<t>&amp;</t>"), None);
    }

    #[test]
    fn truncation_closes_open_elements() {
        let doc = "<rss><channel><item><title>a</title></item><item><title>b";
        let (fixed, dropped) = truncate_to_complete(doc).unwrap();
        assert_eq!(
            fixed,
            "<rss><channel><item><title>a</title></item></channel></rss>"
        );
        assert_eq!(dropped, 1);
    }
}
