//! URL canonicalization: the same article under tracking parameters, fragments, default
//! ports, upper-case hosts or AMP paths maps to one URL.

use url::Url;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum UrlError {
    #[error("not a valid URL: {0}")]
    Invalid(String),
    #[error("unsupported scheme {0:?} (only http and https are fetched)")]
    Scheme(String),
}

#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    #[error(
        "this build has no ClearURLs support: rebuild with `--features clearurls` \
         (the rules and their code are LGPL-3.0)"
    )]
    NotBuilt,
    #[error("reading ClearURLs rules: {0}")]
    Read(String),
    #[error("ClearURLs rules were already chosen for this process")]
    AlreadySet,
}

#[cfg(feature = "clearurls")]
static CLEARURLS: std::sync::OnceLock<clearurls::UrlCleaner> = std::sync::OnceLock::new();

/// Makes [`canonicalize_url`] also apply the ClearURLs rules (provider-specific tracking
/// parameters and redirect wrappers), from `rules` (a `data.min.json` as ClearURLs
/// publishes it) or, without one, the copy embedded in the `clearurls` crate. Chosen once
/// per process, before any URL is canonicalized: every stage must agree on the form.
pub fn use_clearurls(rules: Option<&std::path::Path>) -> Result<(), RulesError> {
    #[cfg(feature = "clearurls")]
    {
        let cleaner = match rules {
            Some(path) => clearurls::UrlCleaner::from_rules_path(path),
            None => clearurls::UrlCleaner::from_embedded_rules(),
        }
        .map_err(|e| RulesError::Read(e.to_string()))?;
        CLEARURLS.set(cleaner).map_err(|_| RulesError::AlreadySet)
    }
    #[cfg(not(feature = "clearurls"))]
    {
        let _ = rules;
        Err(RulesError::NotBuilt)
    }
}

/// Query parameters that identify a campaign or click, never the article: the common
/// cross-site ones, so that the default build needs no rule set.
fn is_tracking_param(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n.starts_with("utm_")
        || n.starts_with("ga_")
        || n.starts_with("pk_")
        || n.starts_with("mtm_")
        || n.starts_with("hsa_")
        || matches!(
            n.as_str(),
            "fbclid"
                | "gclid"
                | "gclsrc"
                | "dclid"
                | "gbraid"
                | "wbraid"
                | "msclkid"
                | "mc_cid"
                | "mc_eid"
                | "yclid"
                | "_ga"
                | "_gl"
                | "igshid"
                | "twclid"
                | "ttclid"
                | "li_fat_id"
                | "mkt_tok"
                | "_hsenc"
                | "_hsmi"
                | "oly_anon_id"
                | "oly_enc_id"
                | "vero_id"
                | "ref"
                | "ref_src"
                | "ref_url"
                | "referrer"
                | "cmpid"
                | "ocid"
                | "smid"
                | "sr_share"
                | "at_medium"
                | "at_campaign"
                | "rss"
                | "cmp"
                | "outputtype"
        )
}

