//! Generic, site-independent rules: which elements are never content, which look like page
//! chrome, and which short lines are boilerplate in the languages we see most.
//!
//! No rule here may name a particular site: the stripper must generalize.

use std::sync::LazyLock;

use regex::Regex;
use scraper::node::Element;

use crate::blocks::BlockKind;

/// What the stripper needs to know of one element, from its tag and attributes; the class
/// and id words are split once for all the questions asked of them.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ElementClass {
    /// Its text is never article content (scripts, navigation, hidden elements).
    pub skipped: bool,
    /// Named like page chrome (see [`is_boilerplate_container`]).
    pub chrome: bool,
    /// Readability-style weight of its class and id words.
    pub class_weight: i32,
    /// The [`groups`] its class and id words belong to.
    pub groups: u16,
}

/// What one class or id word says, looked up once per word.
#[derive(Debug, Clone, Copy, Default)]
struct TokenFacts {
    chrome: bool,
    content: bool,
    positive: bool,
    negative: bool,
    hides: bool,
    groups: u16,
}

static TOKEN_FACTS: LazyLock<rustc_hash::FxHashMap<&'static str, TokenFacts>> =
    LazyLock::new(|| {
        let mut m: rustc_hash::FxHashMap<&'static str, TokenFacts> =
            rustc_hash::FxHashMap::default();
        let mut mark = |words: &[&'static str], f: &dyn Fn(&mut TokenFacts)| {
            for w in words {
                f(m.entry(w).or_default());
            }
        };
        mark(CHROME_TOKENS, &|t| t.chrome = true);
        mark(CONTENT_TOKENS, &|t| t.content = true);
        mark(POSITIVE_TOKENS, &|t| t.positive = true);
        mark(NEGATIVE_TOKENS, &|t| t.negative = true);
        mark(&["rollover", "tooltip", "popover", "hovercard"], &|t| {
            t.hides = true
        });
        for (group, words) in GROUP_WORDS {
            for w in *words {
                m.entry(w).or_default().groups |= group;
            }
        }
        m
    });

/// One token's facts; a word in none of the lists says nothing.
fn facts(token: &str) -> TokenFacts {
    TOKEN_FACTS.get(token).copied().unwrap_or_default()
}

pub(crate) fn classify(el: &Element) -> ElementClass {
    let tokens: Vec<TokenFacts> = attr_tokens(el).iter().map(|t| facts(t)).collect();
    if is_skipped_element(el, &tokens) {
        return ElementClass {
            skipped: true,
            ..ElementClass::default()
        };
    }
    ElementClass {
        skipped: false,
        chrome: is_boilerplate_container(el, &tokens),
        class_weight: class_weight(el, &tokens),
        groups: token_groups(el, &tokens),
    }
}

/// Elements whose text is not text at all (code, styles, form controls, embedded media).
/// HTML parsers keep the content of `iframe`, `noembed`, `noframes`, `xmp` and
/// `plaintext` as raw text: it is the fallback markup of an embed (often an ad), and
/// read as text it would put tags into the article. MathML is text (a formula inside a
/// sentence; dropping it leaves holes such as "when , there are two solutions"), but its
/// `annotation` holds the formula again as TeX source for machines.
pub(crate) fn never_text(tag: &str) -> bool {
    matches!(
        tag,
        "script"
            | "style"
            | "template"
            | "svg"
            | "annotation"
            | "annotation-xml"
            | "iframe"
            | "noembed"
            | "noframes"
            | "xmp"
            | "plaintext"
            | "object"
            | "embed"
            | "canvas"
            | "head"
            | "button"
            | "select"
            | "textarea"
            | "input"
    )
}

/// Whole class names that hide an element in the common CSS frameworks (Bootstrap,
/// Foundation, Tailwind, WordPress themes): error messages and thank-you notes waiting
/// for a script, screen-reader labels ("Share on Facebook").
const HIDING_CLASSES: &[&str] = &[
    "hide",
    "hidden",
    "d-none",
    "is-hidden",
    "sr-only",
    "visually-hidden",
    "screen-reader-text",
    "invisible",
];

