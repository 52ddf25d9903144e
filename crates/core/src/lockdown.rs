//! What the desktop window may go to, decided here so it is tested without a window:
//!
//! - [`is_app_page`]: the only pages the window may show are AppGrant's own (the bundled UI
//!   over Tauri's custom protocol, or the Vite dev server in a debug build). Any other
//!   navigation (a remote site, a `file://` page, `data:`) is refused by the shell.
//! - [`may_open_externally`]: links the admin may open in the system browser: only `https`
//!   pages on the Microsoft sign-in hosts of the chosen cloud (consent URL, device-code
//!   page) or on its admin portal ("Show in the Entra admin center", `portal::portal_host`),
//!   and the practice tenant's own address. Everything else is refused, so a value
//!   from a tenant or a recipe can never make AppGrant open an arbitrary site.

use url::Url;

use crate::cloud::Cloud;

/// Whether `url` is one of AppGrant's own pages. `dev` allows the Vite dev server
/// (`http://localhost:1420`) that debug builds load.
pub fn is_app_page(url: &Url, dev: bool) -> bool {
    match (url.scheme(), url.host_str()) {
        ("tauri", Some("localhost")) => true,
        ("http" | "https", Some("tauri.localhost")) => true,
        ("http", Some("localhost")) => dev && url.port() == Some(1420),
        _ => false,
    }
}

/// The device-code pages Microsoft's answers point to (`verification_uri`), by cloud.
const DEVICE_LOGIN_HOSTS: &[&str] = &["microsoft.com", "www.microsoft.com", "login.microsoft.com"];

/// Whether the system browser may be asked to open `url`: `https` on the login host or the
/// admin portal of `cloud` (or Microsoft's device-login host), or anything under the practice
/// tenant's base address `practice` (`http://127.0.0.1:PORT/` when it runs inside AppGrant).
pub fn may_open_externally(url: &Url, cloud: &Cloud, practice: Option<&Url>) -> bool {
    if let Some(base) = practice {
        if url.origin() == base.origin() {
            return true;
        }
    }
    if url.scheme() != "https" || !url.username().is_empty() || url.password().is_some() {
        return false;
    }
    let Some(host) = url.host_str() else {
        return false;
    };
    let login_host = cloud
        .endpoints()
        .ok()
        .and_then(|e| e.login.host_str().map(str::to_ascii_lowercase));
    let host = host.to_ascii_lowercase();
    let portal_host = crate::portal::portal_host(cloud)
        .and_then(|p| Url::parse(p).ok())
        .and_then(|p| p.host_str().map(str::to_ascii_lowercase));
    login_host.as_deref() == Some(host.as_str())
        || portal_host.as_deref() == Some(host.as_str())
        || (!matches!(cloud, Cloud::Custom { .. }) && DEVICE_LOGIN_HOSTS.contains(&host.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn only_appgrants_own_pages_may_be_shown() {
        assert!(is_app_page(&url("tauri://localhost/index.html"), false));
        assert!(is_app_page(&url("http://tauri.localhost/"), false));
        assert!(is_app_page(&url("http://localhost:1420/"), true));
        for bad in [
            "http://localhost:1420/",
            "https://evil.example/",
            "file:///etc/passwd",
            "data:text/html,<h1>x</h1>",
            "http://127.0.0.1:8080/",
            "tauri://evil.example/",
            "https://tauri.localhost.evil.example/",
        ] {
            assert!(!is_app_page(&url(bad), false), "{bad}");
        }
    }

    #[test]
    fn only_the_clouds_sign_in_pages_and_the_practice_tenant_open_in_the_browser() {
        let global = Cloud::Global;
        assert!(may_open_externally(
            &url("https://login.microsoftonline.com/contoso.com/adminconsent?client_id=x"),
            &global,
            None
        ));
        assert!(may_open_externally(
            &url("https://microsoft.com/devicelogin"),
            &global,
            None
        ));
        let practice = url("http://127.0.0.1:4321/");
        assert!(may_open_externally(
            &url("http://127.0.0.1:4321/contoso/oauth2/v2.0/deviceauth"),
            &global,
            Some(&practice)
        ));
        for bad in [
            "http://login.microsoftonline.com/x",
            "https://login.microsoftonline.com.evil.example/",
            "https://user:pw@login.microsoftonline.com/",
            "https://evil.example/?https://login.microsoftonline.com/",
            "http://127.0.0.1:4322/",
            "file:///etc/passwd",
            "javascript:alert(1)",
        ] {
            assert!(
                !may_open_externally(&url(bad), &global, Some(&practice)),
                "{bad}"
            );
        }
        // The cloud's admin portal opens ("Show in the Entra admin center"); another cloud's
        // portal does not, nor a look-alike host.
        let blade = "#view/Microsoft_AAD_RegisteredApps/ApplicationMenuBlade/~/Overview/appId/00000000-0000-0000-0000-000000000001";
        assert!(may_open_externally(
            &url(&format!("https://entra.microsoft.com/{blade}")),
            &global,
            None
        ));
        assert!(may_open_externally(
            &url(&format!("https://portal.azure.us/{blade}")),
            &Cloud::UsGovDod,
            None
        ));
        assert!(!may_open_externally(
            &url(&format!("https://portal.azure.us/{blade}")),
            &global,
            None
        ));
        assert!(!may_open_externally(
            &url("https://entra.microsoft.com.evil.example/"),
            &global,
            None
        ));
        assert!(!may_open_externally(
            &url("http://entra.microsoft.com/"),
            &global,
            None
        ));
        // Another cloud's sign-in host is not this cloud's.
        assert!(!may_open_externally(
            &url("https://login.microsoftonline.com/x"),
            &Cloud::China,
            None
        ));
    }
}
