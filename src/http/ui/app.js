/*
 * postpace's web page: the calendar (day and week, in a chosen time zone),
 * each key's budget over time, one post in full, live statuses, and the
 * controls the /v1 API offers. Plain DOM and SVG, no library; every call goes
 * to the page's own origin with the tab's bearer token. What tests and the
 * benchmark read is in data-* attributes (README beside this file).
 */
'use strict';
(function () {
  const STATUSES = ['scheduled', 'publishing', 'submitted', 'published', 'failed', 'unconfirmed',
    'cancelled', 'expired'];
  /* A post shows the status that most needs a look first. */
  const RANK = { failed: 0, unconfirmed: 1, publishing: 2, scheduled: 3, submitted: 4,
    published: 5, cancelled: 6, expired: 7 };
  const TOKEN_KEY = 'postpace.token';
  const POLL_MS = 5000;          /* statuses: GET /v1/posts?updated_since= */
  const MARGIN_MS = 30000;       /* a change committed late carries its transaction's start */
  const PLAN_MS = 30000;         /* the forecast, and the budgets, at most this often */
  const DAY_MS = 86400000;

  const $ = (id) => document.getElementById(id);
  const state = {
    token: null, view: 'week', anchor: null, tz: null, posts: new Map(), plan: new Map(),
    requests: [], limits: null, since: null, planAt: 0, planTo: 0, focusId: null,
    selected: null, poller: null, days: [], loading: false,
  };

  /* ---- text ---- */

  function esc(s) {
    return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;',
      '"': '&quot;', "'": '&#39;' }[c]));
  }

  function duration(ms) {
    if (ms < 1000) return ms + ' ms';
    let s = Math.round(ms / 1000);
    const d = Math.floor(s / 86400); s -= d * 86400;
    const h = Math.floor(s / 3600); s -= h * 3600;
    const m = Math.floor(s / 60); s -= m * 60;
    return (d ? d + 'd' : '') + (h ? h + 'h' : '') + (m ? m + 'm' : '') +
      (s && !d ? s + 's' : '') || '0s';
  }

  /* ---- time zones: offsets cached per quarter hour ---- */

  const fmtCache = new Map();
  function partsFormatter(tz) {
    let f = fmtCache.get(tz);
    if (!f) {
      f = new Intl.DateTimeFormat('en-CA', { timeZone: tz, hourCycle: 'h23', year: 'numeric',
        month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
      fmtCache.set(tz, f);
    }
    return f;
  }
  function civil(tz, ms) {
    const o = {};
    for (const p of partsFormatter(tz).formatToParts(new Date(ms)))
      if (p.type !== 'literal') o[p.type] = parseInt(p.value, 10);
    return o;
  }
  const offCache = new Map();
  function offset(tz, ms) {
    const q = Math.floor(ms / 900000), key = tz + q;
    let off = offCache.get(key);
    if (off === undefined) {
      const at = q * 900000, c = civil(tz, at);
      off = Date.UTC(c.year, c.month - 1, c.day, c.hour, c.minute, c.second) - at;
      offCache.set(key, off);
    }
    return off;
  }
  /* The instant local midnight of civil date y-m-d (m from 1) is in tz. */
  function midnight(tz, y, m, d) {
    const guess = Date.UTC(y, m - 1, d);
    let t = guess - offset(tz, guess);
    const again = offset(tz, t);
    if (guess - again !== t) t = guess - again;
    return t;
  }
  function hhmm(tz, ms) {
    const local = new Date(ms + offset(tz, ms));
    return String(local.getUTCHours()).padStart(2, '0') + ':' +
      String(local.getUTCMinutes()).padStart(2, '0');
  }
  function dateTime(tz, ms) {
    const local = new Date(ms + offset(tz, ms));
    return local.toISOString().slice(0, 16).replace('T', ' ');
  }
  function dayName(tz, ms) {
    return new Intl.DateTimeFormat('en-GB', { timeZone: tz, weekday: 'short', day: 'numeric',
      month: 'short' }).format(new Date(ms));
  }
  function ymd(tz, ms) {
    const c = civil(tz, ms);
    return c.year + '-' + String(c.month).padStart(2, '0') + '-' + String(c.day).padStart(2, '0');
  }

  /* The visible days: [start, end) instants of each, in the chosen zone. */
  function visibleDays() {
    const [y, m, d] = state.anchor.split('-').map((x) => parseInt(x, 10));
    const n = state.view === 'day' ? 1 : 7, days = [];
    for (let i = 0; i <= n; i++) {
      const c = new Date(Date.UTC(y, m - 1, d + i));
      days.push(midnight(state.tz, c.getUTCFullYear(), c.getUTCMonth() + 1, c.getUTCDate()));
    }
    return days;
  }

  /* ---- the API ---- */

  class Unauthorized extends Error {}
  async function api(method, path, body) {
    const opt = { method, headers: { Authorization: 'Bearer ' + state.token } };
    if (body !== undefined) {
      opt.headers['Content-Type'] = 'application/json';
      opt.body = JSON.stringify(body);
    }
    const r = await fetch(path, opt);
    if (r.status === 401) throw new Unauthorized('the server refused the token');
    let json = null;
    try { json = await r.json(); } catch (e) { json = null; }
    return { status: r.status, json };
  }
  function iso(ms) { return new Date(ms).toISOString(); }

  async function fetchPosts(from, to, since) {
    const out = [];
    let cursor = null;
    do {
      let q = '/v1/posts?limit=500&from=' + encodeURIComponent(iso(from)) + '&to=' +
        encodeURIComponent(iso(to));
      if (since !== null) q += '&updated_since=' + encodeURIComponent(iso(since));
      if (cursor) q += '&cursor=' + encodeURIComponent(cursor);
      const r = await api('GET', q);
      if (r.status !== 200) throw new Error('GET /v1/posts: ' + r.status);
      out.push(...r.json.posts);
      cursor = r.json.next_cursor;
    } while (cursor);
    return out;
  }

  /* ---- the model ---- */

  function leading(post) {
    let best = null;
    for (const t of post.targets)
      if (best === null || RANK[t.status] < RANK[best]) best = t.status;
    return best || 'scheduled';
  }
  function newest(post) {
    let ms = Date.parse(post.updated_at);
    for (const t of post.targets) ms = Math.max(ms, Date.parse(t.updated_at));
    return ms;
  }
  /* Keeps posts. Returns those whose targets' statuses changed, and whether
   * any is new or moved in time (then the calendar is drawn anew). */
  function absorb(posts) {
    const changed = [];
    let moved = false;
    for (const p of posts) {
      p.ms = Date.parse(p.scheduled_at);
      p.lead = leading(p);
      const old = state.posts.get(p.id);
      if (!old || old.ms !== p.ms || old.targets.length !== p.targets.length) moved = true;
      if (!old || old.targets.map((t) => t.status).join() !==
          p.targets.map((t) => t.status).join()) changed.push(p);
      state.posts.set(p.id, p);
      const n = newest(p);
      if (state.since === null || n > state.since) state.since = n;
    }
    return { changed, moved };
  }
  /* Per post, the request that leaves last (or never). */
  function absorbPlan(plan) {
    state.plan = new Map();
    state.requests = plan.requests;
    for (const r of plan.requests) {
      const cur = state.plan.get(r.post_id);
      if (!cur || worse(r, cur)) state.plan.set(r.post_id, r);
    }
  }
  function worse(a, b) {
    if (a.state === 'never') return b.state !== 'never';
    if (b.state === 'never') return false;
    return a.late_ms > b.late_ms;
  }

  /* ---- the calendar ---- */

  /* What the forecast says of a post still waiting: 'never', 'slip' or null. */
  function markOf(p) {
    const r = state.plan.get(p.id);
    if (!r || !p.targets.some((t) => t.status === 'scheduled')) return null;
    if (r.state === 'never') return 'never';
    return r.late_ms > 0 && r.leaves_at ? 'slip' : null;
  }

  function postHtml(p, day) {
    const r = state.plan.get(p.id), m = markOf(p);
    let mark = '', attrs = '';
    if (m === 'never') {
      attrs = ' data-never="1" data-binding="' + esc(r.binding || '') + '"';
      mark = '<span class="never">never goes: ' + esc(r.binding || 'a spent quota') + '</span>';
    } else if (m === 'slip') {
      attrs = ' data-slip-ms="' + r.late_ms + '" data-binding="' + esc(r.binding || '') + '"';
      mark = '<span class="slip">' + duration(r.late_ms) + ' late: ' + esc(r.binding || '') +
        '</span>';
    }
    const bar = p.targets.length > 1 ? '<span class="bar" aria-hidden="true">' +
      p.targets.map((t) => '<i class="s-' + t.status + '"></i>').join('') + '</span> ' : '';
    const st = p.targets.length > 1 ? p.lead + ' (' + p.targets.length + ' targets)' : p.lead;
    return '<li><button type="button" class="post s-' + p.lead + '" tabindex="-1" data-id="' +
      p.id + '" data-status="' + p.lead + '" data-statuses="' +
      p.targets.map((t) => t.status).join(' ') + '" data-provider="' + esc(p.provider) +
      '" data-key="' + esc(p.provider_key) + '"' + attrs + '><span class="t">' +
      hhmm(state.tz, p.ms) + '</span> ' + bar + esc(p.provider_key) + ' · ' +
      esc(p.provider) + ' <span class="st">' + st + '</span>' + mark +
      (day ? '<span class="c">' + esc(p.content.slice(0, 140)) + '</span>' : '') +
      '</button></li>';
  }

  function renderCalendar() {
    const t0 = performance.now();
    const days = state.days, n = days.length - 1;
    const cols = [];
    for (let i = 0; i < n; i++) cols.push([]);
    for (const p of state.posts.values()) {
      if (p.ms < days[0] || p.ms >= days[n]) continue;
      let i = 0;
      while (p.ms >= days[i + 1]) i++;
      cols[i].push(p);
    }
    let html = '';
    for (let i = 0; i < n; i++) {
      cols[i].sort((a, b) => a.ms - b.ms || a.id - b.id);
      let hour = '', items = '';
      for (const p of cols[i]) {
        const h = hhmm(state.tz, p.ms).slice(0, 2);
        if (h !== hour) {
          hour = h;
          items += '<li class="hour" aria-hidden="true">' + h + ':00</li>';
        }
        items += postHtml(p, n === 1);
      }
      const label = dayName(state.tz, days[i] + 1);
      html += '<section class="day" aria-labelledby="day-' + i + '" data-day="' +
        ymd(state.tz, days[i] + 1) + '" data-count="' + cols[i].length + '"><h3 id="day-' + i +
        '">' + esc(label) + ' <span class="help">(' + cols[i].length + ')</span></h3>' +
        '<ul aria-labelledby="day-' + i + '">' +
        (items || '<li class="hour">no posts</li>') + '</ul></section>';
    }
    const el = $('days');
    el.className = n === 1 ? 'one' : '';
    el.innerHTML = html;
    renderLegend();
    $('cal-title').textContent = (n === 1 ? 'Posts on ' : 'Posts from ') +
      dayName(state.tz, days[0] + 1) + (n === 1 ? '' : ' to ' +
      dayName(state.tz, days[n] - 1)) + ' (' + state.tz + ')';
    restoreFocus();
    return performance.now() - t0;
  }

  /* The counts by status (and slips, never) of the visible posts. */
  function renderLegend() {
    const days = state.days, n = days.length - 1, counts = {};
    for (const s of STATUSES) counts[s] = 0;
    let slips = 0, never = 0;
    for (const p of state.posts.values()) {
      if (p.ms < days[0] || p.ms >= days[n]) continue;
      counts[p.lead]++;
      const m = markOf(p);
      if (m === 'slip') slips++;
      else if (m === 'never') never++;
    }
    $('legend').innerHTML = STATUSES.map((s) => '<li class="s-' + s + '" data-status="' + s +
      '" data-count="' + counts[s] + '">' + s + ': ' + counts[s] + '</li>').join('') +
      '<li data-status="slipping" data-count="' + slips + '">late: ' + slips + '</li>' +
      '<li data-status="never" data-count="' + never + '">never go: ' + never + '</li>';
  }

  /* A status change redraws only the posts it touched, and the counts. */
  function patchPosts(list) {
    const one = state.days.length === 2, holder = document.createElement('ul');
    for (const p of list) {
      const b = $('days').querySelector('.post[data-id="' + p.id + '"]');
      if (!b) continue;
      holder.innerHTML = postHtml(p, one);
      const nb = holder.querySelector('.post');
      nb.tabIndex = b.tabIndex;
      if (b.classList.contains('selected')) nb.classList.add('selected');
      const focused = document.activeElement === b;
      b.replaceWith(nb);
      if (focused) nb.focus();
    }
    renderLegend();
  }

  /* One tab stop in the calendar: the focused post; the arrows move it. */
  function restoreFocus() {
    const all = $('days').querySelectorAll('.post');
    if (!all.length) return;
    let cur = state.focusId !== null ? $('days').querySelector('.post[data-id="' +
      state.focusId + '"]') : null;
    if (!cur) cur = all[0];
    cur.tabIndex = 0;
    if (state.selected !== null) {
      const s = $('days').querySelector('.post[data-id="' + state.selected + '"]');
      if (s) s.classList.add('selected');
    }
  }
  function moveFocus(from, to) {
    if (!to) return;
    from.tabIndex = -1;
    to.tabIndex = 0;
    to.focus();
    state.focusId = parseInt(to.dataset.id, 10);
  }
  function onCalendarKey(ev) {
    const b = ev.target.closest('.post');
    if (!b) return;
    const li = b.parentElement, day = li.closest('.day');
    const posts = (el) => el ? [...el.querySelectorAll('.post')] : [];
    let to = null;
    if (ev.key === 'ArrowDown' || ev.key === 'ArrowUp') {
      const list = posts(day), i = list.indexOf(b);
      to = list[i + (ev.key === 'ArrowDown' ? 1 : -1)];
    } else if (ev.key === 'ArrowLeft' || ev.key === 'ArrowRight') {
      let d = ev.key === 'ArrowRight' ? day.nextElementSibling : day.previousElementSibling;
      while (d && !d.querySelector('.post'))
        d = ev.key === 'ArrowRight' ? d.nextElementSibling : d.previousElementSibling;
      if (d) {
        const i = posts(day).indexOf(b), list = posts(d);
        to = list[Math.min(i, list.length - 1)];
      }
    } else if (ev.key === 'Home') {
      to = posts(day)[0];
    } else if (ev.key === 'End') {
      const list = posts(day);
      to = list[list.length - 1];
    } else {
      return;
    }
    ev.preventDefault();
    moveFocus(b, to);
  }

  /* ---- one post ---- */

  function timeCell(s) { return s ? esc(dateTime(state.tz, Date.parse(s))) : '—'; }

  async function showPost(id) {
    state.selected = id;
    for (const s of $('days').querySelectorAll('.post.selected')) s.classList.remove('selected');
    const b = $('days').querySelector('.post[data-id="' + id + '"]');
    if (b) b.classList.add('selected');
    const r = await api('GET', '/v1/posts/' + id);
    const body = $('detail-body');
    $('detail').hidden = false;
    $('app').classList.add('with-detail');
    if (r.status !== 200) {
      body.textContent = 'This post could not be read (' + r.status + ').';
      return;
    }
    const p = r.json, plan = state.requests.filter((q) => q.post_id === id);
    absorb([p]);
    $('detail-title').textContent = 'Post ' + p.id;
    let html = '<dl><dt>Key</dt><dd>' + esc(p.provider_key) + ' (' + esc(p.provider) +
      ', key ' + p.provider_key_id + ')</dd><dt>Scheduled</dt><dd>' + timeCell(p.scheduled_at) +
      ' (' + esc(state.tz) + '); ' + esc(p.scheduled_local) + ' ' + esc(p.time_zone) +
      '</dd><dt>External id</dt><dd>' + esc(p.external_id === null ? '—' : p.external_id) +
      '</dd><dt>Accounts</dt><dd>' + p.account_ids.map(esc).join(', ') +
      '</dd><dt>Content</dt><dd>' + esc(p.content) + '</dd><dt>Media</dt><dd>' +
      (p.media.length ? p.media.map((m) => esc(m.url)).join('<br>') : 'none') +
      '</dd><dt>Created</dt><dd>' + timeCell(p.created_at) + '</dd><dt>Updated</dt><dd>' +
      timeCell(p.updated_at) + '</dd></dl>';
    for (const q of plan)
      html += '<p class="forecast" data-state="' + q.state + '">Forecast: ' +
        (q.state === 'never' ? 'never goes' : q.leaves_at ? 'leaves ' +
        timeCell(q.leaves_at) + (q.late_ms > 0 ? ', ' + duration(q.late_ms) + ' late' : '') :
        q.state) + (q.binding ? '; bound by ' + esc(q.binding) : '') + '</p>';
    html += '<h3>Targets</h3>';
    for (const t of p.targets) html += targetHtml(t);
    html += eventsHtml(p.events || [], p.targets);
    const waiting = p.targets.filter((t) => t.status === 'scheduled').length;
    const failed = p.targets.filter((t) => t.status === 'failed').length;
    html += '<div class="group">' +
      (failed ? '<button type="button" data-act="retry" data-post="' + p.id +
        '">Retry failed targets…</button>' : '') +
      (waiting ? '<button type="button" data-act="cancel" data-post="' + p.id +
        '">Cancel waiting targets…</button>' : '') + '</div><div id="answer" role="status"></div>';
    body.innerHTML = html;
    $('detail').focus();
  }

  function targetHtml(t) {
    let html = '<div class="target s-' + t.status + '" data-target="' + t.id + '"><strong>' +
      esc(t.account_id) + '</strong>: ' + t.status + ', ' + t.attempts + ' tries' +
      (t.next_attempt_at ? ', next ' + timeCell(t.next_attempt_at) : '') +
      (t.provider_post_id ? ', provider post ' + esc(t.provider_post_id) : '');
    if (t.last_error) html += '<p>Last error:</p><pre>' +
      esc(JSON.stringify(t.last_error, null, 1)) + '</pre>';
    const log = t.attempt_log || [];
    if (log.length) {
      html += '<table><caption>Attempts</caption><thead><tr><th scope="col">sent</th>' +
        '<th scope="col">finished</th><th scope="col">HTTP</th><th scope="col">outcome</th>' +
        '<th scope="col">retry after</th></tr></thead><tbody>';
      for (const a of log)
        html += '<tr><td>' + timeCell(a.sent_at) + '</td><td>' + timeCell(a.finished_at) +
          '</td><td>' + (a.http_status === null ? '—' : a.http_status) + '</td><td>' +
          esc(a.outcome === null ? '—' : a.outcome) + '</td><td>' +
          (a.retry_after_ms === null ? '—' : duration(a.retry_after_ms)) + '</td></tr>';
      html += '</tbody></table>';
    } else {
      html += '<p>No attempts yet.</p>';
    }
    return html + '</div>';
  }

  /* The webhook events the provider sent about the post's targets. */
  function eventsHtml(events, targets) {
    if (!events.length) return '<h3>Webhook events</h3><p>None received.</p>';
    const account = {};
    for (const t of targets) account[t.id] = t.account_id;
    let html = '<h3>Webhook events</h3><table class="events"><caption>Webhook events</caption>' +
      '<thead><tr><th scope="col">received</th><th scope="col">event</th>' +
      '<th scope="col">type</th><th scope="col">account</th><th scope="col">provider post</th>' +
      '<th scope="col">applied</th></tr></thead><tbody>';
    for (const e of events)
      html += '<tr><td>' + timeCell(e.received_at) + '</td><td>' + esc(e.event_id) + '</td><td>' +
        esc(e.type || e.raw_type || '—') + '</td><td>' + esc(account[e.target_id] || '—') +
        '</td><td>' + esc(e.provider_post_id || '—') + '</td><td>' + timeCell(e.applied_at) +
        '</td></tr>';
    return html + '</tbody></table>';
  }

  /* Retry and cancel: a dry run first, its answer shown, then a confirmation. */
  async function targetAction(kind, postId, confirmed) {
    const out = $('answer');
    const path = '/v1/targets/' + kind;
    const r = await api('POST', path, { post_id: postId, dry_run: !confirmed });
    /* The server's own 404 for a route it does not have, not a target it did not find. */
    const err = r.json && r.json.error ? r.json.error : null;
    if (r.status === 404 && err && err.message === 'no such route') {
      out.textContent = kind + ': not available in this server.';
      return;
    }
    if (r.status !== 200 || !r.json) {
      out.textContent = kind + ' refused (' + r.status + '): ' +
        (err ? err.message : 'no answer');
      return;
    }
    const a = r.json;
    let html = '<div class="answer"><p>' + (a.dry_run ? 'Dry run: ' : 'Done: ') + a.matched +
      ' matched, ' + a.done + (a.dry_run ? ' would be ' : ' ') +
      (kind === 'retry' ? 'retried' : 'cancelled') + '.</p><ul>';
    for (const t of a.targets || [])
      html += '<li>target ' + t.id + ' (' + esc(t.status) + '): ' + esc(t.action) +
        (t.reason ? ' — ' + esc(t.reason) : '') + '</li>';
    html += '</ul>';
    if (a.dry_run && a.done > 0)
      html += '<button type="button" data-act="' + kind + '-confirm" data-post="' + postId +
        '">Confirm: ' + kind + ' ' + a.done + '</button>';
    out.innerHTML = html + '</div>';
    if (!a.dry_run) refresh(true);
  }

  /* ---- each key's budget over time ---- */

  function bucketLabel(w) { return w.scope + (w.route === '*' ? '' : ' ' + w.route); }
  function windowText(w) {
    const per = w.kind === 'lifetime' ? 'in all' : w.kind === 'calendar_month' ? 'per month' :
      'per ' + duration(w.effective_window_ms || w.window_ms);
    return w.limit + (w.cost === 'request' ? '' : ' ' + w.cost + 's') + ' ' + per + ' on ' +
      (w.route === '*' ? 'every route' : w.route) + ' (' + w.scope + ', ' + w.kind + ')';
  }
  /* Which of the key's windows a plan's binding text names. */
  function windowOf(key, binding) {
    if (!binding) return -1;
    let best = -1;
    key.windows.forEach((w, i) => {
      if (!binding.startsWith(bucketLabel(w) + ' ')) return;
      const rest = binding.slice(bucketLabel(w).length + 1);
      if (rest.includes(w.kind + ' ' + w.limit) || (w.kind === 'lifetime' &&
          rest.includes('lifetime ' + w.limit))) best = i;
      else if (best < 0 && rest.startsWith('pacing') && rest.includes(' ' + w.limit + '/'))
        best = i;
    });
    return best;
  }

  function renderBudgets() {
    const t0 = performance.now();
    if (!state.limits) return 0;
    const now = Date.parse(state.limits.now);
    let html = '';
    for (const k of state.limits.keys) {
      const reqs = state.requests.filter((q) => q.key_id === k.id);
      const lanes = new Map();
      let never = 0;
      for (const q of reqs) {
        if (q.state === 'never') never++;
        const w = windowOf(k, q.binding);
        if (w < 0) continue;
        if (!lanes.has(w)) lanes.set(w, []);
        lanes.get(w).push(q);
      }
      /* Beside the windows that bind, those at least half used or spent. */
      k.windows.forEach((w, i) => {
        if ((w.never || w.used * 2 >= w.limit) && !lanes.has(i)) lanes.set(i, []);
      });
      const sends = reqs.filter((q) => q.leaves_at).map((q) => Date.parse(q.leaves_at))
        .sort((a, b) => a - b);
      html += '<section class="key" data-key-id="' + k.id + '" data-key="' + esc(k.label) +
        '" data-paused="' + (k.paused ? 1 : 0) + '" aria-labelledby="key-' + k.id + '"><header>' +
        '<h3 id="key-' + k.id + '">' + esc(k.label) + ' <span class="help">(' + esc(k.provider) +
        ', plan ' + esc(k.plan) + ')</span></h3>' +
        (k.paused ? '<span class="paused">paused</span>' : '') +
        '<button type="button" data-act="' + (k.paused ? 'resume' : 'pause') + '" data-key="' +
        k.id + '" aria-label="' + (k.paused ? 'Resume' : 'Pause') + ' key ' + esc(k.label) +
        '">' + (k.paused ? 'Resume' : 'Pause') + '</button>' +
        '<span class="help">' + reqs.length + ' requests forecast, ' + sends.length +
        ' leave' + (never ? ', ' + never + ' never go' : '') + '</span></header>';
      for (const [i, qs] of lanes) html += laneHtml(k, i, qs, sends, now);
      if (!lanes.size) html += '<p class="why">No window binds this key\'s forecast sends.</p>';
      html += '</section>';
    }
    $('keys').innerHTML = html;
    return performance.now() - t0;
  }

  /* One window: the sentence, then its usage over time against its limit. */
  function laneHtml(k, i, qs, sends, now) {
    const w = k.windows[i];
    const late = qs.filter((q) => q.late_ms > 0 && q.leaves_at);
    const never = qs.filter((q) => q.state === 'never').length;
    let until = 0;
    for (const q of late) until = Math.max(until, Date.parse(q.leaves_at));
    let why = windowText(w) + ': ' + w.used + ' used now';
    if (until) why += ', full until ' + esc(dateTime(state.tz, until)) + ' (' + late.length +
      ' requests wait for it)';
    if (never) why += '; ' + never + ' requests never go (spent)';
    else if (w.never) why += '; spent for good';
    /* From the first forecast send (or now) to the last, so a burst hours
     * ahead is not a sliver at the end of an empty axis. */
    const first = sends.length ? sends[0] : now;
    const last = sends.length ? sends[sends.length - 1] : now;
    const pad = Math.max(60000, (last - first) / 10);
    const from = first - pad > now ? first - pad : now;
    const end = Math.max(from + 10 * 60000, last, until) + pad;
    return '<div class="lane" data-window="' + esc(bucketLabel(w) + ' ' + w.kind + ' ' +
      w.limit) + '" data-full-until="' + (until ? iso(until) : '') + '" data-late="' +
      late.length + '" data-never="' + never + '"><p class="why">' + why + '</p>' +
      laneSvg(w, sends, now, from, end) + '</div>';
  }

  /* Usage of window w at time t: what is used now (leaving the window as it
   * rolls on or resets) plus the forecast sends that fall in it. */
  function usageAt(w, sends, now, t) {
    const len = w.effective_window_ms || w.window_ms || 0;
    let n = 0;
    if (w.kind === 'lifetime' || w.kind === 'calendar_month') {
      for (const s of sends) if (s <= t) n++;
      return w.used + n;
    }
    if (w.kind === 'fixed') {
      const start = Math.floor(t / len) * len;
      for (const s of sends) if (s > start && s <= t) n++;
      return (start <= now ? w.used : 0) + n;
    }
    for (const s of sends) if (s > t - len && s <= t) n++;
    return Math.round(w.used * Math.max(0, 1 - (t - now) / len)) + n;
  }

  function laneSvg(w, sends, now, from, end) {
    const W = 900, H = 70, L = 40, R = 10, top = 8, bottom = 52, n = 180;
    const x = (t) => L + (W - L - R) * (t - from) / (end - from);
    const vals = [];
    for (let i = 0; i <= n; i++) {
      const t = from + (end - from) * i / n;
      vals.push([t, usageAt(w, sends, now, t)]);
    }
    const max = Math.max(w.limit, ...vals.map((v) => v[1]));
    const y = (v) => bottom - (bottom - top) * v / max;
    let path = '';
    vals.forEach(([t, v], i) => {
      path += (i ? 'L' : 'M') + x(t).toFixed(1) + ' ' + y(v).toFixed(1);
    });
    const ticks = new Set();
    for (const s of sends) if (s >= from && s <= end) ticks.add(Math.round(x(s)));
    let tickPath = '';
    for (const tx of ticks) tickPath += 'M' + tx + ' ' + (bottom + 2) + 'v6';
    const labels = [0, 0.5, 1].map((f) => {
      const t = from + (end - from) * f;
      return '<text x="' + x(t).toFixed(0) + '" y="' + (H - 2) + '" text-anchor="' +
        (f === 0 ? 'start' : f === 1 ? 'end' : 'middle') + '">' +
        esc(f === 0 && from === now ? 'now' : hhmm(state.tz, t)) + '</text>';
    }).join('');
    return '<svg viewBox="0 0 ' + W + ' ' + H + '" role="img" aria-label="' +
      esc(windowText(w)) + ': usage from ' + esc(dateTime(state.tz, from)) + ' to ' +
      esc(dateTime(state.tz, end)) +
      ', peak ' + Math.max(...vals.map((v) => v[1])) + ' of ' + w.limit + '">' +
      '<path class="fill" d="' + path + 'L' + x(end).toFixed(1) + ' ' + bottom + 'L' + L + ' ' +
      bottom + 'Z"/><path class="usage" d="' + path + '"/>' +
      '<line class="limit" x1="' + L + '" x2="' + (W - R) + '" y1="' + y(w.limit).toFixed(1) +
      '" y2="' + y(w.limit).toFixed(1) + '"/><text x="2" y="' + (y(w.limit) + 4).toFixed(0) +
      '">' + w.limit + '</text><line class="axis" x1="' + L + '" x2="' + (W - R) + '" y1="' +
      bottom + '" y2="' + bottom + '"/><path class="tick" d="' + tickPath + '"/>' + labels +
      '</svg>';
  }

  /* ---- loading and live updates ---- */

  /* Resolves once the browser has laid out and painted what was just drawn. */
  function painted() {
    return new Promise((done) => requestAnimationFrame(() => setTimeout(done, 0)));
  }

  async function loadAll() {
    state.days = visibleDays();
    state.posts = new Map();
    state.since = null;
    const t0 = performance.now();
    /* The posts' pages come one after another (a cursor each); the forecast meanwhile. */
    const [posts] = await Promise.all([
      fetchPosts(state.days[0], state.days[state.days.length - 1], null), loadPlan()]);
    absorb(posts);
    const tFetched = performance.now();
    const tCal = renderCalendar();
    const tBud = renderBudgets();
    await painted();
    report({ rendered_at_ms: performance.now(), load_ms: performance.now() - t0,
      fetch_ms: tFetched - t0, calendar_ms: tCal, budgets_ms: tBud, posts: state.posts.size });
  }

  async function loadPlan() {
    const end = state.days[state.days.length - 1];
    const now = Date.now();
    const to = Math.max(end, now + 3600000);
    const [plan, limits] = await Promise.all([
      api('GET', '/v1/plan?to=' + encodeURIComponent(iso(to))), api('GET', '/v1/limits')]);
    if (plan.status === 200) {
      absorbPlan(plan.json);
      $('plan-note').textContent = planNote(plan.json.summary);
    }
    if (limits.status === 200) state.limits = limits.json;
    state.planAt = now;
  }
  function planNote(sum) {
    if (!sum) return '';
    const parts = [];
    for (const k of ['requests', 'late', 'never', 'beyond'])
      if (sum[k] !== undefined) parts.push(k + ': ' + sum[k]);
    return parts.length ? 'Forecast — ' + parts.join(', ') : '';
  }

  async function poll() {
    if (document.hidden || state.loading) return;
    try {
      const since = state.since === null ? Date.now() - MARGIN_MS : state.since - MARGIN_MS;
      const t0 = performance.now();
      const posts = await fetchPosts(state.days[0], state.days[state.days.length - 1], since);
      const { changed, moved } = absorb(posts);
      const stale = Date.now() - state.planAt > PLAN_MS;
      if (changed.length || moved || stale) {
        if (stale) await loadPlan();
        const t1 = performance.now();
        if (moved || stale) renderCalendar();
        else patchPosts(changed);
        if (stale) renderBudgets();
        await painted();
        report({ update_render_ms: performance.now() - t1, update_ms: performance.now() - t0,
          changed: changed.length, redrawn: moved || stale ? 'all' : 'changed',
          updates: (parseInt($('timings').dataset.updates || '0', 10) + 1) });
      }
      $('live').textContent = 'Live: checked ' + hhmm(state.tz, Date.now()) +
        (changed.length ? ', ' + changed.length + ' posts changed' : '');
    } catch (e) {
      failed(e);
    }
  }

  async function refresh(full) {
    state.loading = true;
    try {
      if (full) await loadAll();
    } catch (e) {
      failed(e);
    } finally {
      state.loading = false;
    }
  }

  function failed(e) {
    if (e instanceof Unauthorized) {
      forget('The server refused the token: enter another.');
      return;
    }
    $('live').textContent = 'The server could not be reached: ' + e.message +
      ' (trying again)';
  }

  /* Timings, for the benchmark: written into the DOM as data-* attributes. */
  function report(t) {
    const out = $('timings');
    for (const [k, v] of Object.entries(t))
      out.dataset[k.replace(/_(\w)/g, (m, c) => c.toUpperCase())] =
        typeof v === 'number' ? String(Math.round(v * 10) / 10) : String(v);
    out.dataset.ready = '1';
  }

  /* ---- token ---- */

  function forget(why) {
    sessionStorage.removeItem(TOKEN_KEY);
    state.token = null;
    clearInterval(state.poller);
    $('app').hidden = true;
    $('controls').hidden = true;
    $('login').hidden = false;
    $('login-why').textContent = why;
    $('token').focus();
  }

  function readHash() {
    const h = new URLSearchParams(location.hash.slice(1));
    const t = h.get('token');
    if (t) {
      sessionStorage.setItem(TOKEN_KEY, t);
      h.delete('token');
      const rest = h.toString();
      history.replaceState(null, '', location.pathname + location.search +
        (rest ? '#' + rest : ''));
    }
    return h;
  }

  async function start() {
    state.token = sessionStorage.getItem(TOKEN_KEY);
    if (!state.token) {
      forget('No API token yet for this tab.');
      return;
    }
    $('login').hidden = true;
    $('app').hidden = false;
    $('controls').hidden = false;
    await refresh(true);
    clearInterval(state.poller);
    state.poller = setInterval(poll, POLL_MS);
  }

  function fillZones() {
    let zones = [];
    try { zones = Intl.supportedValuesOf('timeZone'); } catch (e) { zones = []; }
    for (const z of ['UTC', state.tz]) if (!zones.includes(z)) zones.unshift(z);
    $('tz').innerHTML = zones.map((z) => '<option' + (z === state.tz ? ' selected' : '') + '>' +
      esc(z) + '</option>').join('');
  }

  function wire() {
    $('login-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      const t = $('token').value.trim();
      if (!t) return;
      sessionStorage.setItem(TOKEN_KEY, t);
      $('token').value = '';
      start();
    });
    $('forget').addEventListener('click', () => forget('Token forgotten.'));
    $('view').addEventListener('change', () => { state.view = $('view').value; refresh(true); });
    $('tz').addEventListener('change', () => { state.tz = $('tz').value; refresh(true); });
    const shift = (k) => {
      const [y, m, d] = state.anchor.split('-').map((x) => parseInt(x, 10));
      const c = new Date(Date.UTC(y, m - 1, d + k * (state.view === 'day' ? 1 : 7)));
      state.anchor = c.toISOString().slice(0, 10);
      refresh(true);
    };
    $('prev').addEventListener('click', () => shift(-1));
    $('next').addEventListener('click', () => shift(1));
    $('today').addEventListener('click', () => { state.anchor = ymd(state.tz, Date.now());
      refresh(true); });
    $('days').addEventListener('click', (ev) => {
      const b = ev.target.closest('.post');
      if (b) {
        moveFocus($('days').querySelector('.post[tabindex="0"]') || b, b);
        showPost(parseInt(b.dataset.id, 10));
      }
    });
    $('days').addEventListener('keydown', onCalendarKey);
    $('detail-close').addEventListener('click', () => {
      $('detail').hidden = true;
      $('app').classList.remove('with-detail');
      state.selected = null;
      const b = $('days').querySelector('.post[tabindex="0"]');
      if (b) b.focus();
    });
    document.addEventListener('click', async (ev) => {
      const b = ev.target.closest('button[data-act]');
      if (!b) return;
      const act = b.dataset.act;
      try {
        if (act === 'pause' || act === 'resume') {
          b.disabled = true;
          const r = await api('POST', '/v1/keys/' + act, { key: b.dataset.key });
          $('live').textContent = r.status === 200 ? 'Key ' + act + 'd.' :
            act + ' refused (' + r.status + ')';
          await loadPlan();
          renderBudgets();
          renderCalendar();
        } else if (act === 'retry' || act === 'cancel') {
          await targetAction(act, parseInt(b.dataset.post, 10), false);
        } else if (act.endsWith('-confirm')) {
          await targetAction(act.replace('-confirm', ''), parseInt(b.dataset.post, 10), true);
        }
      } catch (e) {
        failed(e);
      }
    });
  }

  /* The zone if the browser knows it (an address may name any). */
  function validZone(tz) {
    try {
      return tz ? new Intl.DateTimeFormat('en', { timeZone: tz }).resolvedOptions().timeZone : null;
    } catch (e) {
      return null;
    }
  }

  function init() {
    const h = readHash();
    state.tz = validZone(h.get('tz')) || validZone(Intl.DateTimeFormat().resolvedOptions()
      .timeZone) || 'UTC';
    state.view = h.get('view') === 'day' ? 'day' : 'week';
    state.anchor = /^\d{4}-\d{2}-\d{2}$/.test(h.get('date') || '') ? h.get('date') :
      ymd(state.tz, Date.now());
    $('view').value = state.view;
    fillZones();
    wire();
    start();
  }
  init();
})();