/// Elements whose text is never article content.
fn is_skipped_element(el: &Element, tokens: &[TokenFacts]) -> bool {
    let skipped_tag = never_text(el.name())
        || matches!(
            el.name(),
            "label" | "nav" | "aside" | "footer" | "figcaption" | "dialog" | "menu"
        );
    if skipped_tag {
        return true;
    }
    // The document itself is never skipped: frameworks list every plugin they load in the
    // class of <html> ("stencil-plugin-tooltip"), and anti-flicker scripts hide <body>
    // until they run.
    if matches!(el.name(), "html" | "body") {
        return false;
    }
    if el.attr("hidden").is_some() || el.attr("aria-hidden") == Some("true") {
        return true;
    }
    // Hover cards and tooltips are hidden until the reader points at a name.
    if !matches!(el.name(), "main" | "article") && tokens.iter().any(|t| t.hides) {
        return true;
    }
    // The utility classes CSS frameworks hide with (`hide`, `d-none`, `sr-only`): whole
    // class names only, since `hidden-xs` hides on small screens and shows elsewhere.
    if el
        .classes()
        .any(|c| HIDING_CLASSES.iter().any(|h| c.eq_ignore_ascii_case(h)))
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

/// Readability-style prior of a container's tag.
pub(crate) fn tag_prior(tag: &str) -> f32 {
    match tag {
        "article" | "main" => 10.0,
        "div" | "section" => 5.0,
        "pre" | "td" | "blockquote" => 3.0,
        "address" | "ol" | "ul" | "dl" | "dd" | "dt" | "li" | "form" => -3.0,
        "h1" | "h2" | "h3" | "h4" | "h5" | "h6" | "th" => -5.0,
        _ => 0.0,
    }
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

/// Splits class and id into lowercase word tokens (`post-tags__list` -> post, tags, list),
/// borrowing the words that are lowercase already (nearly all).
fn attr_tokens(el: &Element) -> Vec<std::borrow::Cow<'_, str>> {
    let mut out = Vec::new();
    for value in [el.attr("class"), el.attr("id")].into_iter().flatten() {
        for token in value.split(|c: char| !c.is_ascii_alphanumeric()) {
            if token.is_empty() {
                continue;
            }
            out.push(if token.bytes().any(|b| b.is_ascii_uppercase()) {
                std::borrow::Cow::Owned(token.to_ascii_lowercase())
            } else {
                std::borrow::Cow::Borrowed(token)
            });
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
fn is_boilerplate_container(el: &Element, tokens: &[TokenFacts]) -> bool {
    if matches!(el.name(), "html" | "body" | "main" | "article") {
        return false;
    }
    if !tokens.iter().any(|t| t.chrome) {
        return false;
    }
    // `entry-content share-enabled` is content; `post-tags` or `entry-footer` is not: a
    // content word only rescues the element when it is the first word of the name.
    let first_is_content = tokens.first().is_some_and(|t| t.content);
    let last_is_chrome = tokens.last().is_some_and(|t| t.chrome);
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
fn class_weight(el: &Element, tokens: &[TokenFacts]) -> i32 {
    let mut weight = 0;
    if tokens.iter().any(|t| t.positive) {
        weight += 25;
    }
    if tokens.iter().any(|t| t.negative) {
        weight -= 25;
    }
    if el.attr("itemprop") == Some("articleBody") {
        weight += 50;
    }
    weight
}

/// Families of class and id words, as bits: where a block sits (inside a comment thread, a
/// share bar, a caption...) is evidence the block classifier weighs.
pub(crate) mod groups {
    pub const COMMENT: u16 = 1 << 0;
    pub const RELATED: u16 = 1 << 1;
    pub const SHARE: u16 = 1 << 2;
    pub const NAV: u16 = 1 << 3;
    pub const FOOTER: u16 = 1 << 4;
    pub const SIDEBAR: u16 = 1 << 5;
    pub const AD: u16 = 1 << 6;
    pub const SUBSCRIBE: u16 = 1 << 7;
    pub const META: u16 = 1 << 8;
    pub const CAPTION: u16 = 1 << 9;
    pub const CONTENT: u16 = 1 << 10;
    pub const HEADER: u16 = 1 << 11;
    pub const HIDDEN: u16 = 1 << 12;
    pub const LISTING: u16 = 1 << 13;
    /// `itemprop="articleBody"` or `role="main"` and the like: the page says so.
    pub const DECLARED_BODY: u16 = 1 << 14;
    pub const COUNT: usize = 15;
}

/// Class and id words of each [`groups`] family.
const GROUP_WORDS: &[(u16, &[&str])] = &[
    (
        groups::COMMENT,
        &[
            "comment",
            "comments",
            "commentlist",
            "respond",
            "reply",
            "replies",
            "disqus",
            "discussion",
            "discuss",
            "kommentare",
            "comentarios",
        ],
    ),
    (
        groups::RELATED,
        &[
            "related",
            "relatedposts",
            "recommended",
            "recommendations",
            "outbrain",
            "taboola",
            "yarpp",
            "more",
            "readmore",
            "trending",
            "popular",
            "also",
            "next",
            "prev",
            "previous",
            "upnext",
        ],
    ),
    (
        groups::SHARE,
        &[
            "share",
            "shares",
            "sharing",
            "sharedaddy",
            "social",
            "socials",
            "follow",
            "addthis",
            "sharethis",
        ],
    ),
    (
        groups::NAV,
        &[
            "nav",
            "navbar",
            "navigation",
            "menu",
            "breadcrumb",
            "breadcrumbs",
            "pagination",
            "pager",
            "skip",
            "toolbar",
            "topbar",
        ],
    ),
    (
        groups::FOOTER,
        &[
            "footer",
            "foot",
            "copyright",
            "legal",
            "colophon",
            "imprint",
        ],
    ),
    (
        groups::SIDEBAR,
        &["sidebar", "widget", "widgets", "aside", "rail", "sidebox"],
    ),
    (
        groups::AD,
        &[
            "advert",
            "advertisement",
            "ads",
            "ad",
            "adsbygoogle",
            "sponsor",
            "sponsored",
            "promo",
            "banner",
            "dfp",
            "gpt",
            "adslot",
            "commercial",
        ],
    ),
    (
        groups::SUBSCRIBE,
        &[
            "newsletter",
            "subscribe",
            "subscription",
            "signup",
            "login",
            "paywall",
            "register",
            "modal",
            "popup",
            "cookie",
            "cookies",
            "consent",
            "gdpr",
            "overlay",
        ],
    ),
    (
        groups::META,
        &[
            "author",
            "byline",
            "meta",
            "date",
            "time",
            "timestamp",
            "published",
            "tags",
            "tag",
            "tagcloud",
            "category",
            "categories",
            "kicker",
            "dateline",
            "info",
        ],
    ),
    (
        groups::CAPTION,
        &[
            "caption",
            "credit",
            "credits",
            "figure",
            "photo",
            "image",
            "img",
            "gallery",
            "media",
            "video",
            "thumb",
            "thumbnail",
            "slider",
            "slideshow",
            "carousel",
        ],
    ),
    (
        groups::CONTENT,
        &[
            "article",
            "content",
            "main",
            "body",
            "text",
            "story",
            "entry",
            "post",
            "prose",
            "articlebody",
            "hentry",
            "blog",
            "richtext",
            "paragraph",
        ],
    ),
    (
        groups::HEADER,
        &[
            "header", "masthead", "hero", "title", "headline", "heading", "intro", "lead",
            "summary", "teaser",
        ],
    ),
    (
        groups::HIDDEN,
        &[
            "hidden",
            "hide",
            "invisible",
            "sr",
            "offscreen",
            "collapsed",
        ],
    ),
    (
        groups::LISTING,
        &[
            "card", "cards", "list", "grid", "tile", "tiles", "item", "items", "feed", "listing",
            "archive", "loop",
        ],
    ),
];

fn token_groups(el: &Element, tokens: &[TokenFacts]) -> u16 {
    let mut g = tokens.iter().fold(0, |acc, t| acc | t.groups);
    if el.attr("itemprop") == Some("articleBody")
        || el.attr("role") == Some("main")
        || el.attr("property") == Some("articleBody")
    {
        g |= groups::DECLARED_BODY;
    }
    if matches!(el.name(), "header") {
        g |= groups::HEADER;
    }
    g
}

/// Short lines that announce the end of the article: what follows them inside the content
/// area is comments, related articles or other chrome.
static END_MARKER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?xi)^\s*({COMMENT_MARKERS}|{RELATED_MARKERS})\s*[:：.…!]*\s*$"
    ))
    .expect("end-marker pattern is valid")
});

