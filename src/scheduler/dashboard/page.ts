/**
 * The dashboard page GET / serves to browsers (Accept: text/html): one self-contained HTML document with its
 * stylesheet (style.ts) and script (script.ts) inline, nothing loaded from elsewhere (no CDN, no fonts), so it works
 * offline. The script polls the JSON endpoints of the admin API and follows /events/stream when the scheduler has
 * an event log. `DASHBOARD_HEADERS` carry a Content-Security-Policy that allows exactly this script and stylesheet
 * (by hash) and same-origin requests, so markup or data injected into the page cannot run code.
 */
import {createHash} from 'node:crypto'
import {DASHBOARD_SCRIPT} from './script.js'
import {DASHBOARD_CSS} from './style.js'

const BODY = `<header>
<h1>etcd-mesos <span id="cluster" class="muted"></span></h1>
<p id="health" role="status" aria-live="polite"><span class="badge muted">loading…</span></p>
<p id="mode" class="muted"></p>
<p class="muted"><span id="updated">not updated yet</span></p>
</header>
<div id="standby" class="notice" role="alert" hidden>
<strong>This scheduler is a standby.</strong> It manages nothing until it takes over; the leader serves the dashboard:
<span id="leader"></span>
</div>
<div id="unreachable" class="notice" role="alert" hidden></div>
<main id="main">
<section class="wide" aria-labelledby="h-members">
<h2 id="h-members">Members</h2>
<div class="scroll"><table id="members">
<caption class="sr-only">etcd members: leader, task state, health, raft index and term, database size, host, volume</caption>
<thead><tr><th scope="col">Name</th><th scope="col">Role</th><th scope="col">Task state</th><th scope="col">Health</th>
<th scope="col">Raft index</th><th scope="col">Raft term</th><th scope="col">DB size</th><th scope="col">Host</th><th scope="col">Volume</th></tr></thead>
<tbody></tbody></table></div>
</section>
<section aria-labelledby="h-counters">
<h2 id="h-counters">Counters</h2>
<dl id="counters" class="counters"></dl>
<div id="charts" class="charts"></div>
</section>
<section aria-labelledby="h-ops">
<h2 id="h-ops">Operations</h2>
<div id="running"></div>
<form id="token-form">
<label for="token">Admin token</label>
<input type="password" id="token" name="token" autocomplete="off" spellcheck="false">
<button type="submit">Use token</button>
<button type="button" id="forget-token">Forget</button>
<span id="token-state" class="muted" aria-live="polite"></span>
</form>
<div class="actions" role="group" aria-label="Operations">
<button type="button" id="act-backup" title="needs serve --backup-target">Back up now</button>
<button type="button" id="act-reseed">Re-seed…</button>
<label><input type="checkbox" id="reseed-force"> force (even a healthy cluster)</label>
<button type="button" id="act-restore" title="needs serve --backup-target">Restore latest…</button>
<button type="button" id="act-pause">Pause rollout</button>
<button type="button" id="act-resume">Resume rollout</button>
</div>
<h3 id="h-oplog">Requested from this page</h3>
<ol id="oplog" class="log" aria-labelledby="h-oplog" aria-live="polite"></ol>
</section>
<section aria-labelledby="h-backups">
<h2 id="h-backups">Backups</h2>
<p id="backup-summary" class="muted">Backups are off (no --backup-target).</p>
<div class="scroll"><table id="backups" hidden>
<caption class="sr-only">The last backups, newest first</caption>
<thead><tr><th scope="col">Id</th><th scope="col">Kind</th><th scope="col">Taken</th><th scope="col">Revision</th><th scope="col">Size</th></tr></thead>
<tbody></tbody></table></div>
</section>
<section class="wide" aria-labelledby="h-events">
<h2 id="h-events">Events</h2>
<p id="events-state" class="muted"></p>
<ol id="events" class="log" aria-labelledby="h-events"></ol>
</section>
</main>`

const sha256 = (s: string): string => `'sha256-${createHash('sha256').update(s, 'utf8').digest('base64')}'`

/** The page (about 25 kB). */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<link rel="icon" href="data:,">
<title>etcd-mesos dashboard</title>
<style>${DASHBOARD_CSS}</style>
</head>
<body>
${BODY}
<script>${DASHBOARD_SCRIPT}</script>
</body>
</html>
`

export const DASHBOARD_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-type': 'text/html; charset=utf-8',
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'content-security-policy': [
    "default-src 'none'",
    `script-src ${sha256(DASHBOARD_SCRIPT)}`,
    `style-src ${sha256(DASHBOARD_CSS)}`,
    "connect-src 'self'",
    "img-src 'self' data:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; '),
})
