//! Charts whose shapes are drawn by floe: stacked areas over time, as
//! inline SVG for a page and as PNG images for a mail (Gmail and Outlook
//! drop inline SVG). Neither holds text: labels, numbers and legends are
//! HTML around the chart, so they keep their size on a phone and in
//! print, and stay readable when a mail client blocks images.
//!
//! The colours: the Okabe–Ito palette, told apart by colour-blind
//! readers and in grey print, with meanings kept across pages (sources
//! blue, destinations green, protocol families their own, problems
//! vermillion).

use std::fmt::Write as _;

/// An sRGB colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Colour(pub u8, pub u8, pub u8);

impl Colour {
    /// `#0072b2`.
    pub fn hex(self) -> String {
        format!("#{:02x}{:02x}{:02x}", self.0, self.1, self.2)
    }

    /// Relative luminance (WCAG).
    fn luminance(self) -> f64 {
        let lin = |c: u8| {
            let c = f64::from(c) / 255.0;
            if c <= 0.039_28 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * lin(self.0) + 0.7152 * lin(self.1) + 0.0722 * lin(self.2)
    }

    /// Text on this colour: white on dark ones, near-black on light ones
    /// (whichever contrasts more).
    pub fn text(self) -> Colour {
        let l = self.luminance();
        if (1.05 / (l + 0.05)) >= ((l + 0.05) / 0.05) {
            Colour(255, 255, 255)
        } else {
            Colour(26, 26, 26)
        }
    }

    /// Mixed with white: `t` 0 is white, 1 this colour.
    pub fn tint(self, t: f64) -> Colour {
        let t = t.clamp(0.0, 1.0);
        let m = |c: u8| (255.0 - t * (255.0 - f64::from(c))).round() as u8;
        Colour(m(self.0), m(self.1), m(self.2))
    }
}

/// Traffic by its source (sent).
pub const SOURCE: Colour = Colour(0x00, 0x72, 0xb2);
/// Traffic by its destination (received).
pub const DESTINATION: Colour = Colour(0x00, 0x9e, 0x73);
/// Keys that are neither (pairs, interfaces, distributions).
pub const NEUTRAL: Colour = Colour(0x4d, 0x5d, 0x6e);
/// Problems: lost flows, bad datagrams, silence.
pub const WARNING: Colour = Colour(0xd5, 0x5e, 0x00);
/// The rest ("other").
pub const OTHER: Colour = Colour(0xaa, 0xaa, 0xaa);
/// TCP's colour (charts by protocol family).
pub const TCP: Colour = Colour(0x56, 0xb4, 0xe9);
/// UDP's colour.
pub const UDP: Colour = Colour(0xe6, 0x9f, 0x00);
/// ICMP's (and ICMPv6's) colour.
pub const ICMP: Colour = Colour(0xcc, 0x79, 0xa7);
/// Series of a chart with several keys, in order.
pub const SERIES: [Colour; 6] = [
    Colour(0x00, 0x72, 0xb2),
    Colour(0xe6, 0x9f, 0x00),
    Colour(0x00, 0x9e, 0x73),
    Colour(0xcc, 0x79, 0xa7),
    Colour(0x56, 0xb4, 0xe9),
    Colour(0xf0, 0xe4, 0x42),
];

/// A protocol's family colour: TCP, UDP, ICMP (and ICMPv6), other.
pub fn protocol_colour(p: u64) -> Colour {
    match p {
        6 => TCP,
        17 => UDP,
        1 | 58 => ICMP,
        _ => OTHER,
    }
}

/// The protocol families, as (name, colour), in the order charts stack
/// them.
pub const FAMILIES: [(&str, Colour); 4] =
    [("TCP", TCP), ("UDP", UDP), ("ICMP", ICMP), ("other", OTHER)];

/// A protocol's family, as an index of [`FAMILIES`].
pub fn family(p: u8) -> usize {
    match p {
        6 => 0,
        17 => 1,
        1 | 58 => 2,
        _ => 3,
    }
}

/// One layer of a stacked area chart.
#[derive(Clone, Debug)]
pub struct Layer {
    /// What the layer is, for the legend.
    pub label: String,
    /// Its fill.
    pub colour: Colour,
    /// One value per point, in time order.
    pub values: Vec<f64>,
}

/// Stacked areas over evenly spaced points (intervals): the first layer
/// at the bottom.
#[derive(Clone, Debug)]
pub struct Area {
    /// The layers, bottom first.
    pub layers: Vec<Layer>,
}

/// Width of a chart, in CSS pixels.
pub const WIDTH: u32 = 640;
/// Height of a chart, in CSS pixels.
pub const HEIGHT: u32 = 200;

impl Area {
    /// Points per layer.
    pub fn points(&self) -> usize {
        self.layers
            .iter()
            .map(|l| l.values.len())
            .max()
            .unwrap_or(0)
    }