/// The part of [`END_MARKER`] that opens a comment section.
static COMMENT_MARKER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(r"(?xi)^\s*({COMMENT_MARKERS})\s*[:：.…!]*\s*$"))
        .expect("comment-marker pattern is valid")
});

const COMMENT_MARKERS: &str = r"
          leave\ a\ (reply|comment) | post\ a\ comment | add\ (a\ )?comment | comments?
        | \d+\ comments? | write\ a\ comment | join\ the\ (conversation|discussion)
        | laisser\ un\ commentaire | commentaires? | kommentare? | comentarios?
        | deja\ un\ comentario | comentários? | deixe\ (um|seu)\ comentário
        | lascia\ un\ commento | commenti | reacties
        | اترك\ تعليق(ك|ا)? | اضف\ تعليق(ك|ا)? | أضف\ تعليق(ك|ا)? | إضافة\ تعليق | ارسال\ تعليق | إرسال\ تعليق
        | التعليقات | تعليقات | 评论 | コメント | 댓글
";

const RELATED_MARKERS: &str = r"
          related(\ (articles?|posts?|stories|news|content|coverage|reading))?
        | (you\ )?(may|might)\ also\ (like|be\ interested\ in|enjoy)
        | more\ (from|on|in)\ .* | recommended(\ for\ you)? | read\ next | up\ next
        | most\ (read|popular|viewed) | trending(\ now)? | popular\ (posts|articles)
        | share\ this(\ (article|story|post))?
        | (next|previous)\ (article|post|story) | التالي | (المقال|الخبر|الموضوع)\ التالي
        | articles?\ similaires | à\ lire\ aussi | sur\ le\ même\ sujet | dans\ la\ même\ rubrique
        | ähnliche\ artikel | das\ könnte\ sie\ auch\ interessieren
        | artículos\ relacionados | noticias\ relacionadas | (también\ )?te\ puede\ interesar | más\ noticias
        | (você\ )?(também\ )?pode\ gostar | leia\ (também|mais) | veja\ também
        | (posts|artigos|notícias|matérias)\ relacionad[oa]s
        | articoli\ correlati | potrebbe\ interessarti
        | weitere\ artikel | mehr\ zum\ thema | gerelateerde\ artikelen
        | مقالات\ ذات\ صلة | أخبار\ ذات\ صلة | اخبار\ ذات\ صلة | مواضيع\ ذات\ صلة
        | اقرأ\ أيضا | اقرأ\ أيضاً | اقرأ\ ايضا | إقرأ\ أيضا | قد\ يعجبك\ أيضا | الأكثر\ قراءة | الاكثر\ قراءة
        | 相关(文章|新闻|阅读) | 関連記事 | 관련\ 기사
