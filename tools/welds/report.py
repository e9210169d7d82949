"""``report.html``: one self-contained page (figures embedded as base64 PNG), worst welds first.

The batch table lists every weld with its verdict, events per class and heat input, rejected
welds first (most model events first within a verdict); it can be re-sorted by clicking a column
header (a few lines of inline JavaScript, no external files). One section per weld follows with
its timeline figure, its events table and its verdict and why.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path

_SORT_JS = """
document.querySelectorAll('table.sortable th').forEach((th, col) => th.addEventListener('click', () => {
  const body = th.closest('table').tBodies[0];
  const rows = Array.from(body.rows);
  const asc = th.dataset.asc !== '1'; th.dataset.asc = asc ? '1' : '0';
  const key = r => { const v = r.cells[col].dataset.v ?? r.cells[col].textContent; const n = parseFloat(v);
                     return isNaN(n) ? v : n; };
  rows.sort((a, b) => (key(a) > key(b) ? 1 : key(a) < key(b) ? -1 : 0) * (asc ? 1 : -1));
  rows.forEach(r => body.appendChild(r));
}));
"""

_STYLE = """
body { font-family: sans-serif; margin: 1.5em; color: #222; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.6em 0; }
th, td { border: 1px solid #ccc; padding: 0.2em 0.5em; text-align: right; }
th { background: #eee; cursor: pointer; } td.l, th.l { text-align: left; }
.reject { color: #b00; font-weight: bold; } .accept { color: #070; font-weight: bold; }
img { max-width: 100%; } section { border-top: 2px solid #888; margin-top: 1.5em; }
"""


def _cell(value, left: bool = False, sort=None) -> str:
    text = "" if value is None else (f"{value:.3g}" if isinstance(value, float) else str(value))
    attr = f' data-v="{html.escape(str(sort))}"' if sort is not None else ""
    cls = ' class="l"' if left else ""
    return f"<td{cls}{attr}>{html.escape(text)}</td>"


def worst_first(welds: list[dict]) -> list[dict]:
    """Rejected welds first, then by number of model events (descending), then by id."""
    return sorted(welds, key=lambda w: (w["verdict"] != "reject", -w["n_events"], w["recording_id"]))


def write_report(path: Path, welds: list[dict], events: list[dict], figures: dict[str, Path], defects,
                 skipped: list[tuple[str, str]], title: str) -> Path:
    """Write ``report.html``; ``welds``/``events`` are the rows of welds.csv / events.csv."""
    ordered = worst_first(welds)
    cols = ["recording_id", "verdict", "material_pair", "process", "duration_s", "seam_length_mm", "n_events",
            *[f"n_{d}" for d in defects], "defect_length_mm", "heat_input_mean_kj_mm"]
    head = "".join(f'<th class="{"l" if c in ("recording_id", "verdict", "material_pair", "process") else ""}">'
                   f"{html.escape(c)}</th>" for c in cols)
    rows = []
    for w in ordered:
        cells = []
        for c in cols:
            v = w.get(c)
            if c == "recording_id":
                cells.append(f'<td class="l"><a href="#{html.escape(str(v))}">{html.escape(str(v))}</a></td>')
            elif c == "verdict":
                cells.append(f'<td class="l {v}">{html.escape(str(v))}</td>')
            else:
                cells.append(_cell(v, c in ("material_pair", "process")))
        rows.append("<tr>" + "".join(cells) + "</tr>")
    parts = [f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
             f"<style>{_STYLE}</style></head><body>",
             f"<h1>{html.escape(title)}</h1>",
             f"<p>{len(welds)} weld(s): {sum(w['verdict'] == 'reject' for w in welds)} rejected, "
             f"{sum(w['verdict'] == 'accept' for w in welds)} accepted. Worst first; click a header to sort.</p>",
             f'<table class="sortable" id="welds"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>']
    if skipped:
        parts.append("<h2>Not scored</h2><ul>" + "".join(f"<li>{html.escape(p)}: {html.escape(r)}</li>"
                                                         for p, r in skipped) + "</ul>")
    ev_cols = ["source", "label", "start_s", "end_s", "start_mm", "end_mm", "peak_prob", "mean_prob", "modalities"]
    for w in ordered:
        rid = str(w["recording_id"])
        parts.append(f'<section id="{html.escape(rid)}"><h2>{html.escape(rid)} — <span class="{w["verdict"]}">'
                     f'{html.escape(w["verdict"])}</span></h2>')
        parts.append("<p>" + html.escape(w["why"] or "no rule is exceeded") + "</p>")
        fig = figures.get(rid)
        if fig is not None and fig.is_file():
            data = base64.b64encode(fig.read_bytes()).decode("ascii")
            parts.append(f'<img alt="timeline of {html.escape(rid)}" src="data:image/png;base64,{data}">')
        mine = [e for e in events if e["recording_id"] == rid]
        if mine:
            parts.append("<table><thead><tr>" + "".join(f"<th>{c}</th>" for c in ev_cols) + "</tr></thead><tbody>"
                         + "".join("<tr>" + "".join(_cell(e.get(c), c in ("source", "label", "modalities"))
                                                    for c in ev_cols) + "</tr>" for e in mine)
                         + "</tbody></table>")
        else:
            parts.append("<p>No events.</p>")
        parts.append("</section>")
    parts.append(f"<script>{_SORT_JS}</script></body></html>")
    path.write_text("\n".join(parts))
    return path
