'use strict';
// RlMemory viewer: live frames over Server-Sent Events, controls over POST, the learning curve from /api/curve.
(function () {
  const $ = (id) => document.getElementById(id);
  const number = (x, digits) => (Math.round(x * 10 ** digits) / 10 ** digits).toString();

  function showPlayback(paused, speed) {
    document.body.classList.toggle('paused', paused);
    $('pause').textContent = paused ? 'Resume' : 'Pause';
    $('pause').dataset.paused = paused ? 'true' : 'false';
    $('speed').textContent = number(speed, 3) + '×';
  }

  function update(state) {
    if (state.title) {
      $('title').textContent = state.title;
      document.title = state.title + ' · RlMemory viewer';
    }
    if (state.image) {
      $('frame').src = state.image;
      $('frame').dataset.frame = String(state.frame);
      $('frame-number').textContent = String(state.frame);
    }
    if (state.memory) {
      $('memory').src = state.memory;
    }
    $('memory').hidden = !state.hasMemory;
    if (state.episode !== undefined) {
      $('episode').textContent = String(state.episode);
      $('step').textContent = String(state.step) + (state.done ? ' (ended)' : '');
      $('return').textContent = number(state.return, 3);
    }
    if (state.lastReturn !== undefined) {
      $('last-return').textContent = 'return ' + number(state.lastReturn, 3) + ', ' + state.lastLength + ' steps';
    }
    if (state.trainingStep !== undefined) {
      $('training-row').hidden = false;
      $('training-step').textContent = state.trainingStep.toLocaleString('en');
    }
    showPlayback(state.paused, state.speed);
  }

  function connect() {
    const source = new EventSource('/events');
    source.onopen = () => { $('connection').textContent = 'live'; };
    source.onmessage = (event) => update(JSON.parse(event.data));
    source.onerror = () => { $('connection').textContent = 'disconnected (retrying)'; };
  }

  async function control(name) {
    const response = await fetch('/api/control/' + name, { method: 'POST', headers: { 'X-RlMemory-Viewer': '1' } });
    if (response.ok) {
      const state = await response.json();
      showPlayback(state.paused, state.speed);
    }
  }

  $('pause').addEventListener('click', () => control('toggle'));
  $('step-button').addEventListener('click', () => control('step'));
  $('slower').addEventListener('click', () => control('slower'));
  $('faster').addEventListener('click', () => control('faster'));
  document.addEventListener('keydown', (event) => {
    const commands = { ' ': 'toggle', ArrowRight: 'step', n: 'step', ArrowUp: 'faster', '+': 'faster', '=': 'faster', ArrowDown: 'slower', '-': 'slower' };
    const name = commands[event.key];
    if (name && event.target.tagName !== 'BUTTON') {
      event.preventDefault();
      control(name);
    }
  });

  function drawCurve(curve) {
    const canvas = $('curve');
    const g = canvas.getContext('2d');
    const w = canvas.width, h = canvas.height, left = 56, right = 12, top = 12, bottom = 28;
    g.clearRect(0, 0, w, h);
    g.font = '12px sans-serif';
    g.fillStyle = '#777';
    const points = curve.train.concat(curve.eval.map((e) => [e[0], e[1] - e[2]]), curve.eval.map((e) => [e[0], e[1] + e[2]]));
    if (points.length === 0) {
      g.fillText('No learning curve yet (progress.csv has no rows, or this agent has no run folder).', left, h / 2);
      return;
    }
    let x0 = Math.min(...points.map((p) => p[0])), x1 = Math.max(...points.map((p) => p[0]));
    let y0 = Math.min(...points.map((p) => p[1])), y1 = Math.max(...points.map((p) => p[1]));
    if (x1 === x0) { x1 = x0 + 1; }
    if (y1 === y0) { y0 -= 1; y1 += 1; }
    const X = (x) => left + (x - x0) / (x1 - x0) * (w - left - right);
    const Y = (y) => h - bottom - (y - y0) / (y1 - y0) * (h - top - bottom);
    g.strokeStyle = '#bbb';
    g.beginPath(); g.moveTo(left, top); g.lineTo(left, h - bottom); g.lineTo(w - right, h - bottom); g.stroke();
    g.fillText(number(y1, 2), 4, top + 10);
    g.fillText(number(y0, 2), 4, h - bottom);
    g.fillText(x0.toLocaleString('en'), left, h - 8);
    const last = x1.toLocaleString('en') + ' steps';
    g.fillText(last, w - right - g.measureText(last).width, h - 8);
    if (curve.train.length > 0) {
      g.strokeStyle = '#1f77b4'; g.lineWidth = 1.5;
      g.beginPath();
      curve.train.forEach((p, i) => (i === 0 ? g.moveTo(X(p[0]), Y(p[1])) : g.lineTo(X(p[0]), Y(p[1]))));
      g.stroke();
    }
    g.strokeStyle = '#ff7f0e'; g.fillStyle = '#ff7f0e'; g.lineWidth = 1;
    for (const [x, mean, std] of curve.eval) {
      g.beginPath(); g.moveTo(X(x), Y(mean - std)); g.lineTo(X(x), Y(mean + std)); g.stroke();
      g.beginPath(); g.arc(X(x), Y(mean), 3, 0, 2 * Math.PI); g.fill();
    }
    g.fillStyle = '#1f77b4'; g.fillRect(left + 10, top + 4, 14, 2);
    g.fillText('training return', left + 28, top + 9);
    g.fillStyle = '#ff7f0e'; g.beginPath(); g.arc(left + 17, top + 21, 3, 0, 2 * Math.PI); g.fill();
    g.fillText('evaluation (mean ± std)', left + 28, top + 25);
  }

  async function refreshCurve() {
    try {
      const response = await fetch('/api/curve');
      if (response.ok) { drawCurve(await response.json()); }
    } catch (e) {
      // The server is gone; the event stream reports it.
    }
  }

  connect();
  refreshCurve();
  setInterval(refreshCurve, 5000);
})();
