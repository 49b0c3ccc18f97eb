//! Generic, site-independent rules: which elements are never content, which look like page
//! chrome, and which short lines are boilerplate in the languages we see most.
//!
//! No rule here may name a particular site: the stripper must generalize.

use std::sync::LazyLock;

use regex::Regex;
use scraper::node::Element;

use crate::blocks::BlockKind;

/// Elements whose text is never article content.
pub(crate) fn is_skipped_element(el: &Element) -> bool {
    let skipped_tag = matches!(
        el.name(),
        "script"
            | "style"
            | "template"
            | "svg"
            | "math"
            | "iframe"
            | "object"
            | "embed"
            | "canvas"
            | "head"
            | "button"
            | "select"
            | "textarea"
            | "input"
            | "label"
            | "nav"
            | "aside"
            | "footer"
            | "figcaption"
            | "dialog"
            | "menu"
    );
    if skipped_tag {
        return true;
    }
    if el.attr("hidden").is_some() || el.attr("aria-hidden") == Some("true") {
        return true;
    }
    // Hover cards and tooltips are hidden until the reader points at a name.
    if attr_tokens(el)
        .iter()
        .any(|t| matches!(t.as_str(), "rollover" | "tooltip" | "popover" | "hovercard"))
    {
        return true;
    }
    if let Some(style) = el.attr("style") {
        let style = style.to_ascii_lowercase().replace(' ', "");
        if style.contains("display:none") || style.contains("visibility:hidden") {
            return true;
        }
    }
    matches!(
        el.attr("role"),
        Some("navigation" | "complementary" | "contentinfo" | "dialog" | "search" | "banner")
    )
}

pub(crate) fn is_block_tag(tag: &str) -> bool {
    matches!(
        tag,
        "p" | "div"
            | "section"
            | "article"
            | "main"
            | "header"
            | "h1"
            | "h2"
            | "h3"
            | "h4"
            | "h5"
            | "h6"
            | "li"
            | "ul"
            | "ol"
            | "dl"
            | "dt"
            | "dd"
            | "blockquote"
            | "pre"
            | "table"
            | "tr"
            | "figure"
            | "form"
            | "body"
            | "center"
            | "address"
            | "hr"
            | "details"
            | "summary"
    )
}

pub(crate) fn block_kind(tag: &str) -> BlockKind {
    match tag {
        "h1" => BlockKind::Heading(1),
        "h2" => BlockKind::Heading(2),
        "h3" => BlockKind::Heading(3),
        "h4" => BlockKind::Heading(4),
        "h5" => BlockKind::Heading(5),
        "h6" => BlockKind::Heading(6),
        "p" => BlockKind::Paragraph,
        "li" | "dt" | "dd" => BlockKind::ListItem,
        "blockquote" => BlockKind::Quote,
        "pre" => BlockKind::Preformatted,
        "td" | "th" => BlockKind::Cell,
        _ => BlockKind::Loose,
    }
}

/// Splits class and id into lowercase word tokens (`post-tags__list` -> post, tags, list).
fn attr_tokens(el: &Element) -> Vec<String> {
    let mut out = Vec::new();
    for value in [el.attr("class"), el.attr("id")].into_iter().flatten() {
        for token in value.split(|c: char| !c.is_ascii_alphanumeric()) {
            if !token.is_empty() {
                out.push(token.to_ascii_lowercase());
            }
        }
    }
    out
}