";

// Length limits live outside the patterns: a bounded repetition like `.{0,200}` of
// Unicode `.` compiles to hundreds of automaton copies (about 190 MB for these sets),
// while `.*` plus a length check costs nothing.

/// Short lines that are chrome wherever they appear: reading time, share prompts,
/// datelines, bylines, captions (at most [`SHORT_LINE`] characters).
static SHORT_CHROME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?xi)^\s*(
          continue\ reading.* | sign\ up\ for(?-u:\b).* | subscribe\ to(?-u:\b).*
        | \d+\s*(min|mins|minutes?|mn|m)\.?(\ (read|de\ lecture|lesen|lectura|leitura|di\ lettura))?
        | (estimated\ )?reading\ time(?-u:\b).* | \d+\s*min(ute)?s?\ (de\ )?lecture
        | (previous|next|prev)\ (article|post|story|page) | (older|newer)\ (posts?|entries|articles?)
        | article\ (suivant|précédent) | (nächster|vorheriger)\ (artikel|beitrag) | (siguiente|anterior)
        | privacy\ policy | terms\ (of\ (use|service)|and\ conditions) | cookie\ (policy|settings)
        | politique\ de\ confidentialité | datenschutz(erklärung)? | política\ de\ privacidad
        | temps\ de\ lecture.* | lire\ la\ suite.* | lesezeit.* | tiempo\ de\ lectura.*
        | required\ fields\ are\ marked.*
        | (share|share\ on|share\ this|tweet|email|print)(\s*(facebook|twitter|x|whatsapp|linkedin|telegram|email|print|copy\ link)(?-u:\b))*
        | (advertisement|advertising|sponsored|anzeige|publicité|publicidade|publicidad|إعلان)
        | caption | close | back\ to\ gallery | (previous|next)(\ (image|slide|photo))? | enlarge\ this\ image
        | (updated|published|posted|last\ updated|modified)(\ on|\ at)?(?-u:\b).*\d.*
        | by\ [^.!?]+\ [-–|]\ [^a-z]*\d.*
        | hi,\ what\ are\ you\ looking\ for\?? | connect\ with\ us | follow\ us.*
        | مدة\ القراءة.* | وقت\ القراءة.* | \d+\s*(دقيقة|دقائق|د)\.?(\ (قراءة|للقراءة))?
        | (قراءة|للقراءة)\ \d+\s*(دقيقة|دقائق) | دقيقة\ (قراءة|للقراءة) | دقيقتان(\ (قراءة|للقراءة))?
        | التالي | السابق | (المقال|الخبر|الموضوع)\ (التالي|السابق)
        | سياسة\ الخصوصية | شروط\ الاستخدام | (اقرأ|إقرأ)\ سياسة\ الخصوصية
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
          (read|see|view)\ (more|also|full\ (story|article))(?-u:\b).*
        | lire\ aussi.* | lesen\ sie\ auch.* | lee\ también.* | lea\ también.*
        | (leggi\ anche|leia\ também|veja\ também|ver\ también|lees\ ook)\s*[:：].*
        | (あわせて読みたい|関連記事|こちらもおすすめ|延伸阅读|相关阅读|推荐阅读|관련\ 기사)\s*[:：].*
        | your\ email\ address\ will\ not\ be\ published.*
        | (photo|image|picture|video|credit|foto|bild|crédit)s?\s*:.*
        | .*(©|\(c\)\ \d{4}|copyright\ \d{4}|all\ rights\ reserved|tous\ droits\ réservés|todos\ los\ derechos|جميع\ الحقوق\ محفوظة).*
        | (اقرأ|إقرأ|اقرا)\ (المزيد|أيضا|أيضاً|ايضا)\s*[:：].*
        | لن\ يتم\ نشر\ عنوان\ بريدك\ الإلكتروني.* | اترك\ تعليقك\ إذا.*
        | .*(privacy\ policy|terms\ of\ (use|service)|سياسة\ الخصوصية|شروط\ الاستخدام).*
        )\s*$",
    )
    .expect("medium chrome pattern is valid")
});

