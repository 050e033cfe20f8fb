// The proof viewer's script (console/viewer/assets/viewer.html): renders the
// data document (docs/console.md "Viewer data") embedded in the page. Every
// string from the lineage is untrusted: it reaches the page only as text
// nodes (never as markup), with control, invisible and bidirectional
// characters shown as escapes.
'use strict';
(function () {
  const data = JSON.parse(document.getElementById('gov-lineage').textContent);
  const report = data.report;
  const runs = data.runs;
  const byId = new Map();
  runs.forEach((run, index) => byId.set(run.id, index));
  const ROW = 24;
  const SHOWN_CHARS = 2000;

  // ---- Untrusted text -------------------------------------------------------

  const HIDDEN = /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\ufff9-\ufffb]/g;

  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  // A byte string (docs/request.md "Byte strings"): a string, or
  // {"base64": …} for bytes that are not UTF-8, shown with \xNN escapes.
  function bytesText(value) {
    if (typeof value === 'string') return value;
    if (value && typeof value === 'object' && typeof value.base64 === 'string') {
      let raw;
      try { raw = atob(value.base64); } catch (e) { return '⟨invalid base64⟩'; }
      const bytes = Uint8Array.from(raw, (c) => c.charCodeAt(0));
      const decoder = new TextDecoder('utf-8', { fatal: true });
      let out = '';
      for (let i = 0; i < bytes.length;) {
        const b = bytes[i];
        const size = b < 0x80 ? 1 : (b >= 0xc2 && b < 0xe0) ? 2 : (b >= 0xe0 && b < 0xf0) ? 3 : (b >= 0xf0 && b < 0xf5) ? 4 : 0;
        if (size > 0 && i + size <= bytes.length) {
          try { out += decoder.decode(bytes.subarray(i, i + size)); i += size; continue; } catch (e) { /* not UTF-8 */ }
        }
        out += '\\x' + b.toString(16).padStart(2, '0');
        i += 1;
      }
      return out;
    }
    if (value === undefined || value === null) return '';
    return JSON.stringify(value);
  }

  // Appends `text` to `parent` as text nodes, hidden characters as escapes,
  // long texts cut at SHOWN_CHARS with a button that shows the rest.
  function appendText(parent, text, limit) {
    const max = limit === undefined ? SHOWN_CHARS : limit;
    const whole = String(text);
    const shown = max > 0 && whole.length > max ? whole.slice(0, max) : whole;
    let last = 0;
    shown.replace(HIDDEN, (ch, offset) => {
      if (offset > last) parent.appendChild(document.createTextNode(shown.slice(last, offset)));
      const code = ch.charCodeAt(0);
      const name = code === 0x0a ? '\\n' : code === 0x09 ? '\\t' : code === 0x0d ? '\\r'
        : '\\u{' + code.toString(16).toUpperCase().padStart(4, '0') + '}';
      parent.appendChild(el('span', 'esc', name));
      last = offset + ch.length;
      return ch;
    });
    if (last < shown.length) parent.appendChild(document.createTextNode(shown.slice(last)));
    if (shown.length < whole.length) {
      const more = el('button', 'more', 'show all ' + whole.length.toLocaleString('en') + ' characters');
      more.type = 'button';
      more.addEventListener('click', () => {
        parent.textContent = '';
        appendText(parent, whole, 0);
      });
      parent.appendChild(document.createTextNode(' … '));
      parent.appendChild(more);
    }
    return parent;
  }

  function value(text, limit) { return appendText(el('span', 'value'), text, limit); }

  // ---- Formatting -----------------------------------------------------------

  function plural(n, word) { return n.toLocaleString('en') + ' ' + word + (n === 1 ? '' : 's'); }
  function timeText(ns) {
    if (typeof ns !== 'number' || !isFinite(ns) || ns <= 0) return '';
    const date = new Date(Math.floor(ns / 1e6));
    return isNaN(date.getTime()) ? '' : date.toISOString();
  }
  function requestTime(t) {
    if (typeof t === 'number') { const d = new Date(t * 1000); return isNaN(d.getTime()) ? String(t) : d.toISOString(); }
    return bytesText(t);
  }
  function duration(ns) {
    if (typeof ns !== 'number' || ns < 0) return '';
    if (ns < 1e6) return (ns / 1e3).toFixed(0) + ' µs';
    if (ns < 1e9) return (ns / 1e6).toFixed(1) + ' ms';
    return (ns / 1e9).toFixed(2) + ' s';
  }
  function bytesSize(n) {
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let i = 0;
    while (n >= 1024 && n % 1024 === 0 && i < units.length - 1) { n /= 1024; i += 1; }
    return n + units[i];
  }
  function commandLine(run) {
    const request = run.request || {};
    const words = [bytesText(request.argv0 !== undefined ? request.argv0 : request.program)];
    for (const arg of request.args || []) words.push(bytesText(arg));
    return words.join(' ');
  }
  function programName(run) {
    const program = bytesText((run.request || {}).program);
    return program.slice(program.lastIndexOf('/') + 1) || program || '(unknown program)';
  }
  function outcome(run) {
    if (!run.exec) return run.verdict === 'ask' ? 'not run (ask: ' + (run.ask_answer || 'no answer') + ')' : 'not run';
    const end = run.end;
    if (!end) return run.start ? 'no end record' : 'authorized, not started';
    if (end.exec_error) return 'exec failed: ' + bytesText(end.exec_error);
    if (end.killed_by) return 'killed (' + end.killed_by + ')';
    if (end.exited) return 'exit ' + end.exit_status;
    return 'signal ' + end.signal;
  }

  // ---- Verdict and what vouches for it ---------------------------------------

  function renderVerdict() {
    const banner = document.getElementById('verdict');
    banner.textContent = '';
    if (report.ok) {
      banner.className = 'verdict ok';
      banner.appendChild(document.createTextNode('Verified ✓ ' + report.kind + ' ' + report.log +
        (report.kind === 'bundle' ? ' (root run ' + report.root + ')' : '')));
    } else {
      const failure = report.failure;
      banner.className = 'verdict failed';
      let where = '';
      if (failure.record !== null && failure.record !== undefined) where += 'record ' + failure.record + ', ';
      if (failure.line > 0) where += 'line ' + failure.line + ', offset ' + failure.offset + ': ';
      banner.appendChild(document.createTextNode('FAILED (' + failure.class + '): ' + where));
      appendText(banner, failure.message);
    }
    const sub = el('span', 'sub');
    sub.appendChild(document.createTextNode(bytesText(report.path) + ' — ' +
      plural(report.certified, 'record') + ' certified by a signed checkpoint' +
      (report.uncertified > 0 ? ', ' + plural(report.uncertified, 'record') + ' after the last checkpoint (not vouched for)' : '') +
      '; runs: ' + report.runs + ' (allow ' + report.allow + ', deny ' + report.deny + ', ask ' + report.ask + ')' +
      (report.incomplete.length ? ', incomplete ' + report.incomplete.length : '') +
      (report.bound > 0 ? '; policy: ' + report.bound + ' decisions bound, ' + report.replayed + ' replayed' : '')));
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

  // ---- One run ----------------------------------------------------------------

  function table(section, entries) {
    const t = el('table');
    for (const [name, content] of entries) {
      if (content === undefined || content === null || content === '') continue;
      const tr = el('tr');
      tr.appendChild(el('th', null, name));
      const td = el('td');
      if (content instanceof Node) td.appendChild(content); else td.appendChild(value(content));
      tr.appendChild(td);
      t.appendChild(tr);
    }
    section.appendChild(t);
  }

  function runLink(id) {
    const link = el('a', 'run-link mono', id);
    link.href = '#run=' + id;
    return link;
  }

  function renderRun(index) {
    const run = runs[index];
    const request = run.request || {};
    const detail = document.getElementById('detail');
    detail.textContent = '';
    const title = el('h2');
    title.appendChild(el('span', 'badge ' + run.verdict, run.verdict));
    appendText(title, programName(run), 300);
    detail.appendChild(title);
    if (!run.certified) {
      detail.appendChild(el('p', 'warning', 'This run\'s authorization is not covered by a verified checkpoint: nothing vouches for what is shown.'));
    }

    detail.appendChild(el('h3', null, 'Command'));
    const argv = el('ol', 'argv');
    const words = [request.argv0 !== undefined ? request.argv0 : request.program].concat(request.args || []);
    words.forEach((word, i) => {
      const li = el('li');
      li.appendChild(el('span', 'index', 'argv[' + i + ']'));
      li.appendChild(value(bytesText(word)));
      argv.appendChild(li);
    });
    const user = request.user || {};
    table(detail, [
      ['argv', argv],
      ['program', bytesText(request.program)],
      ['SHA-256', request.sha256],
      ['invoked as', bytesText(request.invoked !== undefined ? request.invoked : request.program)],
      ['interpreter', run.interpreter && bytesText(run.interpreter.path) ? bytesText(run.interpreter.path) + ' ' + run.interpreter.sha256 : ''],
      ['written in session', request.written_in_session ? 'yes' : ''],
      ['working directory', bytesText(request.cwd)],
      ['user', bytesText(user.name) + ' (uid ' + user.uid + ', gid ' + user.gid + ')' +
        ((user.groups || []).length ? ', groups ' + user.groups.map(bytesText).join(', ') : '')],
      ['submitted by', run.submitter ? 'pid ' + run.submitter.pid + ', uid ' + run.submitter.uid + ', gid ' + run.submitter.gid + ' (as the kernel reported to govd)' : ''],
      ['host', bytesText(request.host)],
      ['time', requestTime(request.time)],
      ['context', request.context && Object.keys(request.context).length ? JSON.stringify(request.context) : ''],
      ['environment in clear', envText(request.env)],
      ['environment hashed', (run.env_hashed || []).map(bytesText).join(', ')],
    ]);

    detail.appendChild(el('h3', null, 'Decision'));
    const rules = el('ul', 'argv');
    for (const rule of run.rules || []) {
      const li = el('li');
      li.appendChild(el('span', 'badge ' + rule.verdict, rule.verdict));
      li.appendChild(value(bytesText(rule.name)));
      if (bytesText(rule.reason)) {
        li.appendChild(document.createTextNode(' because '));
        li.appendChild(value(bytesText(rule.reason)));
      }
      rules.appendChild(li);
    }
    const policy = run.policy || {};
    table(detail, [
      ['verdict', run.verdict + (run.exec ? ' — executed' : ' — not executed')],
      ['deciding rules', (run.rules || []).length ? rules : 'none (no rule matched: the default)'],
      ['ask answer', run.ask_answer],
      ['error', run.error],
      ['policy', bytesText(policy.name) + (policy.version !== undefined ? ' ' + bytesText(policy.version) : '') + ' ' + (policy.digest || run.policy_digest || '')],
      ['engine', typeof run.engine === 'string' ? run.engine : JSON.stringify(run.engine)],
    ]);

    detail.appendChild(el('h3', null, 'Obligations and enforcement'));
    const obligations = run.obligations || {};
    const limits = el('ul', 'argv');
    for (const limit of (run.start && run.start.limits) || []) {
      const li = el('li');
      li.appendChild(el('code', null, limit.obligation));
      li.appendChild(document.createTextNode(' '));
      li.appendChild(value(bytesText(limit.value), 300));
      li.appendChild(document.createTextNode(' — '));
      li.appendChild(value(bytesText(limit.mechanism), 300));
      limits.appendChild(li);
    }
    table(detail, [
      ['timeout', obligations.timeout_ms ? duration(obligations.timeout_ms * 1e6) : ''],
      ['memory', obligations.memory_bytes ? bytesSize(obligations.memory_bytes) : ''],
      ['processes', obligations.processes || ''],
      ['network', obligations.network && obligations.network !== 'unset' ? obligations.network : ''],
      ['read', (obligations.read || []).map(bytesText).join(', ')],
      ['write', (obligations.write || []).map(bytesText).join(', ')],
      ['env', (obligations.env || []).map(bytesText).join(', ')],
      ['capabilities', (obligations.capabilities || []).map(bytesText).join(', ')],
      ['enforced', run.start ? limits : (run.exec ? 'no start record' : 'not executed')],
    ]);

    detail.appendChild(el('h3', null, 'Outcome'));
    const end = run.end || {};
    table(detail, [
      ['result', outcome(run)],
      ['pid', run.start ? String(run.start.pid) : ''],
      ['started', run.start ? timeText(run.start.time_unix_ns) : ''],
      ['ended', run.end ? timeText(end.time_unix_ns) : ''],
      ['duration', run.end ? duration(end.duration_ns) : ''],
      ['CPU', run.end ? (end.user_cpu_us / 1000).toFixed(1) + ' ms user, ' + (end.system_cpu_us / 1000).toFixed(1) + ' ms system' : ''],
      ['max RSS', run.end && end.max_rss_kib ? end.max_rss_kib + ' KiB' : ''],
      ['replaced by', end.replaced_by ? runLink(end.replaced_by) : ''],
    ]);

    detail.appendChild(el('h3', null, 'Lineage'));
    const kids = el('ul', 'argv');
    for (const child of children.get(run.id) || []) {
      const li = el('li');
      li.appendChild(el('span', 'badge ' + runs[child].verdict, runs[child].verdict));
      li.appendChild(runLink(runs[child].id));
      li.appendChild(document.createTextNode(' '));
      appendText(li, programName(runs[child]), 200);
      kids.appendChild(li);
    }
    let parent = '';
    if (run.parent) parent = byId.has(run.parent) ? runLink(run.parent) : run.parent + ' (outside this ' + report.kind + ')';
    table(detail, [
      ['run', run.id],
      ['parent', parent || 'none (a root run)'],
      ['children', kids.childNodes.length ? kids : ''],
      ['records', 'authorization ' + run.seq + (run.start ? ', start ' + run.start.seq : '') + (run.end ? ', end ' + run.end.seq : '')],
      ['in the published tree', report.published > run.seq ? (report.kind === 'bundle'
        ? 'yes: chained to the bundle\'s last record, whose inclusion proof leads to the signed tree of ' + plural(report.published, 'record')
        : 'yes: leaf ' + run.seq + ' of the signed tree of ' + plural(report.published, 'record')) : ''],
      ['certified', run.certified ? 'yes, by the verified checkpoint' : 'no'],
    ]);
  }

  function envText(env) {
    if (!env) return '';
    const pairs = Array.isArray(env) ? env : Object.entries(env);
    if (pairs.length === 0) return '';
    const list = el('ul', 'argv');
    for (const [k, v] of pairs) list.appendChild(el('li')).appendChild(value(bytesText(k) + '=' + bytesText(v)));
    return list;
  }

  function select(index, updateHash) {
    selected = index;
    renderRun(index);
    paintRows();
    if (updateHash && location.hash !== '#run=' + runs[index].id) {
      try { history.replaceState(null, '', '#run=' + runs[index].id); } catch (e) { /* an opaque origin */ }
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
  document.body.dataset.ready = 'true';
})();