const CHROME_TOKENS: &[&str] = &[
    "comment",
    "comments",
    "commentlist",
    "respond",
    "reply",
    "replies",
    "share",
    "shares",
    "sharing",
    "sharedaddy",
    "social",
    "socials",
    "related",
    "relatedposts",
    "recommended",
    "recommendations",
    "tags",
    "tagcloud",
    "breadcrumb",
    "breadcrumbs",
    "sidebar",
    "widget",
    "widgets",
    "newsletter",
    "subscribe",
    "subscription",
    "advert",
    "advertisement",
    "ads",
    "ad",
    "adsbygoogle",
    "sponsor",
    "sponsored",
    "promo",
    "banner",
    "popup",
    "modal",
    "cookie",
    "cookies",
    "consent",
    "gdpr",
    "footer",
    "nav",
    "navbar",
    "navigation",
    "menu",
    "masthead",
    "pagination",
    "pager",
    "disqus",
    "outbrain",
    "taboola",
    "yarpp",
    "readtime",
    "skip",
    "toolbar",
    "print",
    "rss",
    "login",
    "signup",
    "paywall",
];

const CONTENT_TOKENS: &[&str] = &[
    "article", "content", "main", "body", "text", "story", "entry", "post", "column", "hentry",
    "blog", "prose",
];

/// An element whose class or id says it is page chrome (comments, share bars, related
/// lists...) rather than a content wrapper.
pub(crate) fn is_boilerplate_container(el: &Element) -> bool {
    if matches!(el.name(), "html" | "body" | "main" | "article") {
        return false;
    }
    let tokens = attr_tokens(el);
    let chrome = tokens.iter().any(|t| CHROME_TOKENS.contains(&t.as_str()));
    if !chrome {
        return false;
    }
    // `entry-content share-enabled` is content; `post-tags` or `entry-footer` is not: a
    // content word only rescues the element when it is the first word of the name.
    let first_is_content = tokens
        .first()
        .map(|t| CONTENT_TOKENS.contains(&t.as_str()))
        .unwrap_or(false);
    let last_is_chrome = tokens
        .last()
        .map(|t| CHROME_TOKENS.contains(&t.as_str()))
        .unwrap_or(false);
    !first_is_content || last_is_chrome
}

const POSITIVE_TOKENS: &[&str] = &[
    "article",
    "body",
    "content",
    "entry",
    "hentry",
    "main",
    "page",
    "post",
    "text",
    "blog",
    "story",
    "prose",
    "articlebody",
];

const NEGATIVE_TOKENS: &[&str] = &[
    "hidden",
    "banner",
    "combx",
    "comment",
    "contact",
    "foot",
    "footer",
    "footnote",
    "masthead",
    "media",
    "meta",
    "outbrain",
    "promo",
    "related",
    "scroll",
    "share",
    "shoutbox",
    "sidebar",
    "skyscraper",
    "sponsor",
    "shopping",
    "tags",
    "tool",
    "widget",
    "nav",
    "menu",
    "header",
    "teaser",
    "card",
    "list",
];

/// Readability-style weight from class and id words.
pub(crate) fn class_weight(el: &Element) -> i32 {
    let tokens = attr_tokens(el);
    let mut weight = 0;
    if tokens.iter().any(|t| POSITIVE_TOKENS.contains(&t.as_str())) {
        weight += 25;
    }
    if tokens.iter().any(|t| NEGATIVE_TOKENS.contains(&t.as_str())) {
        weight -= 25;
    }
    if el.attr("itemprop") == Some("articleBody") {
        weight += 50;
    }
    weight
}