/// The fine print that opens comment sections: "the opinions expressed in the comments do
/// not reflect the site's", "comments are moderated", "by commenting you agree...".
static COMMENT_TERMS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?xi)(
          (views|opinions|comments)\ (expressed\ )?(below|in\ (the\ )?comments|here).*(do\ not|don't|are\ not|not\ necessarily|solely|own)
        | comments?\ (are|will\ be)\ (moderated|reviewed|the\ (sole\ )?responsibility)
        | by\ (posting|commenting|submitting).*(agree|accept)
        | (please\ )?(keep|be)\ (it\ )?(civil|respectful).*comment
        | les\ commentaires.*(n'engagent|sont\ modérés|ne\ reflètent)
        | kommentare.*(moderiert|geben\ nicht|spiegeln\ nicht)
        | los\ comentarios.*(no\ reflejan|son\ responsabilidad|moderados)
        | coment(á|a)rios.*(n(ã|a)o\ ser(ã|a)o\ (aprovados|publicados)|s(ã|a)o\ de\ (inteira\ )?responsabilidade|moderados|n(ã|a)o\ refletem)
        | i\ commenti.*(moderati|non\ rappresentano|non\ riflettono)
        | (الآراء|التعليقات|الاراء).*(لا\ تعبر|لا\ تمثل|لا\ يعبر|تعبر\ عن\ (رأي|آراء)\ (أصحابها|كاتبيها))
        | (يتحمل|يتحمّل)\ .*(مسؤولية|المسؤولية)\ .*(تعليق|التعليق)
        )",
    )
    .expect("comment terms pattern is valid")
});
const TERMS_LINE: usize = 300;

