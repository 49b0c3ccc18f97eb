//! Decoding fetched bytes to text: BOM, then the HTTP charset, then `<meta charset>` or the
//! XML prolog, then statistical detection (chardetng) for pages that declare nothing.

use std::sync::LazyLock;

use encoding_rs::{Encoding, UTF_8};
use regex::bytes::Regex;

static META_CHARSET: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)<meta[^>]{0,200}?charset\s*=\s*["']?\s*([a-z0-9_.:\-]+)"#)
        .expect("meta charset pattern is valid")
});
static XML_ENCODING: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"^\s*<\?xml[^>]{0,200}?encoding\s*=\s*["']([a-z0-9_.:\-]+)["']"#)
        .expect("xml encoding pattern is valid")
});

/// Charset parameter of a Content-Type header value.
pub fn charset_from_content_type(content_type: &str) -> Option<&'static Encoding> {
    content_type.split(';').skip(1).find_map(|param| {
        let (k, v) = param.split_once('=')?;
        if k.trim().eq_ignore_ascii_case("charset") {
            Encoding::for_label(v.trim().trim_matches(['"', '\'']).as_bytes())
        } else {
            None
        }
    })
}

/// Decodes `bytes` and says which encoding was used.
pub fn decode(bytes: &[u8], content_type: Option<&str>) -> (String, &'static Encoding) {
    if let Some((enc, bom_len)) = Encoding::for_bom(bytes) {
        let (text, _) = enc.decode_without_bom_handling(&bytes[bom_len..]);
        return (text.into_owned(), enc);
    }
    let enc = match declared_encoding(bytes, content_type, true) {
        // Bytes that are valid UTF-8 and hold multi-byte sequences are practically never in
        // another encoding: pages re-saved as UTF-8 keep their old label (`gb2312`,
        // `windows-1256`, `iso-8859-1`...). Pure ASCII decodes alike under every label we
        // accept except the 7-bit ISO-2022 family, so only multi-byte UTF-8 overrides.
        Some(e) if e != UTF_8 && is_multibyte_utf8(bytes) => UTF_8,
        Some(e) => e,
        None => {
            if std::str::from_utf8(bytes).is_ok() {
                UTF_8
            } else {
                let mut det = chardetng::EncodingDetector::new();
                det.feed(bytes, true);
                det.guess(None, true)
            }
        }
    };
    let (text, _, _) = enc.decode(bytes);
    (text.into_owned(), enc)
}

/// How a feed's bytes were decoded.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct FeedText {
    pub encoding: &'static Encoding,
    /// The bytes were not valid in the encoding the feed declared (or XML's default), so a
    /// fallback was used.
    pub repaired: bool,
}

/// Decodes feed bytes: BOM, then the HTTP charset, then the XML prolog, then XML's default
/// (UTF-8); UTF-16/32 without a BOM are recognised by their `<?` pattern. Valid multi-byte
/// UTF-8 under another label is UTF-8 (the page rule). Bytes invalid in the chosen encoding
/// fall back as feedparser does: UTF-8, then windows-1252 (which decodes every byte).
pub(crate) fn decode_feed(bytes: &[u8], content_type: Option<&str>) -> (String, FeedText) {
    // UTF-32 first: its little-endian BOM (FF FE 00 00) begins with UTF-16LE's.
    if let Some(text) = decode_utf32(bytes) {
        return (
            text,
            FeedText {
                encoding: UTF_8,
                repaired: false,
            },
        );
    }
    if let Some((enc, bom_len)) = Encoding::for_bom(bytes) {
        return decode_lossy(enc, &bytes[bom_len..]);
    }
    let sniffed = match bytes {
        [0, b'<', 0, _, ..] => Some(encoding_rs::UTF_16BE),
        [b'<', 0, _, 0, ..] => Some(encoding_rs::UTF_16LE),
        _ => None,
    };
    if let Some(enc) = sniffed {
        return decode_lossy(enc, bytes);
    }
    // A UTF-16 label on bytes that are not UTF-16 (checked above) is a lie.
    let declared = declared_encoding(bytes, content_type, false).unwrap_or(UTF_8);
    let declared = if declared != UTF_8 && is_multibyte_utf8(bytes) {
        UTF_8
    } else {
        declared
    };
    for enc in [declared, UTF_8, encoding_rs::WINDOWS_1252] {
        if let Some(text) = enc.decode_without_bom_handling_and_without_replacement(bytes) {
            return (
                text.into_owned(),
                FeedText {
                    encoding: enc,
                    repaired: enc != declared,
                },
            );
        }
    }
    // windows-1252 maps every byte, so this is not reached; decode lossily to be total.
    let (text, _) = declared.decode_without_bom_handling(bytes);
    (
        text.into_owned(),
        FeedText {
            encoding: declared,
            repaired: true,
        },
    )
}

