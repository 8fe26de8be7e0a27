// The web view: reads es-admin's JSON API and follows /api/live. Every stored string (stream
// and event names, payloads, metadata) is written by whoever appends, so it reaches the page
// only as text: text nodes, textContent and attribute values, never markup.
'use strict';

/** Rows kept in the live log: a busy store would otherwise grow the page without end. */
const LIVE_ROWS = 300;
/** Events shown in the live log when the page opens, before new ones arrive. */
const RECENT = 50;
/** Seconds the rate chart covers. */
const RATE_SECONDS = 60;
const PAGE = 100;

const $ = (id) => document.getElementById(id);
const enc = encodeURIComponent;

const state = {
  head: 0,
  events: 0,
  liveCount: 0,
  streamsNext: null,
  /** The stream row of each listed stream, by name, to update its version live. */
  streamRows: new Map(),
  /** The open stream: { name, next, shown, complete, loading, missed }. */
  stream: null,
  /** Live events per second of their timestamps, by Unix second. */
  perSecond: new Map(),
};

/** An element with attributes and children; a string child becomes a text node. */
function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value !== undefined && value !== null) node.setAttribute(name, String(value));
  }
  node.append(...children);
  return node;
}

async function api(path) {
  const response = await fetch(path, { headers: { Accept: 'application/json' } });
  const body = await response.json();
  if (!response.ok) throw new Error(body.error || response.statusText);
  return body;
}

function problem(error) {
  $('problem').textContent = String(error.message || error);
  $('problem').hidden = false;
}

const number = (n) => n.toLocaleString('en-US');

function bytes(n) {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let unit = 0;
  while (n >= 1024 && unit < units.length - 1) {
    n /= 1024;
    unit += 1;
  }
  return `${unit ? n.toFixed(1) : n} ${units[unit]}`;
}

/** `HH:MM:SS.mmm` of an RFC 3339 timestamp, in UTC like the store keeps it. */
const clock = (timestamp) => (timestamp || '').slice(11, 23);

function payloadText(event, indent) {
  return 'payload' in event
    ? JSON.stringify(event.payload, null, indent)
    : `(not JSON) ${event.payload_hex}`;
}

// Totals ---------------------------------------------------------------------------------

async function loadTotals() {
  const stats = await api('/api/stats');
  $('store-name').textContent = stats.store;
  // Live events may have counted past this answer already: the larger figure is the newer.
  state.events = Math.max(state.events, stats.events);
  state.head = Math.max(state.head, stats.head);
  showTotals();
  $('total-streams').textContent = number(stats.streams);
  $('total-bytes').textContent = bytes(stats.payload_bytes);
  $('total-snapshots').textContent = number(stats.snapshots);
  $('total-checkpoints').textContent = number(stats.checkpoints);
  $('total-last').textContent = stats.last_timestamp || '-';
  return stats;
}

function showTotals() {
  $('total-events').textContent = number(state.events);
  $('total-head').textContent = number(state.head);
}

// Streams --------------------------------------------------------------------------------

async function loadStreams(more) {
  const prefix = $('stream-filter').value;
  const after = more ? state.streamsNext : '';
  const page = await api(`/api/streams?prefix=${enc(prefix)}&after=${enc(after)}&limit=${PAGE}`);
  if (prefix !== $('stream-filter').value) return; // the answer to a newer filter wins
  if (!more) {
    $('stream-list').replaceChildren();
    state.streamRows.clear();
  }
  for (const stream of page.streams) {
    const row = el('li', { 'data-stream': stream.stream, tabindex: 0, title: stream.stream },
      el('span', { class: 'name' }, stream.stream),
      el('span', { class: 'count' }, `v${stream.version}`));
    if (state.stream && state.stream.name === stream.stream) row.setAttribute('aria-current', 'true');
    state.streamRows.set(stream.stream, row);
    $('stream-list').append(row);
  }
  state.streamsNext = page.next;
  $('streams-more').hidden = page.next === null;
}

let streamsReload = null;

/** Reloads the list a moment later: a burst of new streams costs one request. */
function reloadStreamsSoon() {
  clearTimeout(streamsReload);
  streamsReload = setTimeout(() => loadStreams(false).catch(problem), 300);
}

// One stream's events --------------------------------------------------------------------