/// Comment-section fine print: chrome, and like an end marker, the end of the article.
pub(crate) fn is_comment_terms(line: &str) -> bool {
    line.chars().count() <= TERMS_LINE && COMMENT_TERMS.is_match(line)
}
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

static YEAR: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?-u:\b)(19|20)\d\d(?-u:\b)").expect("year pattern is valid"));
static CLOCK: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?-u:\b)\d{1,2}[:h]\d\d(?-u:\b)").expect("clock pattern is valid")
});

/// A line that is a date and time and nothing else ("segunda-feira, 22 de janeiro de 2018
/// às 0:13", "NOVEMBER 20, 2019 10:43", "08.04.2015 12:46"): a year and a clock time in a
/// few words, no sentence. A dateline is metadata (`published`), not text.
pub(crate) fn is_date_line(line: &str) -> bool {
    let t = line.trim();
    t.chars().count() <= 60
        && t.split_whitespace().count() <= 9
        && !t.ends_with(['.', '!', '?'])
        && !t.contains(". ")
        && YEAR.is_match(t)
        && CLOCK.is_match(t)
}

/// A photo's caption as agencies and papers write it: ending in the credit ("(AP
/// Photo/Evan Vucci)", "(Foto: dpa)", "(Photo : AFP)") or, in the wire services' style,
/// opening with "In this ... photo". The credit is what tells a caption from a sentence.
static PHOTO_CAPTION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?xi)
          [(\[]\s*(ap|afp|reuters|getty(\ images)?|epa|dpa|ansa|efe|xinhua|anadolu|upi
                  |photo|foto|bild|image|picture|crédit|credit|фото|صورة|الصورة)
                  [^()\[\]]{0,80}[)\]]\s*$
        | ^in\ this\ ((\S*\d\S*|(?-i:[A-Z][a-z]{2,8}\.?,?)|file|undated|handout|aerial|video)\ ){0,6}
          (photo|image|picture|handout)s?\b",
    )
    .expect("photo-caption pattern is valid")
});

/// A line that is a photo caption with its credit (see [`PHOTO_CAPTION`]): the picture's
/// metadata, not the article's text.
pub(crate) fn is_photo_caption(line: &str) -> bool {
    line.chars().count() <= LONG_LINE && PHOTO_CAPTION.is_match(line)
}

/// The label a tag list prints on its own line above its links, in several languages.
static TAG_LABEL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?xi)^\s*(
          tags? | topics? | keywords? | filed\ under | categories | category
        | etiquetas | palavras[-\ ]chave | mots[-\ ]clés | schlagw(ö|oe)rter | schlagworte | argomenti
        | الوسوم | وسوم | الكلمات\ المفتاحية | كلمات\ مفتاحية | 标签 | 標籤
        )\s*[:：]?\s*$",
    )
    .expect("tag-label pattern is valid")
});

/// A block that is a tag list: its first line the list's label, the rest mostly links.
pub(crate) fn is_labelled_tag_list(lines: &[&str], link_density: f32) -> bool {
    lines.len() >= 2 && link_density >= 0.5 && TAG_LABEL.is_match(lines[0])
}

/// Lines that end the article when they appear as a short block after some body text.
pub(crate) fn is_end_marker(line: &str) -> bool {
    (line.chars().count() <= 60 && END_MARKER.is_match(line)) || is_comment_terms(line)
}

/// An end marker that opens a comment section ("Leave a reply", "12 comments").
pub(crate) fn is_comment_marker(line: &str) -> bool {
    (line.chars().count() <= 60 && COMMENT_MARKER.is_match(line)) || is_comment_terms(line)
}

/// Lines of a tag cloud or a list of section names printed one per line: four or more,
/// each a few words, none a sentence.
pub(crate) fn is_word_list(lines: &[&str]) -> bool {
    lines.len() >= 4
        && lines.iter().all(|l| {
            l.chars().count() <= 30
                && l.split_whitespace().count() <= 3
                && !l.chars().any(|c| c.is_numeric())
                && !l.ends_with(['.', '!', '?', '؟', '。', ':', '،', ','])
        })
}