/// Canonical form of an article URL: http(s) only, lower-case scheme and host, no default
/// port, no fragment, no tracking parameters, remaining query sorted, AMP variants mapped
/// back to the article.
pub fn canonicalize_url(raw: &str) -> Result<Url, UrlError> {
    let mut url = Url::parse(raw.trim()).map_err(|e| UrlError::Invalid(format!("{raw}: {e}")))?;
    match url.scheme() {
        "http" | "https" => {}
        other => return Err(UrlError::Scheme(other.to_string())),
    }
    if url.host_str().is_none() {
        return Err(UrlError::Invalid(raw.to_string()));
    }
    #[cfg(feature = "clearurls")]
    if let Some(cleaner) = CLEARURLS.get() {
        // Best effort: a URL the rules cannot handle keeps our own cleaning below.
        if let Ok(cleaned) = cleaner.clear_single_url(&url) {
            let cleaned = cleaned.into_owned();
            if cleaned != url {
                // A redirect wrapper may point anywhere: check the target like any URL.
                return canonicalize_url(cleaned.as_str());
            }
        }
    }
    url.set_fragment(None);
    // `url` already lower-cases the host and drops default ports; what remains is ours.
    if let Some(host) = url.host_str().map(str::to_string) {
        if let Some(stripped) = host.strip_prefix("amp.") {
            let _ = url.set_host(Some(stripped));
        }
        // Google AMP cache: /c/s/example.com/path -> https://example.com/path
        if host.ends_with(".cdn.ampproject.org") {
            let path = url.path().to_string();
            let rest = path
                .strip_prefix("/c/s/")
                .or_else(|| path.strip_prefix("/v/s/"))
                .map(|r| format!("https://{r}"))
                .or_else(|| path.strip_prefix("/c/").map(|r| format!("http://{r}")));
            if let Some(target) = rest {
                return canonicalize_url(&target);
            }
        }
    }
    let mut pairs: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, v)| !is_tracking_param(k) && !(k == "amp" && (v.is_empty() || v == "1")))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    pairs.sort();
    if pairs.is_empty() {
        url.set_query(None);
    } else {
        url.query_pairs_mut().clear().extend_pairs(pairs);
    }
    let path = url.path().to_string();
    let trimmed = path
        .strip_suffix("/amp/")
        .or_else(|| path.strip_suffix("/amp"))
        .or_else(|| path.strip_suffix(".amp"))
        .map(|p| if p.is_empty() { "/" } else { p });
    if let Some(p) = trimmed {
        let p = p.to_string();
        url.set_path(&p);
    }
    if url.path().len() > 1 && url.path().ends_with('/') {
        let p = url.path().trim_end_matches('/').to_string();
        url.set_path(&p);
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> String {
        canonicalize_url(s).unwrap().to_string()
    }

    #[test]
    fn strips_tracking_and_sorts() {
        assert_eq!(
            c("HTTPS://News.Example.COM:443/a/b/?utm_source=x&b=2&fbclid=y&a=1#top"),
            "https://news.example.com/a/b?a=1&b=2"
        );
        assert_eq!(
            c("http://example.com/x?utm_medium=rss"),
            "http://example.com/x"
        );
    }

    #[test]
    fn maps_amp_back() {
        assert_eq!(
            c("https://example.com/story/amp/"),
            "https://example.com/story"
        );
        assert_eq!(
            c("https://amp.example.com/story?amp=1"),
            "https://example.com/story"
        );
        assert_eq!(
            c("https://example-com.cdn.ampproject.org/c/s/example.com/story/amp"),
            "https://example.com/story"
        );
    }

    #[cfg(not(feature = "clearurls"))]
    #[test]
    fn clearurls_needs_its_feature() {
        assert!(matches!(use_clearurls(None), Err(RulesError::NotBuilt)));
    }

    #[cfg(feature = "clearurls")]
    #[test]
    fn clearurls_rules_add_provider_parameters_and_unwrap_redirects() {
        let before = c("https://www.amazon.com/dp/B0TEST?pd_rd_r=abc&th=1");
        assert!(before.contains("pd_rd_r"), "{before}");
        use_clearurls(None).unwrap();
        assert!(matches!(use_clearurls(None), Err(RulesError::AlreadySet)));
        assert_eq!(
            c("https://www.amazon.com/dp/B0TEST?pd_rd_r=abc&th=1"),
            "https://www.amazon.com/dp/B0TEST"
        );
        assert_eq!(
            c("https://www.google.com/url?q=https%3A%2F%2Fnews.example.com%2Fa%3Futm_source%3Dx&sa=D"),
            "https://news.example.com/a"
        );
        // Our own rules still apply on top.
        assert_eq!(
            c("http://example.com/x?utm_medium=rss"),
            "http://example.com/x"
        );
    }

    #[test]
    fn refuses_other_schemes() {
        assert!(matches!(
            canonicalize_url("file:///etc/passwd"),
            Err(UrlError::Scheme(_))
        ));
        assert!(matches!(
            canonicalize_url("javascript:alert(1)"),
            Err(UrlError::Scheme(_))
        ));
        assert!(canonicalize_url("not a url").is_err());
    }
}