/// The charset a document names: the HTTP header's, else its XML prolog's (or, for
/// markup, its `<meta charset>`). A UTF-16 label on an ASCII-compatible document is a lie
/// (HTML spec) and reads as UTF-8.
fn declared_encoding(
    bytes: &[u8],
    content_type: Option<&str>,
    with_meta: bool,
) -> Option<&'static Encoding> {
    content_type
        .and_then(charset_from_content_type)
        .or_else(|| {
            let head = &bytes[..bytes.len().min(4096)];
            XML_ENCODING
                .captures(head)
                .or_else(|| with_meta.then(|| META_CHARSET.captures(head)).flatten())
                .and_then(|c| Encoding::for_label(&c[1]))
        })
        .map(|e| if e.output_encoding() != e { UTF_8 } else { e })
}

/// Feed bytes whose encoding is known (a BOM, a UTF-16 pattern): decoded with
/// replacement, repaired when something had to be replaced.
fn decode_lossy(enc: &'static Encoding, bytes: &[u8]) -> (String, FeedText) {
    let (text, _) = enc.decode_without_bom_handling(bytes);
    let repaired = text.contains('\u{FFFD}');
    (
        text.into_owned(),
        FeedText {
            encoding: enc,
            repaired,
        },
    )
}

/// UTF-32 (either byte order) is not in the Encoding Standard, so encoding_rs lacks it;
/// it is recognised by its BOM or its `<` pattern and decoded by hand.
fn decode_utf32(bytes: &[u8]) -> Option<String> {
    let (be, skip) = match bytes {
        [0, 0, 0xFE, 0xFF, ..] => (true, 4),
        [0xFF, 0xFE, 0, 0, ..] => (false, 4),
        [0, 0, 0, b'<', ..] => (true, 0),
        [b'<', 0, 0, 0, ..] => (false, 0),
        _ => return None,
    };
    let chars = bytes[skip..].chunks_exact(4).map(|c| {
        let arr = [c[0], c[1], c[2], c[3]];
        let n = if be {
            u32::from_be_bytes(arr)
        } else {
            u32::from_le_bytes(arr)
        };
        char::from_u32(n).unwrap_or('\u{FFFD}')
    });
    Some(chars.collect())
}

