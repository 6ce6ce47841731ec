// SPDX-License-Identifier: GPL-2.0-or-later
// Statistics page: /stats JSON drawn as small SVG bar charts (our own code), each with the same
// numbers as a table for screen readers and copying.
'use strict';

// Horizontal bars: rows [{label, values: [n, …]}], series [{name, cls}] stacked left to right.
function barChart(title, rows, series, unit) {
  const barH = 22, gap = 6, labelW = 190, chartW = 360, width = labelW + chartW + 70;
  const height = Math.max(1, rows.length) * (barH + gap) + gap;
  const max = Math.max(1e-9, ...rows.map((r) => r.values.reduce((a, b) => a + b, 0)));
  const svg = RT.svg('svg', { viewBox: '0 0 ' + width + ' ' + height, class: 'chart', role: 'img',
                              'aria-label': title + ' (chart; the table below has the numbers)' });
  rows.forEach((r, i) => {
    const y = gap + i * (barH + gap);
    const label = r.label.length > 28 ? r.label.slice(0, 27) + '…' : r.label;
    svg.append(RT.svg('text', { x: labelW - 8, y: y + barH * 0.7, 'text-anchor': 'end', class: 'label' }, label));
    let x = labelW;
    r.values.forEach((v, k) => {
      const w = (v / max) * chartW;
      if (w > 0) svg.append(RT.svg('rect', { x, y, width: w, height: barH, class: series[k].cls }));
      x += w;
    });
    const total = r.values.reduce((a, b) => a + b, 0);
    svg.append(RT.svg('text', { x: x + 6, y: y + barH * 0.7, class: 'value' },
                      unit === 's' ? RT.formatSeconds(total) : String(total)));
  });
  return svg;
}

// Columns per day, oldest left: successes below failures.
function dayChart(days) {
  const colW = 18, gap = 4, h = 160, pad = 24;
  const width = Math.max(640, days.length * (colW + gap) + pad * 2);
  const max = Math.max(1, ...days.map((d) => d.count));
  const svg = RT.svg('svg', { viewBox: '0 0 ' + width + ' ' + (h + pad * 2), class: 'chart', role: 'img',
                              'aria-label': 'Tasks per day (chart; the table below has the numbers)' });
  svg.append(RT.svg('line', { x1: pad, y1: h + pad, x2: width - pad, y2: h + pad, class: 'axis' }));
  svg.append(RT.svg('text', { x: pad, y: pad - 8, class: 'value' }, 'max ' + max));
  days.forEach((d, i) => {
    const x = pad + i * (colW + gap);
    const hs = (d.success / max) * h, hf = ((d.count - d.success) / max) * h;
    svg.append(RT.svg('rect', { x, y: h + pad - hs, width: colW, height: hs, class: 'ok' },
                      RT.svg('title', {}, d.label + ': ' + d.success + ' successful')));
    svg.append(RT.svg('rect', { x, y: h + pad - hs - hf, width: colW, height: hf, class: 'bad' },
                      RT.svg('title', {}, d.label + ': ' + (d.count - d.success) + ' failed')));
  });
  if (days.length) {
    svg.append(RT.svg('text', { x: pad, y: h + pad + 16, class: 'label-small' }, days[0].label));
    if (days.length > 1)
      svg.append(RT.svg('text', { x: pad + (days.length - 1) * (colW + gap) + colW, y: h + pad + 16,
                                  'text-anchor': 'end', class: 'label-small' }, days[days.length - 1].label));
  }
  return svg;
}

function table(caption, headers, rows) {
  return RT.el('div', { class: 'table-scroll' },
               RT.el('table', { class: 'numbers' }, RT.el('caption', {}, caption),
                     RT.el('thead', {}, RT.el('tr', {}, ...headers.map((h) => RT.el('th', { scope: 'col' }, h)))),
                     RT.el('tbody', {}, ...rows.map((r) => RT.el('tr', {}, ...r.map((c, i) =>
                       i === 0 ? RT.el('th', { scope: 'row' }, String(c)) : RT.el('td', {}, String(c))))))));
}

function legend() {
  return RT.el('p', { class: 'legend' }, RT.el('span', { class: 'swatch ok' }), ' successful ',
               RT.el('span', { class: 'swatch bad' }), ' failed');
}

