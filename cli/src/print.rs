//! Printouts: self-contained HTML pages laid out for A4 (no scripts, no
//! files beside them, fonts the printing machine has), to post in a
//! stairwell or hand to a volunteer. `scripts/render-printouts.sh` renders
//! them in headless Chromium to look at.

use crate::ui;

/// Escapes text for HTML.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A whole A4 page around `body` (already HTML).
pub fn page(title: &str, body: &str) -> String {
    let lang = ui::language().tag();
    format!(
        r#"<!DOCTYPE html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>
@page {{ size: A4; margin: 18mm 16mm; }}
html {{ font-family: "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", "WenQuanYi Micro Hei", sans-serif; font-size: 11pt; color: #111; }}
body {{ margin: 0 auto; max-width: 178mm; }}
h1 {{ font-size: 20pt; margin: 0 0 4mm; text-align: center; letter-spacing: 0.05em; }}
h2 {{ font-size: 13pt; margin: 6mm 0 2mm; border-bottom: 1.5pt solid #333; padding-bottom: 1mm; }}
.sub {{ text-align: center; color: #444; margin-bottom: 6mm; }}
table {{ width: 100%; border-collapse: collapse; margin: 2mm 0; page-break-inside: auto; }}
th, td {{ border: 0.6pt solid #666; padding: 1.6mm 2mm; text-align: left; vertical-align: top; }}
th {{ background: #eee; }}
tr {{ page-break-inside: avoid; }}
.big {{ font-size: 16pt; font-weight: bold; }}
.phone {{ font-size: 15pt; font-weight: bold; letter-spacing: 0.04em; }}
.late {{ color: #b00; font-weight: bold; }}
.none {{ color: #666; }}
.sign {{ margin-top: 18mm; display: flex; justify-content: space-between; }}
.stamp {{ width: 40mm; height: 40mm; border: 0.6pt dashed #999; border-radius: 50%; display: flex; align-items: center; justify-content: center; color: #999; }}
.foot {{ margin-top: 8mm; font-size: 9pt; color: #555; }}
</style>
</head>
<body>
{body}
</body>
</html>
"#,
        title = esc(title),
    )
}

/// A table: header cells and rows of cells (already HTML), or a line saying
/// there is nothing.
pub fn table(head: &[String], rows: &[Vec<String>], none: &str) -> String {
    if rows.is_empty() {
        return format!("<p class=\"none\">{}</p>\n", esc(none));
    }
    let mut out = String::from("<table>\n<thead><tr>");
    for h in head {
        out.push_str(&format!("<th>{}</th>", esc(h)));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for r in rows {
        out.push_str("<tr>");
        for c in r {
            out.push_str(&format!("<td>{c}</td>"));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n");
    out
}

/// Writes a page to `path`.
pub fn write(path: &std::path::Path, html: &str) -> Result<(), crate::Failure> {
    std::fs::write(path, html).map_err(|e| {
        crate::Failure::input(crate::tr!(
            "cannot write {path}: {e}",
            "无法写入 {path}：{e}",
            path = path.display(),
            e = e
        ))
    })
}