    /// Each point's total.
    pub fn totals(&self) -> Vec<f64> {
        (0..self.points())
            .map(|i| {
                self.layers
                    .iter()
                    .map(|l| l.values.get(i).copied().unwrap_or(0.0))
                    .sum()
            })
            .collect()
    }

    /// The scale's top and its step: a round number above the largest
    /// total (1, 2, 2.5 or 5 times a power of ten per step, 4 or 5 steps).
    pub fn scale(&self) -> (f64, f64) {
        let max = self.totals().into_iter().fold(0.0, f64::max);
        if max <= 0.0 {
            return (1.0, 0.25);
        }
        let raw = max / 4.0;
        let mag = 10f64.powf(raw.log10().floor());
        let step = [1.0, 2.0, 2.5, 5.0, 10.0]
            .iter()
            .map(|m| m * mag)
            .find(|s| *s >= raw)
            .unwrap_or(10.0 * mag);
        let top = (max / step).ceil() * step;
        (top, step)
    }

    /// The cumulative tops of each layer at the chart's x (0..1), linear
    /// between the points' centres and flat past the first and last.
    fn tops_at(&self, x: f64) -> Vec<f64> {
        let n = self.points();
        let pos = (x * n as f64 - 0.5).clamp(0.0, (n.max(1) - 1) as f64);
        let i = pos.floor() as usize;
        let j = (i + 1).min(n.saturating_sub(1));
        let t = pos - i as f64;
        let mut acc = 0.0;
        self.layers
            .iter()
            .map(|l| {
                let a = l.values.get(i).copied().unwrap_or(0.0);
                let b = l.values.get(j).copied().unwrap_or(0.0);
                acc += a + (b - a) * t;
                acc
            })
            .collect()
    }

    /// The x (0..1) of the points' outline: the edges and every centre.
    fn xs(&self) -> Vec<f64> {
        let n = self.points().max(1) as f64;
        let mut xs = vec![0.0];
        xs.extend((0..self.points()).map(|i| (i as f64 + 0.5) / n));
        xs.push(1.0);
        xs
    }

    /// Inline SVG, `WIDTH` × `HEIGHT` units, scaled to its box; `title`
    /// is read by screen readers.
    pub fn svg(&self, title: &str) -> String {
        let (w, h) = (f64::from(WIDTH), f64::from(HEIGHT));
        let (top, step) = self.scale();
        let y = |v: f64| h - v / top * (h - 2.0);
        let xs = self.xs();
        let tops: Vec<Vec<f64>> = xs.iter().map(|x| self.tops_at(*x)).collect();
        let mut s = format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" viewBox=\"0 0 {w} {h}\" \
             preserveAspectRatio=\"none\" role=\"img\" aria-label=\"{}\">",
            escape(title)
        );
        let mut g = step;
        while g < top + step / 2.0 {
            let _ = write!(
                s,
                "<line x1=\"0\" x2=\"{w}\" y1=\"{0:.1}\" y2=\"{0:.1}\" stroke=\"#d0d0d0\" \
                 stroke-width=\"1\" vector-effect=\"non-scaling-stroke\"/>",
                y(g)
            );
            g += step;
        }
        for (k, l) in self.layers.iter().enumerate() {
            let mut d = String::new();
            for (i, x) in xs.iter().enumerate() {
                let _ = write!(
                    d,
                    "{}{:.1},{:.1}",
                    if i == 0 { "M" } else { " L" },
                    x * w,
                    y(tops[i][k])
                );
            }
            for (i, x) in xs.iter().enumerate().rev() {
                let below = if k == 0 { 0.0 } else { tops[i][k - 1] };
                let _ = write!(d, " L{:.1},{:.1}", x * w, y(below));
            }
            let _ = write!(
                s,
                "<path d=\"{d} Z\" fill=\"{}\" stroke=\"#fff\" stroke-width=\"0.5\" \
                 vector-effect=\"non-scaling-stroke\"><title>{}</title></path>",
                l.colour.hex(),
                escape(&l.label)
            );
        }
        let _ = write!(
            s,
            "<line x1=\"0\" x2=\"{w}\" y1=\"{h}\" y2=\"{h}\" stroke=\"#555\" stroke-width=\"2\" \
             vector-effect=\"non-scaling-stroke\"/></svg>"
        );
        s
    }

