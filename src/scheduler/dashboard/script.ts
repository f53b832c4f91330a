/**
 * Dashboard script, part 2 (browser JavaScript as a string; no template literals inside): the polling loop, the
 * standby notice, the event log (GET /events then /events/stream, when the scheduler lists them in its JSON index;
 * otherwise the changes this page itself observes), the admin token (kept in the tab's sessionStorage only) and the
 * mutations (each confirmed first, then followed to its end through its operation URL).
 */
import {RENDER_JS} from './script-render.js'

const MAIN_JS = String.raw`
var TOKEN_KEY = 'etcd-mesos-admin-token';
var POLL_MS = 2000;
var history = null, endpoints = null, ticks = 0, prevMembers = null, prevStats = null, eventsMode = 'none', lastSeq = 0, source = null;

function getJson(path, init) {
  init = init || {};
  init.headers = Object.assign({accept: 'application/json'}, init.headers || {});
  init.cache = 'no-store';
  return fetch(path, init).then(function (r) {
    return r.text().then(function (t) { var b = null; try { b = JSON.parse(t); } catch (e) { b = null; } return {status: r.status, body: b, text: t}; });
  });
}
function token() { try { return sessionStorage.getItem(TOKEN_KEY); } catch (e) { return null; } }
function showToken() { $('token-state').textContent = token() ? 'A token is set for this tab.' : 'No token set: mutations are refused unless the scheduler allows them from loopback.'; }

// ---- events
function addEvent(ev, observed) {
  var list = $('events');
  var li = el('li', {attrs: {'data-kind': ev.kind}}, [el('time', {text: fmtTime(Date.parse(ev.at)), attrs: {datetime: ev.at}}), el('span', {cls: 'kind', text: ev.kind}), (ev.member ? ev.member + ': ' : '') + ev.message]);
  if (observed) li.setAttribute('data-observed', 'true');
  list.insertBefore(li, list.firstChild);
  while (list.children.length > 200) list.removeChild(list.lastChild);
}
function onEvent(ev) { if (ev && typeof ev.seq === 'number' && ev.seq > lastSeq) { lastSeq = ev.seq; addEvent(ev, false); } }
function startEvents() {
  if (!endpoints || endpoints.indexOf('/events') < 0) {
    eventsMode = 'observed';
    $('events-state').textContent = 'This scheduler keeps no event log; listed here are the changes this page observed while open.';
    return;
  }
  eventsMode = 'log';
  getJson('/events?since=0').then(function (r) {
    if (r.status === 200 && r.body) r.body.events.forEach(onEvent);
    if (endpoints.indexOf('/events/stream') < 0 || typeof EventSource === 'undefined') { $('events-state').textContent = 'Refreshed every few seconds.'; return; }
    source = new EventSource('/events/stream?since=' + lastSeq);
    source.onmessage = function (m) { try { onEvent(JSON.parse(m.data)); } catch (e) { /* not an event */ } };
    source.onopen = function () { $('events-state').textContent = '● live'; };
    source.onerror = function () {
      $('events-state').textContent = source.readyState === 2 ? 'The event stream was refused; refreshed every few seconds.' : '○ reconnecting to the event stream…';
    };
  });
}
function pollEvents() {
  return getJson('/events?since=' + lastSeq).then(function (r) { if (r.status === 200 && r.body) r.body.events.forEach(onEvent); });
}
function observe(st, ms) {
  if (eventsMode !== 'observed') return;
  var now = new Date().toISOString();
  var ev = function (kind, member, message) { addEvent({at: now, kind: kind, member: member, message: message}, true); };
  if (prevStats && st.failed_servers > prevStats.failed_servers) ev('task', null, (st.failed_servers - prevStats.failed_servers) + ' task(s) failed');
  if (prevStats && st.healthy !== prevStats.healthy) ev('health', null, st.healthy === 1 ? 'cluster healthy again' : 'cluster unhealthy');
  if (prevStats && st.mode !== prevStats.mode) ev('mode', null, 'mode ' + prevStats.mode + ' → ' + st.mode);
  if (prevMembers) {
    var before = {};
    prevMembers.forEach(function (m) { before[m.name] = m; });
    ms.forEach(function (m) {
      var b = before[m.name];
      if (!b) ev('member', m.name, 'appeared (' + m.state + ')');
      else if (b.healthy !== m.healthy && m.healthy !== null) ev('health', m.name, m.healthy ? 'healthy' : 'unhealthy' + (m.probe_error ? ': ' + m.probe_error : ''));
      delete before[m.name];
    });
    Object.keys(before).forEach(function (n) { ev('member', n, 'gone'); });
  }
  prevStats = st; prevMembers = ms;
}

// ---- polling
function showStandby(sched) {
  var box = clear($('leader'));
  var url = sched && sched.leader && sched.leader.admin_url;
  if (url && /^https?:\/\//.test(url)) box.appendChild(el('a', {text: url, attrs: {href: url}}));
  else box.textContent = 'no leader is known right now.';
  $('health').textContent = 'standby';
  $('mode').textContent = 'mode STANDBY';
  document.title = 'standby · etcd-mesos dashboard';
}
async function tick() {
  try {
    if (!endpoints) {
      var idx = await getJson('/');
      if (idx.status === 200 && idx.body && Array.isArray(idx.body.endpoints)) endpoints = idx.body.endpoints;
    }
    var fo = await getJson('/failover-status');
    if (fo.status !== 200 || !fo.body) throw new Error('GET /failover-status answered HTTP ' + fo.status);
    var standby = fo.body.mode === 'STANDBY';
    $('standby').hidden = !standby;
    $('main').hidden = standby;
    if (standby) showStandby(fo.body.scheduler);
    else {
      if (endpoints && eventsMode === 'none') startEvents();
      if (eventsMode === 'log' && (!source || source.readyState === 2)) await pollEvents();
      var got = await Promise.all([getJson('/stats'), getJson('/members'), getJson('/rollout')]);
      var st = got[0].status === 200 ? got[0].body : null, ms = got[1].status === 200 ? got[1].body : null;
      if (st) { renderHealth(st); renderCounters(st); renderBackupSummary(st.backup); }
      if (ms) renderMembers(ms);
      if (st) renderRunning(st, got[2].status === 200 ? got[2].body : null);
      if (st && ms) observe(st, ms);
      if (endpoints && endpoints.indexOf('/stats/history') >= 0 && ticks % 5 === 0) {
        var h = await getJson('/stats/history');
        if (h.status === 200 && h.body) history = {body: h.body, at: Date.now()};
      }
      if (history && st) renderHistory(history.body, st, Date.now() - history.at);
      if (st && st.backup && ticks % 5 === 0) {
        var b = await getJson('/backups');
        if (b.status === 200 && b.body) renderBackups(b.body);
      }
    }
    ticks++;
    $('unreachable').hidden = true;
    $('updated').textContent = 'updated ' + new Date().toLocaleTimeString();
  } catch (e) {
    $('unreachable').hidden = false;
    $('unreachable').textContent = 'The scheduler does not answer (' + e.message + '); retrying every ' + POLL_MS / 1000 + ' s.';
  }
  setTimeout(tick, POLL_MS);
}

// ---- mutations
var ACTIONS = {
  backup: {label: 'Backup', path: '/backups', confirm: 'Take a full backup now?'},
  reseed: {label: 'Re-seed', path: '/reseed', confirm: 'Re-seed the cluster? The member with the highest raft index becomes a one-member cluster and the others rejoin it: writes it does not have are lost.'},
  restore: {label: 'Restore', path: '/restore', body: {from: 'latest'}, confirm: 'Restore the cluster from the latest backup? Every member is replaced: writes after that backup are lost.'},
  pause: {label: 'Rollout pause', path: '/rollout/pause', confirm: 'Pause the rollout after the member in progress?'},
  resume: {label: 'Rollout resume', path: '/rollout/resume', confirm: 'Resume the rollout?'}
};
function opLine(li, cls, text) { li.className = cls; li.textContent = text; }
function follow(a, url, li) {
  getJson(url).then(function (r) {
    var o = r.body || {};
    if (r.status !== 200) { opLine(li, 'bad', '✗ ' + a.label + ': cannot read ' + url + ' (HTTP ' + r.status + ')'); return; }
    var steps = (o.steps || []).map(function (s) { return s.step || s; }).join(' → ');
    var detail = (o.phase ? ' — ' + o.phase : '') + (steps ? ' — steps: ' + steps : '') + (o.message ? ' — ' + o.message : '');
    if (o.status === 'running') {
      li.className = ''; clear(li);
      li.appendChild(el('progress', {attrs: {'aria-label': a.label + ' in progress'}}));
      li.appendChild(document.createTextNode(' ' + a.label + ' ' + o.op + ': running' + detail));
      setTimeout(function () { follow(a, url, li); }, 1000);
    } else opLine(li, o.status === 'succeeded' ? 'ok' : 'bad', (o.status === 'succeeded' ? '✓ ' : '✗ ') + a.label + ' ' + o.op + ': ' + o.status + detail);
    li.setAttribute('data-status', o.status || 'unknown');
  }).catch(function (e) { li.textContent = a.label + ': lost track (' + e.message + '); retrying'; setTimeout(function () { follow(a, url, li); }, 2000); });
}
function act(kind) {
  var a = ACTIONS[kind];
  var body = a.body || (kind === 'reseed' && $('reseed-force').checked ? {force: true} : null);
  if (!window.confirm(a.confirm + (body && body.force ? ' (forced)' : ''))) return;
  var li = el('li', {text: a.label + ': requesting…', attrs: {'data-action': kind}});
  $('oplog').insertBefore(li, $('oplog').firstChild);
  var headers = {};
  if (token()) headers.authorization = 'Bearer ' + token();
  if (body) headers['content-type'] = 'application/json';
  getJson(a.path, {method: 'POST', headers: headers, body: body ? JSON.stringify(body) : undefined}).then(function (r) {
    li.setAttribute('data-http', String(r.status));
    if (r.status === 202 && r.body && typeof r.body.status === 'string' && r.body.status.charAt(0) === '/' && r.body.status !== '/rollout') follow(a, r.body.status, li);
    else if (r.status === 202) opLine(li, 'ok', '✓ ' + a.label + ' accepted' + (r.body && r.body.op ? ' (' + r.body.op + ')' : ''));
    else {
      var why = (r.body && r.body.error) || r.text;
      opLine(li, 'bad', '✗ ' + a.label + ' refused (HTTP ' + r.status + '): ' + why + (r.status === 401 || r.status === 403 ? ' — give the admin token above.' : ''));
      li.setAttribute('role', 'alert');
      li.setAttribute('data-status', 'refused');
    }
  }).catch(function (e) { opLine(li, 'bad', '✗ ' + a.label + ': the request failed (' + e.message + ')'); });
}

$('token-form').addEventListener('submit', function (e) {
  e.preventDefault();
  var v = $('token').value.trim();
  try { if (v) sessionStorage.setItem(TOKEN_KEY, v); } catch (err) { /* storage off: nothing kept */ }
  $('token').value = '';
  showToken();
});
$('forget-token').addEventListener('click', function () { try { sessionStorage.removeItem(TOKEN_KEY); } catch (e) { /* nothing kept */ } showToken(); });
Object.keys(ACTIONS).forEach(function (k) { $('act-' + k).addEventListener('click', function () { act(k); }); });
showToken();
tick();
`

/** The page's whole script (an IIFE: nothing leaks into the global scope). */
export const DASHBOARD_SCRIPT = `(function () {\n'use strict';${RENDER_JS}${MAIN_JS}})();\n`
