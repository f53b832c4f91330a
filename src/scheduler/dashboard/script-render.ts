/**
 * Dashboard script, part 1 (browser JavaScript as a string; no template literals inside): DOM helpers and the
 * renderers of /stats, /members, /rollout, /stats/history and /backups. Everything from the scheduler is set as
 * text (textContent), never parsed as HTML. Health and roles are words and symbols, colour only repeats them.
 */
export const RENDER_JS = `
var $ = function (id) { return document.getElementById(id); };
var SVG_NS = 'http://www.w3.org/2000/svg';
function el(tag, opts, kids) {
  var e = document.createElement(tag);
  opts = opts || {};
  if (opts.cls) e.className = opts.cls;
  if (opts.text !== undefined && opts.text !== null) e.textContent = String(opts.text);
  if (opts.attrs) Object.keys(opts.attrs).forEach(function (k) { e.setAttribute(k, opts.attrs[k]); });
  (kids || []).forEach(function (k) { if (k) e.appendChild(typeof k === 'string' ? document.createTextNode(k) : k); });
  return e;
}
function clear(e) { while (e.firstChild) e.removeChild(e.firstChild); return e; }
function fmtTime(ms) { return ms ? new Date(ms).toLocaleTimeString() : '—'; }
function fmtDateTime(v) { return v ? new Date(v).toLocaleString() : '—'; }
function fmtBytes(n) {
  if (n === null || n === undefined) return '—';
  var u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'], i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return (i === 0 ? String(n) : n.toFixed(1)) + ' ' + u[i];
}
function num(v) { return v === null || v === undefined ? '—' : String(v); }

function renderHealth(st) {
  var ok = st.healthy === 1;
  var badge = el('span', {cls: 'badge ' + (ok ? 'ok' : 'bad'), text: ok ? '✓ HEALTHY' : '✗ UNHEALTHY', attrs: {'data-testid': 'health'}});
  var extra = st.livelocked ? el('span', {cls: 'bad', text: ' quorum lost (livelock)'}) : null;
  clear($('health')).appendChild(badge);
  if (extra) $('health').appendChild(extra);
  $('cluster').textContent = st.cluster_name + ' · ' + st.running_servers + '/' + st.cluster_size + ' running';
  $('mode').textContent = 'mode ' + st.mode;
  document.title = (ok ? '✓ ' : '✗ ') + st.cluster_name + ' · etcd-mesos dashboard';
}

var COUNTERS = [
  ['running_servers', 'Running members'], ['launched_servers', 'Tasks launched'], ['failed_servers', 'Tasks failed'],
  ['cluster_reseeds', 'Re-seeds'], ['cluster_livelocks', 'Quorum losses'], ['defrags', 'Defragmentations'],
  ['defrag_failures', 'Failed defrags'], ['nospace_episodes', 'NOSPACE episodes']
];
function renderCounters(st) {
  var dl = clear($('counters'));
  COUNTERS.forEach(function (c) {
    dl.appendChild(el('div', {}, [el('dt', {text: c[1]}), el('dd', {text: num(st[c[0]]), attrs: {id: 'c-' + c[0]}})]));
  });
}

function healthCell(m) {
  if (m.healthy === true) return el('td', {cls: 'ok', text: '✓ healthy'});
  if (m.healthy === false) return el('td', {cls: 'bad wrap', text: '✗ unhealthy' + (m.probe_error ? ': ' + m.probe_error : '')});
  return el('td', {cls: 'muted', text: '? not probed yet'});
}
function renderMembers(ms) {
  var tb = clear($('members').tBodies[0]);
  if (ms.length === 0) tb.appendChild(el('tr', {}, [el('td', {text: 'No members yet.', attrs: {colspan: '9'}})]));
  ms.forEach(function (m) {
    var role = m.leader ? '★ leader' : m.is_learner ? 'learner' : 'follower';
    var alarms = m.alarms && m.alarms.length ? ' (' + m.alarms.join(', ') + ')' : '';
    var vol = m.volume ? m.volume.persistence_id + ' · ' + m.volume.size_mb + ' MB' : '—';
    tb.appendChild(el('tr', {cls: m.healthy === false ? 'bad' : '', attrs: {'data-member': m.name, 'data-healthy': String(m.healthy)}}, [
      el('th', {text: m.name, attrs: {scope: 'row'}}), el('td', {text: role}), el('td', {text: m.state}), healthCell(m),
      el('td', {text: num(m.raft_index)}), el('td', {text: num(m.raft_term)}), el('td', {text: fmtBytes(m.db_size) + alarms}),
      el('td', {text: m.host}), el('td', {text: vol})
    ]));
  });
}

function progressLine(label, done, total) {
  var p = el('progress', {attrs: {max: String(Math.max(total, 1)), value: String(done), 'aria-label': label}});
  return el('p', {}, [label + ' ', p, ' ' + done + '/' + total]);
}
function renderRunning(st, ro) {
  var box = clear($('running'));
  var r = ro && ro.rollout;
  if (r) {
    var total = r.members.done.length + r.members.pending.length + (r.members.current ? 1 : 0);
    box.appendChild(el('h3', {text: 'Rollout ' + r.op + ': ' + r.state + (r.pauseRequested ? ' (pause requested)' : '')}));
    box.appendChild(el('p', {text: (r.members.current ? 'relaunching ' + r.members.current + ' (' + (r.currentStep || r.step) + '). ' : '') + (r.message || '')}));
    box.appendChild(progressLine('members done', r.members.done.length, total));
  } else if (ro && ro.differing && ro.differing.length) {
    box.appendChild(el('p', {text: ro.differing.length + ' member(s) differ from the desired spec (' + ro.desired + ')'}));
  }
  $('act-pause').disabled = !(r && r.state === 'running');
  $('act-resume').disabled = !(r && r.state === 'paused');
  if (st.mode === 'RESEEDING') box.appendChild(el('p', {cls: 'warn', text: '⚠ A re-seed is running.'}));
  if (st.restore && st.restore.op) box.appendChild(el('p', {cls: 'warn', text: '⚠ Restore ' + st.restore.op + ' from ' + st.restore.from + ': ' + st.restore.phase}));
  if (st.nospace && st.nospace.active) box.appendChild(el('p', {cls: 'warn', text: '⚠ NOSPACE recovery: ' + st.nospace.step}));
  if (st.backup && st.backup.running) box.appendChild(el('p', {text: 'Backup ' + st.backup.running + ' running.'}));
  if (!box.firstChild) box.appendChild(el('p', {cls: 'muted', text: 'No operation in progress.'}));
}

var CHARTS = [['healthy', 'Healthy (1/0)'], ['running_servers', 'Running members'], ['failed_servers', 'Tasks failed'], ['cluster_reseeds', 'Re-seeds'], ['launched_servers', 'Tasks launched']];
function chart(samples, field, label) {
  var pts = samples.filter(function (s) { return typeof s[field] === 'number'; });
  var W = 300, H = 60;
  var svg = document.createElementNS(SVG_NS, 'svg');
  svg.setAttribute('viewBox', '0 0 ' + W + ' ' + H);
  svg.setAttribute('preserveAspectRatio', 'none');
  svg.setAttribute('class', 'chart');
  svg.setAttribute('role', 'img');
  var last = pts.length ? pts[pts.length - 1][field] : null;
  var vals = pts.map(function (s) { return s[field]; });
  var lo = Math.min.apply(null, vals.concat([0])), hi = Math.max.apply(null, vals.concat([1]));
  var desc = label + ': ' + (last === null ? 'no samples yet' : 'now ' + last + ', between ' + lo + ' and ' + hi + ' over ' + pts.length + ' samples');
  svg.setAttribute('aria-label', desc);
  var title = document.createElementNS(SVG_NS, 'title');
  title.textContent = desc;
  svg.appendChild(title);
  if (pts.length) {
    var t0 = pts[0].at, t1 = pts[pts.length - 1].at, span = Math.max(t1 - t0, 1);
    var coords = pts.map(function (s) {
      var x = pts.length === 1 ? 0 : ((s.at - t0) / span) * W;
      var y = H - 4 - ((s[field] - lo) / (hi - lo || 1)) * (H - 8);
      return x.toFixed(1) + ',' + y.toFixed(1);
    });
    if (pts.length === 1) coords.push(W + ',' + coords[0].split(',')[1]);
    var line = document.createElementNS(SVG_NS, 'polyline');
    line.setAttribute('points', coords.join(' '));
    svg.appendChild(line);
  }
  return el('figure', {attrs: {'data-chart': field}}, [svg, el('figcaption', {text: label + ' — ' + (last === null ? 'no data' : 'now ' + last)})]);
}
// The scheduler's samples, then the counters of the latest /stats as the live end of each line (placed after the
// newest sample by the time elapsed since the history was read: the browser's clock is not compared to the scheduler's).
function renderHistory(h, st, sinceMs) {
  var box = clear($('charts'));
  var mins = Math.round((h.samples.length * h.interval_ms) / 60000);
  var samples = h.samples;
  if (samples.length) {
    var live = {at: samples[samples.length - 1].at + Math.max(sinceMs, 1)};
    CHARTS.forEach(function (c) { live[c[0]] = typeof st[c[0]] === 'number' ? st[c[0]] : null; });
    samples = samples.concat([live]);
  }
  CHARTS.forEach(function (c) { box.appendChild(chart(samples, c[0], c[1])); });
  var span = h.samples.length ? fmtTime(h.samples[0].at) + ' – ' + fmtTime(h.samples[h.samples.length - 1].at) : 'no samples yet';
  box.appendChild(el('p', {cls: 'muted', text: 'From ' + span + ': one sample every ' + h.interval_ms / 1000 + ' s (' + h.samples.length + ' kept, ~' + mins + ' min).'}));
}

function renderBackupSummary(b) {
  $('act-backup').disabled = !b;
  $('act-restore').disabled = !b;
  if (!b) { $('backup-summary').textContent = 'Backups are off (no --backup-target).'; $('backups').hidden = true; return; }
  var s = 'Target ' + b.target + '. ';
  s += b.last_success ? 'Last backup ' + b.last_success.id + ' at ' + fmtTime(b.last_success.at) + ' (' + Math.round(b.last_success.age_seconds) + ' s ago). ' : 'No backup yet. ';
  if (b.consecutive_failures > 0) s += '✗ ' + b.consecutive_failures + ' failure(s) in a row' + (b.last_failure ? ': ' + b.last_failure.message : '') + '. ';
  if (b.next_due_at) s += 'Next due at ' + fmtTime(b.next_due_at) + '.';
  $('backup-summary').textContent = s;
  $('backup-summary').className = b.consecutive_failures > 0 ? 'bad' : '';
}
function renderBackups(list) {
  var rows = (list.backups || []).slice().sort(function (a, b) { return a.created_at < b.created_at ? 1 : -1; }).slice(0, 10);
  var tb = clear($('backups').tBodies[0]);
  rows.forEach(function (b) {
    tb.appendChild(el('tr', {}, [el('td', {text: b.id}), el('td', {text: b.kind}), el('td', {text: fmtDateTime(b.created_at)}), el('td', {text: num(b.revision)}), el('td', {text: fmtBytes(b.size)})]));
  });
  $('backups').hidden = rows.length === 0;
}
`
