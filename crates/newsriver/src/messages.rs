//! What travels between the stages.

use chrono::{DateTime, Utc};
use newsriver_fetcher::Page;
use newsriver_model::Article;
pub use newsriver_model::Job;
use newsriver_publisher::Encoded;
use newsriver_store::Remembered;
use newsriver_stripper::Extracted;

/// A page fetched whole: fetch -> strip.
pub struct Fetched {
    pub job: Job,
    pub page: Page,
    pub fetched_at: DateTime<Utc>,
}

/// A page with an article on it: strip -> dedup.
pub struct Stripped {
    pub job: Job,
    pub final_url: String,
    pub extracted: Extracted,
    pub fetched_at: DateTime<Utc>,
}

/// An article to publish: dedup -> publish.
pub struct ToPublish {
    pub job: Job,
    pub article: Article,
    pub remembered: Option<Remembered>,
}

/// What completion needs of a published article: its URLs, what `newsriver stories`
/// lists, and what dedup remembers; not its text, which the sink has already taken.
pub struct Published {
    pub job: Job,
    pub canonical_url: String,
    pub title: Option<String>,
    pub language: Option<String>,
    pub remembered: Option<Remembered>,
}

impl From<ToPublish> for Published {
    fn from(p: ToPublish) -> Published {
        let ToPublish {
            job,
            article,
            remembered,
        } = p;
        Published {
            job,
            canonical_url: article.canonical_url,
            title: article.title,
            language: article.language,
            remembered,
        }
    }
}

/// An article ready for the sink: dedup -> publish. Encoded to JSON by the dedup stage,
/// so the publish stage only hands bytes over (encoding there made publishing wait on
/// the CPU); what completion needs travels beside it.
pub struct Ready {
    pub encoded: Encoded,
    pub published: Published,
}

/// How a job ended: every stage -> completion (the acknowledgement path).
pub enum Done {
    Published(Box<Published>),
    Duplicate {
        job: Job,
        article_canonical: String,
    },
    Failed {
        job: Job,
        error: String,
        transient: bool,
    },
    /// Left out on purpose (`filter.languages`): done, never retried, not a failure.
    Filtered {
        job: Job,
        reason: String,
    },
}

/// A feed job for `url` (its own canonical URL), for the stages' unit tests.
#[cfg(test)]
pub(crate) fn test_job(url: &str) -> Job {
    Job {
        page: newsriver_model::PageJob {
            url: url.to_string(),
            source: "https://a.test/feed".into(),
            hints: Default::default(),
        },
        canonical_url: url.to_string(),
        attempts: 0,
        warc: None,
    }
}
