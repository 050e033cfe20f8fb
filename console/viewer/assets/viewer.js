// The proof viewer's script (console/viewer/assets/viewer.html), after
// render.js: renders the data document (docs/console.md "Viewer data")
// embedded in the page.
'use strict';
// The data: base64 of zlib-deflated JSON, inflated by the browser itself.
// `gov-lineage` holds the document with each run's summary; the complete
// runs are in `gov-runs` elements of `runs_per_chunk` runs each, inflated
// when a run of theirs is first selected.
async function govInflate(element) {
  const raw = atob(element.textContent.trim());
  const bytes = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i += 1) bytes[i] = raw.charCodeAt(i);
  const inflated = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('deflate'));
  return new Response(inflated).text();
}

async function govLineageData() {
  const json = await govInflate(document.getElementById('gov-lineage'));
  performance.mark('gov-inflated');
  const data = JSON.parse(json);
  performance.mark('gov-parsed');
  return data;
}

govLineageData().then((data) => {
  const report = data.report;
  const runs = data.runs;  // summaries; fullRun(index) has the rest
  const byId = new Map();
  runs.forEach((run, index) => byId.set(run.id, index));
  const ROW = 24;
  const { el, bytesText, appendText, value, plural, duration, commandLine, programName, outcome } = GovRender;

  // ---- Verdict and what vouches for it ---------------------------------------

  function renderVerdict() {
    const banner = document.getElementById('verdict');
    GovRender.verdictHeadline(banner, report);
    const sub = el('span', 'sub');
    sub.appendChild(document.createTextNode(bytesText(report.path) + ' — ' +
      plural(report.certified, 'record') + ' certified by a signed checkpoint' +
      (report.uncertified > 0 ? ', ' + plural(report.uncertified, 'record') + ' after the last checkpoint (not vouched for)' : '') +
      '; runs: ' + report.runs + ' (allow ' + report.allow + ', deny ' + report.deny + ', ask ' + report.ask + ')' +
      (report.incomplete.length ? ', incomplete ' + report.incomplete.length : '') +
      (report.bound > 0 ? '; policy: ' + plural(report.bound, 'decision') + ' bound, ' + report.replayed + ' replayed' : '')));
    banner.appendChild(sub);
    document.title = (report.ok ? '✓ ' : '✗ ') + 'gov proof viewer';
  }

  function renderSummary() {
    const summary = document.getElementById('summary');
    const keys = el('div');
    keys.appendChild(el('h2', null, 'Pinned keys'));
    const keyList = el('ul');
    for (const key of data.keys) {
      const item = el('li');
      item.appendChild(el('code', null, key.id));
      item.appendChild(document.createTextNode(' ' + key.role + ' key from '));
      item.appendChild(value(key.file));
      keyList.appendChild(item);
    }
    keys.appendChild(keyList);
    summary.appendChild(keys);

    const checkpoints = el('div');
    checkpoints.appendChild(el('h2', null, 'Checkpoints'));
    const facts = el('ul');
    facts.appendChild(el('li', null, plural(report.checkpoints, 'checkpoint') + ', ' +
      plural(report.signatures_checked, 'signature') + ' checked'));
    if (data.signed_by) {
      const item = el('li', null, 'the last certified checkpoint (record ' + data.signed_by.seq + ', covering ' +
        plural(data.signed_by.count, 'record') + ' before it) is signed by ');
      item.appendChild(el('code', null, data.signed_by.id));
      facts.appendChild(item);
    }
    if (report.published > 0) {
      facts.appendChild(el('li', null, 'published: the signed checkpoint note\'s tree of ' + plural(report.published, 'record') +
        (report.kind === 'bundle' ? ' includes the bundle\'s last record (inclusion proof of ' +
          plural((data.bundle && data.bundle.proof ? data.bundle.proof.length : 0), 'hash') + '), and the hash chain links every earlier record to it'
          : ' is this log\'s, and so are its tiles')));
    } else {
      facts.appendChild(el('li', null, 'no signed checkpoint note'));
    }
    for (const witness of report.witnessed_by || []) facts.appendChild(el('li', null, 'witnessed by ' + witness));
    if (data.withheld > 0) facts.appendChild(el('li', null, plural(data.withheld, 'record') + ' of other runs shown by their HEAD only (bodies withheld)'));
    if (data.unreadable.length > 0) {
      const item = el('li', 'warning', plural(data.unreadable_count, 'line') + ' that do not parse: ');
      for (const bad of data.unreadable) {
        item.appendChild(document.createTextNode(' line ' + bad.line + ' ('));
        appendText(item, bad.reason, 200);
        item.appendChild(document.createTextNode(')'));
      }
      facts.appendChild(item);
    }
    checkpoints.appendChild(facts);
    if (data.note) {
      const note = el('details');
      note.appendChild(el('summary', null, 'signed checkpoint note'));
      note.appendChild(el('pre', 'mono', data.note));
      checkpoints.appendChild(note);
    }
    if (data.checkpoints.length > 0) {
      const list = el('details');
      list.appendChild(el('summary', null, 'the last ' + plural(data.checkpoints.length, 'checkpoint')));
      const table = el('table');
      for (const cp of data.checkpoints.slice().reverse()) {
        const tr = el('tr');
        tr.appendChild(el('td', 'mono', 'record ' + cp.seq));
        tr.appendChild(el('td', null, 'covers ' + plural(cp.count, 'record') + ', ' + plural(cp.runs, 'run') +
          ', key hint ' + (cp.key || '(none)') + (cp.certified ? '' : ' — not certified')));
        table.appendChild(tr);
      }
      list.appendChild(table);
      checkpoints.appendChild(list);
    }
    summary.appendChild(checkpoints);
  }

  // ---- The run tree (a virtualised list) -----------------------------------

  const children = new Map();
  const roots = [];
  for (let i = 0; i < runs.length; i += 1) {
    const parent = runs[i].parent;
    if (parent && byId.has(parent) && byId.get(parent) < i) {
      const list = children.get(parent);
      if (list) list.push(i); else children.set(parent, [i]);
    } else {
      roots.push(i);
    }
  }
  const depthOf = new Int32Array(runs.length);
  const collapsed = new Set();
  let rows = [];       // run indices in display order
  let selected = -1;

  function flatten() {
    const verdict = document.getElementById('filter-verdict').value;
    const text = document.getElementById('filter-text').value.toLowerCase();
    const out = [];
    const stack = [];
    for (let r = roots.length - 1; r >= 0; r -= 1) stack.push([roots[r], 0]);
    const filtering = verdict !== '' || text !== '';
    while (stack.length > 0) {
      const [index, depth] = stack.pop();
      const run = runs[index];
      depthOf[index] = depth;
      if (!filtering || ((verdict === '' || run.verdict === verdict) &&
          (text === '' || commandLine(run).toLowerCase().includes(text) ||
           bytesText((run.request || {}).program).toLowerCase().includes(text)))) {
        out.push(index);
      }
      const kids = children.get(run.id);
      if (kids && (filtering || !collapsed.has(index))) {
        for (let k = kids.length - 1; k >= 0; k -= 1) stack.push([kids[k], depth + 1]);
      }
    }
    rows = out;
    document.getElementById('filter-count').textContent =
      filtering ? rows.length.toLocaleString('en') + ' of ' + plural(runs.length, 'run') : plural(runs.length, 'run');
    document.getElementById('rows-inner').style.height = (rows.length * ROW) + 'px';
    paintRows();
  }

  function paintRows() {
    const box = document.getElementById('rows');
    const inner = document.getElementById('rows-inner');
    const first = Math.max(0, Math.floor(box.scrollTop / ROW) - 10);
    const last = Math.min(rows.length, Math.ceil((box.scrollTop + box.clientHeight) / ROW) + 10);
    inner.textContent = '';
    for (let position = first; position < last; position += 1) {
      const index = rows[position];
      const run = runs[index];
      const row = el('div', 'row' + (index === selected ? ' selected' : ''));
      row.style.top = (position * ROW) + 'px';
      row.style.paddingLeft = (4 + depthOf[index] * 16) + 'px';
      row.dataset.run = run.id;
      row.setAttribute('role', 'treeitem');
      const kids = children.get(run.id);
      const toggle = el('span', 'toggle', kids ? (collapsed.has(index) ? '▸' : '▾') : '');
      if (kids) {
        toggle.addEventListener('click', (event) => {
          event.stopPropagation();
          if (collapsed.has(index)) collapsed.delete(index); else collapsed.add(index);
          flatten();
        });
      }
      row.appendChild(toggle);
      row.appendChild(el('span', 'badge ' + run.verdict, run.verdict));
      if (!run.certified) row.appendChild(el('span', 'badge uncertified', 'uncertified'));
      row.appendChild(appendText(el('span', 'cmd'), commandLine(run), 300));
      row.appendChild(el('span', 'meta', outcome(run) + (run.end && run.end.duration_ns !== undefined ? ' · ' + duration(run.end.duration_ns) : '')));
      row.addEventListener('click', () => select(index, true));
      inner.appendChild(row);
    }
  }

  // The complete run at `index`, from its chunk (inflated once).
  const chunkElements = new Map();
  for (const element of document.querySelectorAll('script.gov-runs')) chunkElements.set(Number(element.dataset.first), element);
  const chunks = new Map();
  async function fullRun(index) {
    const first = index - (index % data.runs_per_chunk);
    if (!chunks.has(first)) {
      const element = chunkElements.get(first);
      chunks.set(first, element ? govInflate(element).then((json) => JSON.parse(json)) : Promise.reject(new Error('no element holds run ' + index)));
    }
    const run = (await chunks.get(first))[index - first];
    if (!run || run.id !== runs[index].id) throw new Error('the page\'s run ' + runs[index].id + ' is not in its chunk');
    return run;
  }

  function select(index, updateHash) {
    selected = index;
    const summary = runs[index];
    const detail = document.getElementById('detail');
    delete detail.dataset.run;
    fullRun(index).then((run) => {
      if (selected !== index) return;
      GovRender.renderRun(detail, run, {
        children: (children.get(run.id) || []).map((child) => runs[child]),
        parentKnown: byId.has(run.parent),
        kind: report.kind,
        published: report.published,
      });
      detail.dataset.run = run.id;
    }).catch((error) => {
      if (selected !== index) return;
      detail.textContent = '';
      detail.appendChild(el('p', 'warning', 'This run cannot be read from the page: ' + error.message));
      detail.dataset.run = summary.id;
    });
    paintRows();
    if (updateHash && location.hash !== '#run=' + summary.id) {
      try { history.replaceState(null, '', '#run=' + summary.id); } catch (e) { /* an opaque origin */ }
    }
  }

  function selectFromHash() {
    const match = /^#run=([0-9a-f]{32})$/.exec(location.hash);
    if (!match || !byId.has(match[1])) return;
    const index = byId.get(match[1]);
    let ancestor = runs[index].parent;
    while (ancestor && byId.has(ancestor)) { collapsed.delete(byId.get(ancestor)); ancestor = runs[byId.get(ancestor)].parent; }
    flatten();
    const position = rows.indexOf(index);
    if (position >= 0) {
      const box = document.getElementById('rows');
      if (position * ROW < box.scrollTop || position * ROW > box.scrollTop + box.clientHeight - ROW) box.scrollTop = position * ROW - ROW * 3;
    }
    select(index, false);
  }

  renderVerdict();
  renderSummary();
  document.getElementById('rows').addEventListener('scroll', () => window.requestAnimationFrame(paintRows));
  window.addEventListener('resize', paintRows);
  document.getElementById('filter-verdict').addEventListener('change', flatten);
  document.getElementById('filter-text').addEventListener('input', flatten);
  window.addEventListener('hashchange', selectFromHash);
  flatten();
  if (location.hash) selectFromHash();
  performance.mark('gov-ready');
  document.body.dataset.ready = 'true';
}).catch((error) => {
  const banner = document.getElementById('verdict');
  banner.className = 'verdict failed';
  banner.textContent = 'This page\'s data cannot be read: ' + error.message;
  document.body.dataset.ready = 'error';
});