function percent(a, b) {
  return b ? ((a * 100) / b).toFixed(1) + ' %' : '–';
}

function successRows(list) {
  return list.map((r) => ({ label: r.label, values: [r.success, r.count - r.success] }));
}

function fill(id, title, list) {
  const node = RT.clear(document.getElementById(id));
  if (!list.length) {
    node.append(RT.el('p', {}, 'No finished task yet.'));
    return;
  }
  node.append(barChart(title, successRows(list), [{ cls: 'ok' }, { cls: 'bad' }]), legend(),
              table(title, ['', 'tasks', 'successful', 'success rate'],
                    list.map((r) => [r.label, r.count, r.success, percent(r.success, r.count)])));
}

document.addEventListener('DOMContentLoaded', async () => {
  const r = await RT.request('GET', 'stats', { Accept: 'application/json' });
  if (r.status !== 200) {
    RT.say(document.getElementById('stats-message'), 'Cannot read the statistics: ' + RT.describe(r.status, r.text),
           'error');
    return;
  }
  const s = JSON.parse(r.text);
  const t = (s.totals && s.totals[0]) || { count: 0, success: 0 };
  document.getElementById('total-count').textContent = t.count;
  document.getElementById('total-success').textContent = t.success;
  document.getElementById('success-rate').textContent = percent(t.success, t.count);

  const days = (s.days || []).slice().reverse();
  const dayNode = RT.clear(document.getElementById('days'));
  if (days.length)
    dayNode.append(dayChart(days), legend(),
                   table('Tasks per day', ['day', 'tasks', 'successful'], days.map((d) => [d.label, d.count, d.success])));
  else dayNode.append(RT.el('p', {}, 'No finished task yet.'));

  const stages = [['analyze', 'Analyzing crash data'], ['prepare', 'Preparing the environment'],
                  ['run', 'Generating the backtrace'], ['total', 'Whole task']];
  const d = s.durations || {};
  const durRows = stages.map(([k, label]) => ({ label, values: [(d[k] || {}).median || 0] }));
  const p95Rows = stages.map(([k, label]) => ({ label, values: [(d[k] || {}).p95 || 0] }));
  RT.clear(document.getElementById('durations')).append(
    RT.el('h3', {}, 'Median'), barChart('Median duration per stage', durRows, [{ cls: 'ok' }], 's'),
    RT.el('h3', {}, '95th percentile'), barChart('95th percentile of the duration per stage', p95Rows, [{ cls: 'warn' }], 's'),
    table('Duration per stage', ['stage', 'median', '95th percentile'],
          stages.map(([k, label]) => [label, RT.formatSeconds((d[k] || {}).median || 0),
                                      RT.formatSeconds((d[k] || {}).p95 || 0)])));

  fill('per-release', 'Tasks per release', s.releases || []);
  fill('per-arch', 'Tasks per architecture', s.arches || []);
  fill('packages', 'Most retraced packages', s.packages || []);
  const missing = s.missing_build_ids || [];
  const mNode = RT.clear(document.getElementById('missing'));
  if (missing.length)
    mNode.append(barChart('Build-ids most often missing', missing.map((m) => ({ label: m.label, values: [m.count] })),
                          [{ cls: 'bad' }]),
                 table('Build-ids most often missing', ['build-id', 'tasks'], missing.map((m) => [m.label, m.count])));
  else mNode.append(RT.el('p', {}, 'No build-id was missing.'));
  // Crash buckets: successful crashes with one duplicate hash (no task ids: this page is public).
  const buckets = s.buckets || [];
  const bNode = RT.clear(document.getElementById('buckets'));
  const day = (sec) => new Date(sec * 1000).toISOString().slice(0, 16).replace('T', ' ');
  if (buckets.length)
    bNode.append(table('Largest crash buckets (duplicate hash compatible with ABRT)',
                       ['bucket', 'crashes', 'first seen', 'last seen', 'releases', 'package versions'],
                       buckets.map((b) => [b.hash.slice(0, 12), b.count, day(b.first_seen), day(b.last_seen),
                                           b.releases.join(', '), b.packages.join(', ')])));
  else bNode.append(RT.el('p', {}, 'No crash bucket yet.'));
  document.getElementById('stats-view').hidden = false;
  document.getElementById('stats-view').dataset.loaded = 'yes';
});
