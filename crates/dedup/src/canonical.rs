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

/// Query parameters that identify a campaign or click, never the article.
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
