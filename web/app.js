// The ranking page: plain JavaScript over the JSON API of optidiff/feedback/server.hpp (no build step).
// The user's token lives in localStorage and the session id in the URL (#s=ID), so a reload, or coming
// back tomorrow, shows the same open round.
'use strict';

const $ = (sel) => document.querySelector(sel);
const state = { token: localStorage.getItem('optidiff.token') || '', session: null, round: null, picked: [] };

async function api(method, path, body) {
  const headers = { 'Content-Type': 'application/json' };
  if (state.token) headers.Authorization = 'Bearer ' + state.token;
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const data = await res.json().catch(() => ({ error: { message: 'HTTP ' + res.status } }));
  if (!res.ok) throw new Error(data.error ? data.error.message : 'HTTP ' + res.status);
  return data;
}

function setStatus(text, busy) {
  const s = $('#status');
  s.textContent = text || '';
  s.className = busy ? 'busy' : '';
}

function sessionIdFromHash() {
  const m = /^#s=([0-9a-f]{16})$/.exec(location.hash);
  return m ? m[1] : null;
}

// ---- start view ------------------------------------------------------------------------------

async function showStart() {
  $('#session-view').hidden = true;
  $('#start-view').hidden = false;
  const config = await api('GET', '/api/config');
  const cls = $('#f-class');
  cls.innerHTML = '';
  for (const name of ['unconditional', ...(config.classes || [])]) cls.add(new Option(name, name));
  const sampler = $('#f-sampler');
  sampler.innerHTML = '';
  for (const name of config.samplers || []) sampler.add(new Option(name, name, name === 'euler', name === 'euler'));
  if (!config.image_steering) $('#start').disabled = true;
  const list = $('#my-sessions');
  list.innerHTML = '';
  if (state.token) {
    try {
      const mine = await api('GET', '/api/sessions');
      const images = mine.sessions.filter((s) => s.kind === 'image');
      if (images.length) list.insertAdjacentHTML('beforeend', '<h2>Your sessions</h2>');
      for (const s of images.reverse()) {
        const a = document.createElement('a');
        a.href = '#s=' + s.id;
        a.className = 'session-link';
        a.textContent = `${s.settings.class}, ${s.settings.sampler} ${s.settings.steps} steps: ` +
                        `${s.rounds_answered} rounds answered (${new Date(s.updated * 1000).toLocaleString()})`;
        list.appendChild(a);
      }
    } catch (e) { /* a token from another server's store: start afresh */ }
  }
}

$('#start-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const f = ev.target;
  const body = { kind: 'image', class: f.class.value, sampler: f.sampler.value, steps: +f.steps.value,
                 cfg: +f.cfg.value, m: +f.m.value, k: +f.k.value, seed: +f.seed.value };
  $('#start').disabled = true;
  try {
    const r = await api('POST', '/api/sessions', body);
    if (r.token) { state.token = r.token; localStorage.setItem('optidiff.token', r.token); }
    location.hash = '#s=' + r.session.id;
  } catch (e) {
    alert(e.message);
  } finally {
    $('#start').disabled = false;
  }
});

// ---- session view ----------------------------------------------------------------------------

function renderBest(session) {
  const best = session.best;
  if (!best) return;
  $('#best img').src = best.png;
  $('#best figcaption').textContent = best.version === 0 ? 'the start image' : `improved ${best.version}× (last in round ${best.after_round})`;
  const s = session.settings;
  $('#session-info').textContent = `${s.class} · ${s.sampler} ${s.steps} steps · cfg ${s.cfg} · ` +
                                   `${session.rounds_answered} rounds answered`;
}

function renderRound(round) {
  state.round = round;
  state.picked = [];
  const lineSearch = round.kind === 'line_search';
  $('#round-title').textContent = `Round ${round.round} · ` +
      (round.k === 1 ? 'pick the single best image' : `pick the ${round.k} you like best, best first`);
  $('#round-help').textContent = lineSearch
      ? 'Step round: these images try steps of different lengths in the direction your rankings point to. ' +
        '* marks the current best, ** the best image of the last ranking.'
      : 'Click images in order of preference (or drag them into the pick bar); click again to remove.';
  const grid = $('#candidates');
  grid.innerHTML = '';
  for (const img of round.images) {
    const b = document.createElement('button');
    b.type = 'button';
    b.className = 'candidate';
    b.dataset.id = img.id;
    b.draggable = true;
    b.innerHTML = `<img alt="candidate ${img.id}" src="${img.png}"><span class="badge"></span>` +
                  (img.mark ? `<span class="mark" title="${img.mark === 'incumbent' ? 'current best' : 'best of the last ranking'}">` +
                              `${img.mark === 'incumbent' ? '*' : '**'}</span>` : '');
    b.addEventListener('click', () => toggle(img.id));
    b.addEventListener('dragstart', (ev) => ev.dataTransfer.setData('text/plain', 'grid:' + img.id));
    grid.appendChild(b);
  }
  renderPicks();
}

