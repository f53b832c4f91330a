/** The dashboard's stylesheet (inline in the page; page.ts hashes it for the CSP). No fonts or images loaded. */
export const DASHBOARD_CSS = `
:root{--bg:#f7f7f8;--fg:#1b1d21;--muted:#5b616b;--card:#fff;--line:#d6d9de;--ok:#17663a;--bad:#a4161a;--warn:#8a5a00;--accent:#1f4fa8;
font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;font-size:15px;color:var(--fg);background:var(--bg)}
@media (prefers-color-scheme:dark){:root{--bg:#131417;--fg:#e8e9ec;--muted:#a3a8b3;--card:#1d1f24;--line:#363a42;--ok:#5fd38d;--bad:#ff7b7f;--warn:#f0b44c;--accent:#8fb4ff}}
*{box-sizing:border-box}
[hidden]{display:none !important}
body{margin:0;line-height:1.4}
a{color:var(--accent)}
header{display:flex;flex-wrap:wrap;align-items:center;gap:.5rem 1.5rem;padding:.75rem 1rem;background:var(--card);border-bottom:1px solid var(--line)}
h1{font-size:1.25rem;margin:0}
h2{font-size:1.05rem;margin:0 0 .5rem}
h3{font-size:.95rem;margin:.75rem 0 .25rem}
main{display:grid;gap:1rem;padding:1rem;grid-template-columns:repeat(auto-fit,minmax(min(100%,34rem),1fr));max-width:120rem;margin:0 auto}
section{background:var(--card);border:1px solid var(--line);border-radius:6px;padding:.75rem 1rem;min-width:0}
section.wide{grid-column:1/-1}
.badge{display:inline-block;padding:.1rem .55rem;border-radius:1rem;border:2px solid currentColor;font-weight:600}
.ok{color:var(--ok)}.bad{color:var(--bad)}.warn{color:var(--warn)}.muted{color:var(--muted)}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid var(--line);white-space:nowrap}
td.wrap{white-space:normal;min-width:12rem}
tr.bad td:first-child{box-shadow:inset 4px 0 var(--bad)}
dl.counters{display:grid;grid-template-columns:repeat(auto-fill,minmax(9rem,1fr));gap:.5rem;margin:0}
dl.counters div{border:1px solid var(--line);border-radius:4px;padding:.35rem .5rem}
dt{font-size:.8rem;color:var(--muted)}
dd{margin:0;font-size:1.3rem;font-weight:600;font-variant-numeric:tabular-nums}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(14rem,1fr));gap:.75rem;margin-top:.75rem}
figure{margin:0}
figcaption{font-size:.85rem;color:var(--muted)}
svg.chart{width:100%;height:64px;display:block;border:1px solid var(--line);border-radius:4px}
svg.chart polyline{fill:none;stroke:var(--accent);stroke-width:2;vector-effect:non-scaling-stroke}
form,.actions{display:flex;flex-wrap:wrap;gap:.5rem;align-items:center;margin:.5rem 0}
input[type=password]{padding:.35rem .5rem;border:1px solid var(--line);border-radius:4px;background:var(--bg);color:var(--fg);min-width:12rem}
button{padding:.4rem .8rem;border-radius:4px;border:1px solid var(--accent);background:var(--card);color:var(--accent);font:inherit;cursor:pointer}
button:hover{background:var(--bg)}
button:disabled{opacity:.5;cursor:not-allowed}
:focus-visible{outline:3px solid var(--accent);outline-offset:2px}
ol.log{list-style:none;padding:0;margin:0;max-height:24rem;overflow-y:auto;font-size:.9rem}
ol.log li{padding:.25rem 0;border-bottom:1px solid var(--line)}
ol.log time{color:var(--muted);margin-right:.5rem;font-variant-numeric:tabular-nums}
.kind{font-weight:600;margin-right:.5rem}
.notice{padding:.75rem 1rem;margin:1rem;border:2px solid var(--warn);border-radius:6px;background:var(--card)}
progress{width:10rem}
.sr-only{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
`