/// Valid UTF-8 with at least one non-ASCII character.
fn is_multibyte_utf8(bytes: &[u8]) -> bool {
    !bytes.is_ascii() && std::str::from_utf8(bytes).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARABIC: &str =
        "قالت الولايات المتحدة والعراق في بيان مشترك يوم الجمعة إن المهمة العسكرية للتحالف ستنتهي";

    fn cp1256(s: &str) -> Vec<u8> {
        encoding_rs::WINDOWS_1256.encode(s).0.into_owned()
    }

    #[test]
    fn header_charset_wins() {
        let bytes = cp1256(ARABIC);
        let (text, enc) = decode(&bytes, Some("text/html; charset=windows-1256"));
        assert_eq!(enc.name(), "windows-1256");
        assert_eq!(text, ARABIC);
    }

    #[test]
    fn meta_charset_and_iso_8859_6() {
        let mut page = b"<html><head><meta charset=\"windows-1256\"></head><body>".to_vec();
        page.extend(cp1256(ARABIC));
        let (text, _) = decode(&page, Some("text/html"));
        assert!(text.contains(ARABIC));

        let mut page =
            b"<meta http-equiv=\"Content-Type\" content=\"text/html; charset=iso-8859-6\">"
                .to_vec();
        page.extend(encoding_rs::ISO_8859_6.encode("العراق").0.iter());
        let (text, enc) = decode(&page, None);
        assert_eq!(enc.name(), "ISO-8859-6");
        assert!(text.contains("العراق"));
    }

    #[test]
    fn undeclared_arabic_is_detected() {
        let bytes = cp1256(&ARABIC.repeat(5));
        let (text, _) = decode(&bytes, None);
        assert!(text.contains(ARABIC));
    }

    #[test]
    fn bom_and_mislabelled_utf8() {
        let mut bytes = vec![0xEF, 0xBB, 0xBF];
        bytes.extend(ARABIC.as_bytes());
        assert_eq!(
            decode(&bytes, Some("text/html; charset=windows-1256")).0,
            ARABIC
        );
        assert_eq!(
            decode(ARABIC.as_bytes(), Some("text/html; charset=iso-8859-1")).0,
            ARABIC
        );
    }

    #[test]
    fn utf8_under_any_legacy_meta_label_is_utf8() {
        let chinese = "人工智能迈上新台阶";
        for label in ["gb2312", "gbk", "windows-1256", "shift_jis", "koi8-r"] {
            let page =
                format!("<html><head><meta charset=\"{label}\"></head><body>{chinese}</body>");
            let (text, enc) = decode(page.as_bytes(), None);
            assert_eq!(enc, UTF_8, "{label}");
            assert!(text.contains(chinese), "{label}");
        }
        // Real GBK bytes under their own label stay GBK.
        let gbk = encoding_rs::GBK.encode(chinese).0.into_owned();
        let mut page = b"<meta charset=\"gbk\">".to_vec();
        page.extend(gbk);
        let (text, enc) = decode(&page, None);
        assert_eq!(enc.name(), "GBK");
        assert!(text.contains(chinese));
        // ISO-2022-JP is 7-bit: ASCII bytes keep their label.
        let jis = encoding_rs::ISO_2022_JP.encode("日本語").0.into_owned();
        let mut page = b"<meta charset=\"iso-2022-jp\">".to_vec();
        page.extend(jis);
        assert!(decode(&page, None).0.contains("日本語"));
    }

    #[test]
    fn feed_fallbacks() {
        // windows-1252 curly quotes in a feed labelled UTF-8.
        let bytes = b"<?xml version=\"1.0\" encoding=\"utf-8\"?><t>\x93q\x94</t>";
        let (text, how) = decode_feed(bytes, None);
        assert!(text.contains("\u{201C}q\u{201D}"));
        assert!(how.repaired);
        // UTF-8 under a latin-1 label.
        let doc = "<?xml version=\"1.0\" encoding=\"iso-8859-1\"?><t>Café</t>";
        let (text, how) = decode_feed(doc.as_bytes(), None);
        assert!(text.contains("Café") && !how.repaired);
        // Header charset when the prolog says nothing.
        let mut bytes = b"<t>".to_vec();
        bytes.extend(encoding_rs::KOI8_R.encode("Привет").0.iter());
        let (text, _) = decode_feed(&bytes, Some("application/rss+xml; charset=koi8-r"));
        assert!(text.contains("Привет"));
        // UTF-16 and UTF-32 without BOM.
        let utf16: Vec<u8> = "<?xml version=\"1.0\"?><t>é</t>"
            .encode_utf16()
            .flat_map(|u| u.to_le_bytes())
            .collect();
        assert!(decode_feed(&utf16, None).0.contains("<t>é</t>"));
        let utf32: Vec<u8> = "<t>é</t>"
            .chars()
            .flat_map(|c| (c as u32).to_be_bytes())
            .collect();
        assert_eq!(decode_feed(&utf32, None).0, "<t>é</t>");
    }

    #[test]
    fn utf32_little_endian_bom_is_not_read_as_utf16() {
        // FF FE 00 00 starts with the UTF-16LE BOM (FF FE).
        let mut bytes = vec![0xFF, 0xFE, 0, 0];
        bytes.extend("<t>é</t>".chars().flat_map(|c| (c as u32).to_le_bytes()));
        let (text, how) = decode_feed(&bytes, None);
        assert_eq!(text, "<t>é</t>");
        assert!(!how.repaired);
    }
}