pub(crate) fn is_chrome_line(line: &str) -> bool {
    if is_comment_terms(line) {
        return true;
    }
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
            "2min",
            "3 min",
            "4 دقائق",
            "قراءة 3 دقائق",
            "دقيقتان",
            "التالي",
            "المقال السابق",
            "Next article",
            "Older posts",
            "اقرأ سياسة الخصوصية",
            "Privacy Policy",
            "あわせて読みたい： 台風十号が九州に接近",
            "延伸阅读：地铁新线开通",
            "الآراء الواردة في التعليقات تعبر عن آراء أصحابها ولا تعبر عن رأي الموقع",
            "The views expressed in the comments below do not reflect those of the site.",
            "Comments are moderated and will appear after approval.",
            "ATENÇÃO: Comentários com textos ofensivos não serão aprovados pelo moderador.",
            "I commenti sono moderati prima della pubblicazione.",
        ] {
            assert!(is_chrome_line(line), "{line}");
        }
        for line in [
            "الآراء الواردة في التعليقات تعبر عن آراء أصحابها ولا تعبر عن رأي الموقع",
            "By commenting you agree to our community guidelines.",
            "التالي",
        ] {
            assert!(is_end_marker(line), "{line}");
        }
        assert!(is_comment_marker(
            "التعليقات المنشورة لا تعبر عن رأي الموقع وإنما تعبر عن رأي أصحابها"
        ));
        assert!(!is_chrome_line(
            "Reading the statement, officials said the mission would end."
        ));
    }

    #[test]
    fn word_lists() {
        assert!(is_word_list(&[
            "لبنان",
            "سياسة",
            "الانتخابات",
            "بيروت",
            "الحكومة"
        ]));
        assert!(is_word_list(&[
            "Politics",
            "Beirut",
            "Elections",
            "Government"
        ]));
        // Ingredients and sentences are not tag clouds.
        assert!(!is_word_list(&[
            "200 g Zucker",
            "2 Eier",
            "1 Prise Salz",
            "100 g Mehl"
        ]));
        assert!(!is_word_list(&[
            "He came.", "He saw.", "He won.", "He left."
        ]));
        assert!(!is_word_list(&["Politics", "Beirut", "Elections"]));
    }

    #[test]
    fn photo_captions() {
        for line in [
            "President Biden speaks at the White House on Monday. (AP Photo/Evan Vucci)",
            "Rettungskräfte am Unfallort in Köln. (Foto: dpa)",
            "Des manifestants à Paris, samedi. (Photo : AFP)",
            "Smoke rises over the port. [Reuters]",
            "In this Dec. 12, 2006, file photo, made available by NASA, an astronaut works \
             outside the station.",
            "In this handout image released by the navy, the ship leaves port.",
        ] {
            assert!(is_photo_caption(line), "{line}");
        }
        for line in [
            "LONDON (Reuters) - Shares fell on Monday after the bank raised its rates.",
            "The minister said the plan (approved in March) would cost four million.",
            "In this article we explain how the photo was taken.",
            "In this town, the photographers' festival opens on Friday.",
        ] {
            assert!(!is_photo_caption(line), "{line}");
        }
    }

    #[test]
    fn date_lines() {
        for line in [
            "segunda-feira, 22 de janeiro de 2018 às 0:13",
            "NOVEMBER 20, 2019 10:43",
            "08.04.2015 12:46",
            "12:46 08/04/2015",
            "الأربعاء 20 نوفمبر 2019 - 10:43",
        ] {
            assert!(is_date_line(line), "{line}");
        }
        for line in [
            "The match on 12 May 2019 ended at 21:45 after extra time.",
            "NOVEMBER 20, 2019",
            "Trains leave at 10:43 from platform 2",
        ] {
            assert!(!is_date_line(line), "{line}");
        }
    }

    #[test]
    fn labelled_tag_lists() {
        let tags = [
            "Tags",
            "stock car 2018, stock car brasil, interlagos, velopark",
        ];
        assert!(is_labelled_tag_list(&tags, 0.9));
        assert!(is_labelled_tag_list(
            &["الوسوم:", "لبنان، بيروت، الحكومة"],
            0.8
        ));
        // The label alone is left to the other rules; unlinked text under it is prose.
        assert!(!is_labelled_tag_list(&tags[..1], 0.9));
        assert!(!is_labelled_tag_list(&tags, 0.1));
        assert!(!is_labelled_tag_list(
            &["Tags are small", "They label posts"],
            0.9
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