/// Short lines that announce the end of the article: what follows them inside the content
/// area is comments, related articles or other chrome.
static END_MARKER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?xi)^\s*(
          leave\ a\ (reply|comment) | post\ a\ comment | add\ (a\ )?comment | comments?
        | \d+\ comments? | write\ a\ comment | join\ the\ (conversation|discussion)
        | related(\ (articles?|posts?|stories|news|content|coverage|reading))?
        | (you\ )?(may|might)\ also\ (like|be\ interested\ in|enjoy)
        | more\ (from|on|in)\ .* | recommended(\ for\ you)? | read\ next | up\ next
        | most\ (read|popular|viewed) | trending(\ now)? | popular\ (posts|articles)
        | share\ this(\ (article|story|post))?
        | laisser\ un\ commentaire | commentaires? | articles?\ similaires | à\ lire\ aussi
        | sur\ le\ même\ sujet | dans\ la\ même\ rubrique
        | kommentare? | ähnliche\ artikel | das\ könnte\ sie\ auch\ interessieren
        | comentarios? | deja\ un\ comentario | artículos\ relacionados | noticias\ relacionadas
        | (también\ )?te\ puede\ interesar | más\ noticias
        | (você\ )?(também\ )?pode\ gostar | leia\ (também|mais) | veja\ também | comentários?
        | deixe\ (um|seu)\ comentário | (posts|artigos|notícias|matérias)\ relacionad[oa]s
        | articoli\ correlati | potrebbe\ interessarti | lascia\ un\ commento | commenti
        | weitere\ artikel | mehr\ zum\ thema | gerelateerde\ artikelen | reacties
        | اترك\ تعليق(ك|ا)? | اضف\ تعليق(ك|ا)? | أضف\ تعليق(ك|ا)? | إضافة\ تعليق | ارسال\ تعليق | إرسال\ تعليق
        | التعليقات | تعليقات | مقالات\ ذات\ صلة | أخبار\ ذات\ صلة | اخبار\ ذات\ صلة | مواضيع\ ذات\ صلة
        | اقرأ\ أيضا | اقرأ\ أيضاً | اقرأ\ ايضا | إقرأ\ أيضا | قد\ يعجبك\ أيضا | الأكثر\ قراءة | الاكثر\ قراءة
        | 相关(文章|新闻|阅读) | 评论 | 関連記事 | コメント | 관련\ 기사 | 댓글
        )\s*[:：.…!]*\s*$",
    )
    .expect("end-marker pattern is valid")
});

// Length limits live outside the patterns: a bounded repetition like `.{0,200}` of
// Unicode `.` compiles to hundreds of automaton copies (about 190 MB for these sets),
// while `.*` plus a length check costs nothing.

/// Short lines that are chrome wherever they appear: reading time, share prompts,
/// datelines, bylines, captions (at most [`SHORT_LINE`] characters).
static SHORT_CHROME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?xi)^\s*(
          continue\ reading.* | sign\ up\ for\b.* | subscribe\ to\b.*
        | \d+\s*(min|mins|minutes?)\ read | (estimated\ )?reading\ time\b.*
        | temps\ de\ lecture.* | lire\ la\ suite.* | lesezeit.* | tiempo\ de\ lectura.*
        | required\ fields\ are\ marked.*
        | (share|share\ on|share\ this|tweet|email|print)(\s*(facebook|twitter|x|whatsapp|linkedin|telegram|email|print|copy\ link)\b)*
        | (advertisement|advertising|sponsored|anzeige|publicité|publicidade|publicidad|إعلان)
        | caption | close | back\ to\ gallery | (previous|next)(\ (image|slide|photo))? | enlarge\ this\ image
        | (updated|published|posted|last\ updated|modified)(\ on|\ at)?\b.*\d.*
        | by\ [^.!?]+\ [-–|]\ [^a-z]*\d.*
        | hi,\ what\ are\ you\ looking\ for\?? | connect\ with\ us | follow\ us.*
        | مدة\ القراءة.* | وقت\ القراءة.* | \d+\s*(دقيقة|دقائق)\ (قراءة|للقراءة)
        | الحقول\ الإلزامية\ مشار\ إليها.* | شارك(\ المقال|\ الخبر|\ على.*)?
        | 阅读(全文|更多).*
        )\s*$",
    )
    .expect("short chrome pattern is valid")
});
const SHORT_LINE: usize = 80;