    /// The chart as a PNG image of `WIDTH` × `HEIGHT` CSS pixels drawn at
    /// twice that (sharp on high-density screens), areas antialiased.
    pub fn png(&self) -> Vec<u8> {
        const K: u32 = 2;
        let (w, h) = (WIDTH * K, HEIGHT * K);
        let hf = f64::from(h);
        let (top, step) = self.scale();
        let y = |v: f64| hf - v / top * (hf - 2.0 * f64::from(K));
        let mut px = vec![255u8; (w * h * 3) as usize];
        let blend = |px: &mut [u8], x: u32, yy: u32, c: Colour, a: f64| {
            if yy >= h || a <= 0.0 {
                return;
            }
            let i = ((yy * w + x) * 3) as usize;
            let a = a.min(1.0);
            for (k, v) in [c.0, c.1, c.2].into_iter().enumerate() {
                px[i + k] = (f64::from(px[i + k]) * (1.0 - a) + f64::from(v) * a).round() as u8;
            }
        };
        let grid = Colour(0xd0, 0xd0, 0xd0);
        let mut grids = Vec::new();
        let mut g = step;
        while g < top + step / 2.0 {
            grids.push(y(g));
            g += step;
        }
        for x in 0..w {
            for gy in &grids {
                blend(&mut px, x, gy.round() as u32, grid, 1.0);
            }
            let tops = self.tops_at((f64::from(x) + 0.5) / f64::from(w));
            let mut below = hf;
            for (l, t) in self.layers.iter().zip(&tops) {
                let above = y(*t);
                // Rows covered from `above` down to `below`, the edges by
                // the fraction of the pixel covered.
                let (a, b) = (above.max(0.0), below.min(hf));
                if b > a {
                    let (ra, rb) = (a.floor() as u32, (b.ceil() as u32).min(h));
                    for r in ra..rb {
                        let lo = f64::from(r).max(a);
                        let hi = f64::from(r + 1).min(b);
                        blend(&mut px, x, r, l.colour, hi - lo);
                    }
                }
                below = above;
            }
            // Grid lines stay visible through the areas, lightly.
            for gy in &grids {
                if *gy > below {
                    blend(&mut px, x, gy.round() as u32, Colour(255, 255, 255), 0.35);
                }
            }
            for r in h - K..h {
                blend(&mut px, x, r, Colour(0x55, 0x55, 0x55), 1.0);
            }
        }
        let mut out = Vec::new();
        {
            let mut enc = png::Encoder::new(&mut out, w, h);
            enc.set_color(png::ColorType::Rgb);
            enc.set_depth(png::BitDepth::Eight);
            enc.set_compression(png::Compression::Best);
            // Writing into a Vec cannot fail.
            if let Ok(mut wr) = enc.write_header() {
                let _ = wr.write_image_data(&px);
            }
        }
        out
    }
}

/// Text escaped for XML and HTML attributes and content.
pub fn escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    fn area() -> Area {
        Area {
            layers: vec![
                Layer {
                    label: "TCP".into(),
                    colour: TCP,
                    values: vec![0.0, 10.0, 40.0, 20.0],
                },
                Layer {
                    label: "UDP <&>".into(),
                    colour: UDP,
                    values: vec![5.0, 5.0, 5.0, 5.0],
                },
            ],
        }
    }

    #[test]
    fn round_scales() {
        assert_eq!(area().scale(), (60.0, 20.0));
        let one = Area {
            layers: vec![Layer {
                label: "x".into(),
                colour: TCP,
                values: vec![1234.0],
            }],
        };
        assert_eq!(one.scale(), (1500.0, 500.0));
        assert_eq!(Area { layers: vec![] }.scale(), (1.0, 0.25));
    }

    #[test]
    fn svg_and_png_draw_the_layers() {
        let a = area();
        let svg = a.svg("traffic");
        assert_eq!(svg.matches("<path").count(), 2);
        assert!(svg.contains("UDP &lt;&amp;&gt;"));
        let png = a.png();
        let dec = png::Decoder::new(&png[..]);
        let mut r = dec.read_info().unwrap();
        let mut buf = vec![0; r.output_buffer_size()];
        let info = r.next_frame(&mut buf).unwrap();
        assert_eq!((info.width, info.height), (WIDTH * 2, HEIGHT * 2));
        let has = |c: Colour| buf.chunks(3).any(|p| p == [c.0, c.1, c.2]);
        assert!(has(TCP) && has(UDP));
        assert!(png.len() < 40_000, "{} bytes", png.len());
    }

    #[test]
    fn text_contrasts_with_its_bar() {
        assert_eq!(SOURCE.text(), Colour(255, 255, 255));
        assert_eq!(UDP.text(), Colour(26, 26, 26));
        assert_eq!(WARNING.text(), Colour(26, 26, 26));
        assert_eq!(SOURCE.tint(0.0), Colour(255, 255, 255));
    }
}
