"""report.html renders in headless Chromium (Debian's `chromium`) with no console errors and every figure.

A probe script is injected into a copy of the report: it records script
errors, failed resources and console.error calls, and after the load event
writes them and the count of decoded images into the DOM, which
``--dump-dom`` prints.  Chromium's own console log (``--enable-logging``)
is checked too.  A broken copy proves the probe catches what it claims to.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess

import pytest

from mvd.report import build
from tests.synthetic_study import write_study

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# one pytest-xdist worker runs this whole file, so its module fixtures are built once
pytestmark = [pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium)"),
              pytest.mark.xdist_group("report_html")]

PROBE = """<script>
window.__errors = [];
window.addEventListener('error', function (e) {
  __errors.push(String(e.message || (e.target && (e.target.src || e.target.href)) || 'error'));
}, true);
var _error = console.error;
console.error = function () { __errors.push(Array.prototype.join.call(arguments, ' ')); _error.apply(console, arguments); };
window.addEventListener('load', function () {
  var images = Array.prototype.slice.call(document.images);
  document.body.setAttribute('data-probe', JSON.stringify({
    errors: __errors, images: images.length,
    decoded: images.filter(function (i) { return i.complete && i.naturalWidth > 0; }).length,
    figures: Array.prototype.map.call(document.querySelectorAll('figure'), function (f) { return f.id; })
  }));
});
</script>"""


def _render(page, tmp_path):
    probed = tmp_path / "probed.html"
    probed.write_text(page.replace("<head>", "<head>" + PROBE, 1))
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr", "--v=0",
           "--virtual-time-budget=5000", "--dump-dom", probed.as_uri()]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=90)
    match = re.search(r'data-probe="([^"]*)"', done.stdout)
    assert match, f"chromium printed no probe (rc={done.returncode}): {done.stderr[-2000:]}"
    console = [line for line in done.stderr.splitlines() if "CONSOLE" in line]
    return json.loads(html.unescape(match.group(1))), console


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    root = tmp_path_factory.mktemp("html")
    study = write_study(root / "study", models={"base": (1, 2.0, 0.5, 0.05), "strong": (3, 1.0, 0.5, 0.03)},
                        sizes=(16, 32, 64, 128, 256, 512), noise=0.01, rates=(0.0, 0.3))
    return build(study, bootstrap=50)


def test_report_renders_without_console_errors_and_with_all_figures(report, tmp_path):
    probe, console = _render(report.read_text(), tmp_path)
    assert probe["errors"] == [] and console == []
    assert sorted(probe["figures"]) == sorted(f"fig-{p.stem}" for p in (report.parent / "figures").glob("*.png"))
    # decision, curves, heatmap, quality, attribution, attribution by range start, iso-performance
    assert probe["images"] == probe["decoded"] == 7


def test_probe_catches_a_broken_page(report, tmp_path):
    page = report.read_text().replace("</body>", '<img src="data:image/png;base64,AAAA">'
                                      "<script>throw new Error('boom')</script></body>")
    probe, console = _render(page, tmp_path)
    assert any("boom" in e for e in probe["errors"])
    assert probe["decoded"] == probe["images"] - 1
