//! The supervisors' dashboard at `/dashboard`: one page, its script and its
//! stylesheet, embedded in the binary so it works on an offline government
//! network. The page reads only the statistics and findings endpoints with
//! the signed-in client's bearer token; it holds no personal data.

use std::sync::OnceLock;

use actix_web::http::header::{self, HeaderValue};
use actix_web::{guard, web, HttpRequest, HttpResponse, Route};
use sha2::{Digest, Sha256};

const INDEX_HTML: &str = include_str!("assets/index.html");
const APP_JS: &str = include_str!("assets/app.js");
const APP_CSS: &str = include_str!("assets/app.css");

/// The Content-Security-Policy of every dashboard response: nothing from
/// other hosts, no inline scripts or styles, no framing.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; \
form-action 'self'";

/// One embedded file.
struct Asset {
    content_type: &'static str,
    body: &'static str,
    etag: OnceLock<String>,
}

static INDEX: Asset = Asset::new("text/html; charset=utf-8", INDEX_HTML);
static SCRIPT: Asset = Asset::new("text/javascript; charset=utf-8", APP_JS);
static STYLE: Asset = Asset::new("text/css; charset=utf-8", APP_CSS);

impl Asset {
    const fn new(content_type: &'static str, body: &'static str) -> Asset {
        Asset {
            content_type,
            body,
            etag: OnceLock::new(),
        }
    }

    /// A strong ETag from the content, so `no-cache` revalidation is a cheap 304.
    fn etag(&self) -> &str {
        self.etag.get_or_init(|| {
            let digest = Sha256::digest(self.body.as_bytes());
            let hex: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
            format!("\"{hex}\"")
        })
    }

    fn respond(&self, req: &HttpRequest) -> HttpResponse {
        let etag = self.etag();
        let fresh = req
            .headers()
            .get(header::IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
        let mut res = if fresh {
            HttpResponse::NotModified()
        } else {
            HttpResponse::Ok()
        };
        res.insert_header((header::ETAG, etag))
            .insert_header((header::CACHE_CONTROL, "no-cache"))
            .insert_header((header::CONTENT_SECURITY_POLICY, CSP))
            .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
            .insert_header((header::REFERRER_POLICY, "no-referrer"))
            .insert_header((header::X_FRAME_OPTIONS, "DENY"));
        if fresh {
            return res.finish();
        }
        res.insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_static(self.content_type),
        ))
        .body(self.body)
    }
}

/// The dashboard page.
async fn dashboard_page(req: HttpRequest) -> HttpResponse {
    INDEX.respond(&req)
}

/// The dashboard script.
async fn dashboard_script(req: HttpRequest) -> HttpResponse {
    SCRIPT.respond(&req)
}

/// The dashboard stylesheet.
async fn dashboard_style(req: HttpRequest) -> HttpResponse {
    STYLE.respond(&req)
}

/// `/dashboard/` → `/dashboard`: the page uses relative URLs, which resolve
/// against `/dashboard` only. The relative `Location` keeps a reverse-proxy
/// path prefix intact.
async fn dashboard_slash() -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header((header::LOCATION, "../dashboard"))
        .finish()
}

/// GET, and HEAD (answered without the body).
fn get_or_head() -> Route {
    web::route().guard(guard::Any(guard::Get()).or(guard::Head()))
}

/// Registers the dashboard routes (plain routes: they are not part of the API contract).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/dashboard", get_or_head().to(dashboard_page))
        .route("/dashboard/", get_or_head().to(dashboard_slash))
        .route("/dashboard/app.js", get_or_head().to(dashboard_script))
        .route("/dashboard/app.css", get_or_head().to(dashboard_style));
}
