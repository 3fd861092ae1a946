//! Built-in name lists: hosts, user agents, URI paths, video hosts, resolution labels.

/// Default host names (SNI, HTTP Host, DNS qnames).
pub const HOSTS: [&str; 32] = [
    "www.example.com",
    "example.org",
    "api.example.net",
    "cdn.example.com",
    "static.example.org",
    "mail.example.com",
    "login.example.net",
    "img.example.com",
    "news.example.org",
    "shop.example.com",
    "update.example.net",
    "telemetry.example.com",
    "ads.example.net",
    "video.example.org",
    "docs.example.com",
    "git.example.org",
    "search.example.com",
    "maps.example.net",
    "weather.example.org",
    "chat.example.com",
    "files.example.net",
    "music.example.com",
    "games.example.org",
    "social.example.net",
    "bank.example.com",
    "wiki.example.org",
    "accounts.example.net",
    "fonts.example.com",
    "analytics.example.org",
    "push.example.net",
    "edge.example.com",
    "time.example.org",
];

/// Host names of video CDNs.
pub const VIDEO_HOSTS: [&str; 6] = [
    "rr1.video-cdn.example.net",
    "rr2.video-cdn.example.net",
    "rr3.video-cdn.example.net",
    "media.streaming.example.com",
    "vod.example.org",
    "seg.tube.example.com",
];

/// User-Agent values.
pub const USER_AGENTS: [&str; 6] = [
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
    "curl/8.5.0",
    "Wget/1.21.4",
    "python-requests/2.31.0",
];

/// URI path stems.
pub const PATHS: [&str; 10] = [
    "/",
    "/index.html",
    "/api/v1/items",
    "/static/app.js",
    "/static/style.css",
    "/images/logo.png",
    "/search",
    "/download/file.bin",
    "/feed.xml",
    "/favicon.ico",
];

/// Video resolution labels and bytes per second of media at that resolution.
pub const RESOLUTIONS: [(&str, u64); 5] =
    [("240p", 50_000), ("360p", 95_000), ("480p", 160_000), ("720p", 320_000), ("1080p", 620_000)];

/// Synthetic host `i` (`site<i>.example.<tld>`).
pub fn synthetic_host(i: u32) -> String {
    const TLDS: [&str; 4] = ["com", "net", "org", "io"];
    format!("site{i}.example.{}", TLDS[(i % 4) as usize])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synthetic_hosts_are_distinct() {
        let v: std::collections::BTreeSet<String> = (0..300).map(synthetic_host).collect();
        assert_eq!(v.len(), 300);
        assert_eq!(synthetic_host(5), "site5.example.net");
    }
}
