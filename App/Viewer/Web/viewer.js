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
      $('action').textContent = state.action === undefined ? '–' : state.action;
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

  // Axis ticks at round values: steps of 1, 2, 2.5 or 5 × 10^k, at most count + 2 of them, covering [min, max] as
  // tightly as such steps can (then as close to count ticks as they can). Returns the tick values (the first at or below min, the last at or above max) and the
  // decimals that show the step exactly.
  function niceTicks(min, max, count) {
    if (!(max > min)) { min -= 1; max += 1; }
    const exponent = Math.floor(Math.log10((max - min) / Math.max(1, count - 1)));
    let best = null;
    for (let e = exponent - 1; e <= exponent + 1; e++) {
      for (const m of [1, 2, 2.5, 5]) {
        const step = m * Math.pow(10, e);
        const first = Math.floor(min / step + 1e-9), last = Math.ceil(max / step - 1e-9);
        const ticks = last - first + 1, span = (last - first) * step;
        if (ticks >= 3 && ticks <= count + 2 && (best === null || span < best.span - 1e-12 * span || (Math.abs(span - best.span) <= 1e-12 * span && Math.abs(ticks - count) < Math.abs(best.ticks - count)))) {
          best = { step, first, last, ticks, span, decimals: Math.max(0, -e + (m === 2.5 ? 1 : 0)) };
        }
      }
    }
    const values = [];
    for (let k = best.first; k <= best.last; k++) { values.push(Number((k * best.step).toFixed(best.decimals))); }
    return { values, step: best.step, decimals: best.decimals };
  }
  window.RlMemoryViewer = { niceTicks };

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
    if (x1 === x0) { x1 = x0 + 1; }
    const yTicks = niceTicks(Math.min(...points.map((p) => p[1])), Math.max(...points.map((p) => p[1])), 5);
    const y0 = yTicks.values[0], y1 = yTicks.values[yTicks.values.length - 1];
    const X = (x) => left + (x - x0) / (x1 - x0) * (w - left - right);
    const Y = (y) => h - bottom - (y - y0) / (y1 - y0) * (h - top - bottom);
    g.strokeStyle = '#eee';
    g.textAlign = 'right';
    for (const value of yTicks.values) {
      g.beginPath(); g.moveTo(left, Y(value)); g.lineTo(w - right, Y(value)); g.stroke();
      g.fillText(value.toLocaleString('en', { minimumFractionDigits: yTicks.decimals, maximumFractionDigits: yTicks.decimals }), left - 6, Y(value) + 4);
    }
    for (const value of niceTicks(x0, x1, 5).values.filter((v) => v >= x0 && v <= x1)) {
      // Centred under its tick, or flush with the plot's edge where it would not fit.
      const label = value.toLocaleString('en'), half = g.measureText(label).width / 2;
      g.textAlign = X(value) + half > w - 2 ? 'right' : X(value) - half < 2 ? 'left' : 'center';
      g.fillText(label, g.textAlign === 'right' ? w - 2 : g.textAlign === 'left' ? 2 : X(value), h - 8);
    }
    g.textAlign = 'left';
    g.strokeStyle = '#bbb';
    g.beginPath(); g.moveTo(left, top); g.lineTo(left, h - bottom); g.lineTo(w - right, h - bottom); g.stroke();
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