function eventCard(event) {
  const extra = Object.entries(event.extra || {}).map(([key, value]) => `${key}: ${value}`);
  const ids = [`id ${event.id}`];
  if (event.correlation_id) ids.push(`correlation ${event.correlation_id}`);
  if (event.causation_id) ids.push(`causation ${event.causation_id}`);
  return el('li', {
    class: 'event', tabindex: 0,
    'data-id': event.id, 'data-version': event.version, 'data-position': event.position,
  },
  el('div', { class: 'event-head' },
    el('b', {}, `v${event.version}`),
    el('span', { class: 'event-name' }, event.name),
    el('span', { class: 'muted' }, `@${event.position}  ${event.timestamp}`)),
  el('div', { class: 'muted small' }, ids.join('  ·  ')),
  extra.length ? el('div', { class: 'small' }, extra.join('  ·  ')) : '',
  el('pre', { class: 'payload' }, payloadText(event, 2)));
}

async function openStream(name) {
  for (const [stream, row] of state.streamRows) {
    if (stream === name) row.setAttribute('aria-current', 'true');
    else row.removeAttribute('aria-current');
  }
  state.stream = { name, next: 1, shown: 0, complete: false, loading: false, missed: false };
  $('stream-title').textContent = name;
  $('stream-version').textContent = '';
  $('stream-events').replaceChildren();
  await loadStreamPage();
}

async function loadStreamPage() {
  const current = state.stream;
  current.loading = true;
  try {
    for (;;) {
      const page = await api(`/api/stream?name=${enc(current.name)}&from=${current.next}&limit=${PAGE}`);
      if (state.stream !== current) return; // another stream was opened meanwhile
      for (const event of page.events) $('stream-events').append(eventCard(event));
      if (page.events.length) current.shown = page.events[page.events.length - 1].version;
      $('stream-version').textContent = `version ${Math.max(page.version, current.shown)}`;
      current.complete = page.next === null;
      current.next = page.next === null ? current.shown + 1 : page.next;
      // An event of this stream that arrived live during the read may not be in it.
      if (!(current.complete && current.missed)) break;
      current.missed = false;
    }
  } finally {
    current.loading = false;
  }
  $('stream-more').hidden = current.complete;
}

async function showEvent(id) {
  const event = await api(`/api/events/${enc(id)}`);
  $('event-title').textContent = `${event.stream}  v${event.version}  @${event.position}`;
  $('event-detail').textContent = JSON.stringify(event, null, 2);
  $('event-dialog').showModal();
}

// The live log ---------------------------------------------------------------------------

function liveRow(event) {
  return el('li', { 'data-position': event.position, 'data-id': event.id, tabindex: 0, title: event.timestamp },
    el('span', { class: 'position' }, `@${event.position}`),
    el('span', { class: 'time' }, clock(event.timestamp)),
    el('span', { class: 'name' }, event.stream),
    el('span', { class: 'event-name' }, event.name),
    el('span', { class: 'payload' }, payloadText(event)));
}

/** One event of the log: `live` when it was appended after the page opened. */
function onEvent(event, live) {
  const log = $('live-log');
  log.prepend(liveRow(event));
  while (log.childElementCount > LIVE_ROWS) log.lastElementChild.remove();
  if (!live) return;

  // Counted by the time they were stored: a burst read at once is drawn as it happened. The
  // events shown at load are not counted, as those before them are not known here.
  const second = Math.floor(Date.parse(event.timestamp) / 1000);
  if (!Number.isNaN(second)) state.perSecond.set(second, (state.perSecond.get(second) || 0) + 1);
  state.liveCount += 1;
  $('live-count').textContent = number(state.liveCount);
  if (event.position > state.head) {
    state.head = event.position;
    state.events += 1;
    showTotals();
  }
  const row = state.streamRows.get(event.stream);
  if (row) {
    row.querySelector('.count').textContent = `v${event.version}`;
  } else if (event.stream.startsWith($('stream-filter').value) && state.streamsNext === null) {
    reloadStreamsSoon();
  }
  const open = state.stream;
  if (open && open.name === event.stream) {
    if (open.loading) {
      open.missed = true;
    } else if (open.complete && event.version === open.shown + 1) {
      $('stream-events').append(eventCard(event));
      open.shown = event.version;
      open.next = event.version + 1;
      $('stream-version').textContent = `version ${event.version}`;
    }
  }
}

function follow(after) {
  const status = (name, detail) => {
    $('live-status').dataset.state = name;
    $('live-status').textContent = name;
    $('live-status').title = detail || '';
  };
  // After an error the browser reconnects by itself, resuming after the last event it got.
  const source = new EventSource(`/api/live?after=${after}`);
  source.addEventListener('open', () => status('live'));
  source.addEventListener('event', (message) => onEvent(JSON.parse(message.data), true));
  source.addEventListener('failure', (message) => status('store failed', JSON.parse(message.data).error));
  source.addEventListener('error', () => {
    if ($('live-status').dataset.state !== 'store failed') status('reconnecting');
  });
}