/// Teasers, credits, copyright and comment-form fine print (at most [`MEDIUM_LINE`]).
static MEDIUM_CHROME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?xi)^\s*(
          (read|see|view)\ (more|also|full\ (story|article))\b.*
        | lire\ aussi.* | lesen\ sie\ auch.* | lee\ también.*
        | your\ email\ address\ will\ not\ be\ published.*
        | (photo|image|picture|video|credit|foto|bild|crédit)s?\s*:.*
        | .*(©|\(c\)\ \d{4}|copyright\ \d{4}|all\ rights\ reserved|tous\ droits\ réservés|todos\ los\ derechos|جميع\ الحقوق\ محفوظة).*
        | (اقرأ|إقرأ|اقرا)\ (المزيد|أيضا|أيضاً|ايضا)\s*[:：].*
        | لن\ يتم\ نشر\ عنوان\ بريدك\ الإلكتروني.* | اترك\ تعليقك\ إذا.*
        )\s*$",
    )
    .expect("medium chrome pattern is valid")
});
const MEDIUM_LINE: usize = 200;

/// Labelled tag and category lists (at most [`LONG_LINE`]).
static TAG_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?xi)^\s*(
          (tags?|topics?|filed\ under|categories|category)\s*:.*
        | (الوسوم|الكلمات\ المفتاحية|كلمات\ مفتاحية|وسوم)\s*[:：].*
        | 標籤.* | 标签.*
        )\s*$",
    )
    .expect("tag-line pattern is valid")
});
const LONG_LINE: usize = 400;

/// Lines that end the article when they appear as a short block after some body text.
pub(crate) fn is_end_marker(line: &str) -> bool {
    line.chars().count() <= 60 && END_MARKER.is_match(line)
}

pub(crate) fn is_chrome_line(line: &str) -> bool {
    let n = line.chars().count();
    (n <= SHORT_LINE && SHORT_CHROME.is_match(line))
        || (n <= MEDIUM_LINE && MEDIUM_CHROME.is_match(line))
        || (n <= LONG_LINE && TAG_LINE.is_match(line))
}

/// A line of short terms joined by separators, as tag lists and breadcrumbs are:
/// "US | Iraq | Withdrawal | Militias".
pub(crate) fn is_term_list(line: &str) -> bool {
    for sep in ['|', '•', '·', '»', '›'] {
        let parts: Vec<&str> = line.split(sep).map(str::trim).collect();
        if parts.len() >= 4 {
            let short = parts
                .iter()
                .all(|p| !p.is_empty() && p.chars().count() <= 30 && !p.ends_with('.'));
            let words: usize = parts.iter().map(|p| p.split_whitespace().count()).sum();
            if short && words <= parts.len() * 3 {
                return true;
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn end_markers_in_several_languages() {
        for line in [
            "Leave a Reply",
            "Related Articles",
            "مقالات ذات صلة",
            "اترك تعليقك",
            "اضف تعليقك",
            "إرسال تعليق",
            "تعليقات",
            "You may also like",
            "Commentaires",
            "相关文章",
        ] {
            assert!(is_end_marker(line), "{line}");
        }
        assert!(!is_end_marker("The related costs of the war were high."));
    }

    #[test]
    fn chrome_lines() {
        for line in [
            "Read more: US launches new air strikes",
            "اقرأ المزيد: الولايات المتحدة تشن جولة جديدة من الغارات الجوية في العراق",
            "مدة القراءة:",
            "5 min read",
            "Tags: Iraq, US",
            "لن يتم نشر عنوان بريدك الإلكتروني. الحقول الإلزامية مشار إليها بـ *",
            "اترك تعليقك إذا كان لديك أى إستفسار",
            "Hi, what are you looking for?",
        ] {
            assert!(is_chrome_line(line), "{line}");
        }
        assert!(!is_chrome_line(
            "Reading the statement, officials said the mission would end."
        ));
    }

    #[test]
    fn term_lists() {
        assert!(is_term_list(
            "الولايات المتحدة | العراق | الانسحاب | الميليشيات | الغارات الجوية | التحالف"
        ));
        assert!(!is_term_list(
            "He said, slowly, that the plan, which was long, would work, eventually, maybe."
        ));
    }
}