function toggle(id) {
  const i = state.picked.indexOf(id);
  if (i >= 0) state.picked.splice(i, 1);
  else if (state.picked.length < state.round.k) state.picked.push(id);
  else if (state.round.k === 1) state.picked = [id];
  renderPicks();
}

function renderPicks() {
  for (const b of document.querySelectorAll('.candidate')) {
    const pos = state.picked.indexOf(+b.dataset.id);
    b.classList.toggle('picked', pos >= 0);
    b.querySelector('.badge').textContent = pos >= 0 ? String(pos + 1) : '';
  }
  const ol = $('#ranking');
  ol.innerHTML = '';
  state.picked.forEach((id, pos) => {
    const li = document.createElement('li');
    li.draggable = true;
    li.dataset.id = id;
    li.innerHTML = `<img alt="pick ${pos + 1}" src="${state.round.images[id].png}">`;
    li.addEventListener('dragstart', (ev) => ev.dataTransfer.setData('text/plain', 'pick:' + id));
    li.addEventListener('dragover', (ev) => ev.preventDefault());
    li.addEventListener('drop', (ev) => { ev.preventDefault(); ev.stopPropagation(); dropOn(ev, pos); });
    ol.appendChild(li);
  });
  $('#submit').disabled = !state.round || state.picked.length !== state.round.k;
}

// Drag-and-drop: a grid image dropped on the pick bar joins the ranking; a pick dropped on another
// pick moves to its place.
function dropOn(ev, pos) {
  const [from, idText] = ev.dataTransfer.getData('text/plain').split(':');
  const id = +idText;
  const i = state.picked.indexOf(id);
  if (i >= 0) state.picked.splice(i, 1);
  else if (from === 'grid' && state.picked.length >= state.round.k) return;
  state.picked.splice(pos === undefined ? state.picked.length : Math.min(pos, state.picked.length), 0, id);
  renderPicks();
}
$('#ranking').addEventListener('dragover', (ev) => ev.preventDefault());
$('#ranking').addEventListener('drop', (ev) => { ev.preventDefault(); dropOn(ev); });
$('#clear').addEventListener('click', () => { state.picked = []; renderPicks(); });

$('#submit').addEventListener('click', async () => {
  const round = state.round;
  $('#submit').disabled = true;
  setStatus('Saving your answer and generating the next images…', true);
  try {
    const r = await api('POST', `/api/sessions/${state.session}/tell`, { round: round.round, ranking: state.picked });
    renderBest(r.session);
    await nextRound();
    await loadHistory();
    setStatus('');
  } catch (e) {
    setStatus(e.message);
    renderPicks();
  }
});

async function nextRound() {
  const r = await api('POST', `/api/sessions/${state.session}/ask`);
  renderRound(r.round);
}

async function loadHistory() {
  const h = await api('GET', `/api/sessions/${state.session}/history`);
  const box = $('#history');
  box.innerHTML = '';
  const moved = new Set(h.bests.map((b) => b.after_round));
  for (const r of h.rounds) {
    if (!r.chosen_png) continue;
    const div = document.createElement('div');
    div.className = 'history-item' + (moved.has(r.round) ? ' best-change' : '');
    div.title = moved.has(r.round) ? 'the best image changed here' : '';
    div.innerHTML = `<img alt="round ${r.round} first choice" src="${r.chosen_png}">round ${r.round}`;
    box.appendChild(div);
  }
}

$('#export').addEventListener('click', async () => {
  const data = await api('GET', `/api/sessions/${state.session}/export`);
  const url = URL.createObjectURL(new Blob([JSON.stringify(data, null, 1)], { type: 'application/json' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = `optidiff-session-${state.session}.json`;
  a.click();
  URL.revokeObjectURL(url);
});
$('#new-session').addEventListener('click', (ev) => { ev.preventDefault(); location.hash = ''; });

async function showSession(id) {
  $('#start-view').hidden = true;
  $('#session-view').hidden = false;
  state.session = id;
  $('#round-title').textContent = 'Loading…';
  $('#candidates').innerHTML = '';
  setStatus('Loading (the first images of a round take a moment)…', true);
  try {
    const s = await api('GET', `/api/sessions/${id}`);
    renderBest(s.session);
    await nextRound();
    await loadHistory();
    setStatus('');
  } catch (e) {
    setStatus(e.message);
  }
}

async function route() {
  const id = sessionIdFromHash();
  if (id) await showSession(id);
  else await showStart();
}
window.addEventListener('hashchange', route);
route();
