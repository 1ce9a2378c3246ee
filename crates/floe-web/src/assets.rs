//! The files the pages load, embedded in the binary: uPlot (MIT, vendored
//! from npm, version and licence beside it in `assets/uplot/`), floe's
//! own chart glue and stylesheet. Nothing is fetched from anywhere else.

/// A static file: its body and content type.
pub struct Asset {
    pub body: &'static [u8],
    pub kind: &'static str,
}

/// The asset served at `/static/NAME`, if there is one. Names are matched
/// exactly against this list: no path from a request reaches the file
/// system.
pub fn get(name: &str) -> Option<Asset> {
    let (body, kind): (&'static [u8], &'static str) = match name {
        "uplot.js" => (
            include_bytes!("../assets/uplot/uPlot.iife.min.js"),
            "text/javascript; charset=utf-8",
        ),
        "uplot.css" => (
            include_bytes!("../assets/uplot/uPlot.min.css"),
            "text/css; charset=utf-8",
        ),
        "uplot-LICENSE.txt" => (
            include_bytes!("../assets/uplot/LICENSE"),
            "text/plain; charset=utf-8",
        ),
        "floe.js" => (
            include_bytes!("../assets/floe.js"),
            "text/javascript; charset=utf-8",
        ),
        "floe.css" => (
            include_bytes!("../assets/floe.css"),
            "text/css; charset=utf-8",
        ),
        _ => return None,
    };
    Some(Asset { body, kind })
}