// The rate chart -------------------------------------------------------------------------

function drawRate() {
  const canvas = $('rate-chart');
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth;
  const height = canvas.clientHeight;
  if (canvas.width !== Math.round(width * ratio)) canvas.width = Math.round(width * ratio);
  if (canvas.height !== Math.round(height * ratio)) canvas.height = Math.round(height * ratio);
  const context = canvas.getContext('2d');
  context.setTransform(ratio, 0, 0, ratio, 0, 0);
  context.clearRect(0, 0, width, height);

  const now = Math.floor(Date.now() / 1000);
  for (const second of state.perSecond.keys()) {
    if (second <= now - RATE_SECONDS) state.perSecond.delete(second);
  }
  const counts = [];
  for (let ago = RATE_SECONDS - 1; ago >= 0; ago -= 1) counts.push(state.perSecond.get(now - ago) || 0);
  const peak = Math.max(...counts);
  const scale = Math.max(peak, 1);
  const style = getComputedStyle(canvas);
  const bar = width / RATE_SECONDS;

  context.strokeStyle = style.borderTopColor;
  context.beginPath();
  context.moveTo(0, height - 0.5);
  context.lineTo(width, height - 0.5);
  context.stroke();
  context.fillStyle = style.color;
  counts.forEach((count, index) => {
    const barHeight = Math.round((count / scale) * (height - 4));
    context.fillRect(index * bar + 1, height - barHeight, Math.max(bar - 2, 1), barHeight);
  });
  $('rate-peak').textContent = peak ? `(peak ${number(peak)}/s)` : '(quiet)';
}

// Projections ----------------------------------------------------------------------------

async function loadProjections() {
  const answer = await api('/api/projections');
  const rows = answer.projections.map((projection) => el('tr', {
    'data-projection': projection.projection, 'data-lag': projection.lag,
    class: projection.lag > 0 ? 'behind' : 'current',
  },
  el('td', { class: 'name' }, projection.projection),
  el('td', {}, number(projection.position)),
  el('td', {}, number(projection.lag))));
  if (!rows.length) {
    rows.push(el('tr', {}, el('td', { colspan: 3, class: 'muted' }, 'no projection has saved a checkpoint')));
  }
  $('projections').replaceChildren(...rows);
}

// Start ----------------------------------------------------------------------------------

/** Calls `action` with the row under a click or an Enter key, found by `selector`. */
function onRow(list, selector, action) {
  const pick = (target) => {
    const row = target.closest(selector);
    if (row && list.contains(row)) action(row).catch(problem);
  };
  list.addEventListener('click', (click) => pick(click.target));
  list.addEventListener('keydown', (key) => {
    if (key.key === 'Enter') pick(key.target);
  });
}

async function start() {
  onRow($('stream-list'), 'li[data-stream]', (row) => openStream(row.dataset.stream));
  onRow($('stream-events'), 'li[data-id]', (row) => showEvent(row.dataset.id));
  onRow($('live-log'), 'li[data-id]', (row) => showEvent(row.dataset.id));
  let filterTimer = null;
  $('stream-filter').addEventListener('input', () => {
    clearTimeout(filterTimer);
    filterTimer = setTimeout(() => loadStreams(false).catch(problem), 200);
  });
  $('streams-more').addEventListener('click', () => loadStreams(true).catch(problem));
  $('stream-more').addEventListener('click', () => loadStreamPage().catch(problem));
  $('event-close').addEventListener('click', () => $('event-dialog').close());

  const stats = await loadTotals();
  // The last events up to the head, then everything after it live: no gap, no repeat.
  const recent = await api(`/api/log?after=${Math.max(0, stats.head - RECENT)}&limit=${RECENT}`);
  for (const event of recent.events) {
    if (event.position <= stats.head) onEvent(event, false);
  }
  follow(stats.head);
  drawRate();
  setInterval(drawRate, 1000);
  await Promise.all([loadStreams(false), loadProjections()]);
  setInterval(() => loadProjections().catch(problem), 3000);
  // Totals count the whole log: fetched now and then, kept current by live events meanwhile.
  setInterval(() => loadTotals().catch(problem), 10000);
}

start().catch(problem);
