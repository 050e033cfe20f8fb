// Shared by the proof viewer and the console (console/viewer/assets): how
// lineage is shown. Every string from the lineage is untrusted: it reaches
// the page only as text nodes (never as markup), with control, invisible and
// bidirectional characters shown as escapes.
'use strict';
const GovRender = (function () {
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

  // Renders everything recorded about `run` into `detail`. `context`:
  // children (the child runs), parentKnown (the parent is in the same
  // file), kind ("log" | "bundle"), published (the signed tree's size).
  function renderRun(detail, run, context) {
    const request = run.request || {};
    detail.textContent = '';
    detail.classList.add('run-view');
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
      ['answered by', run.approval ? (run.approval.by_uid >= 0 ? 'uid ' + run.approval.by_uid + (bytesText(run.approval.by_user) ? ' (' + bytesText(run.approval.by_user) + ')' : '') : 'nobody (timed out)') + ', ask ' + run.approval.ask + ', as govd recorded it' : ''],
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
      ['create', (obligations.create || []).map(bytesText).join(', ')],
      ['tmp', obligations.tmp || ''],
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
    for (const child of context.children) {
      const li = el('li');
      li.appendChild(el('span', 'badge ' + child.verdict, child.verdict));
      li.appendChild(runLink(child.id));
      li.appendChild(document.createTextNode(' '));
      appendText(li, programName(child), 200);
      kids.appendChild(li);
    }
    let parent = '';
    if (run.parent) parent = context.parentKnown ? runLink(run.parent) : run.parent + ' (outside this ' + context.kind + ')';
    table(detail, [
      ['run', run.id],
      ['parent', parent || 'none (a root run)'],
      ['children', kids.childNodes.length ? kids : ''],
      ['records', 'authorization ' + run.seq + (run.start ? ', start ' + run.start.seq : '') + (run.end ? ', end ' + run.end.seq : '')],
      ['in the published tree', context.published > run.seq ? (context.kind === 'bundle'
        ? 'yes: chained to the bundle\'s last record, whose inclusion proof leads to the signed tree of ' + plural(context.published, 'record')
        : 'yes: leaf ' + run.seq + ' of the signed tree of ' + plural(context.published, 'record')) : ''],
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

  // The verdict in govverify's words into `banner` (its class says which):
  // "Verified ✓ log <id>" or "FAILED (<class>): record N, line L, offset O: <reason>".
  function verdictHeadline(banner, report) {
    banner.textContent = '';
    if (report.ok) {
      banner.className = 'verdict ok';
      banner.appendChild(document.createTextNode('Verified ✓ ' + report.kind + ' ' + report.log +
        (report.kind === 'bundle' ? ' (root run ' + report.root + ')' : '')));
      return;
    }
    const failure = report.failure;
    banner.className = 'verdict failed';
    let where = '';
    if (failure.record !== null && failure.record !== undefined) where += 'record ' + failure.record + ', ';
    if (failure.line > 0) where += 'line ' + failure.line + ', offset ' + failure.offset + ': ';
    banner.appendChild(document.createTextNode('FAILED (' + failure.class + '): ' + where));
    appendText(banner, failure.message);
  }

  // RFC 9162 §2.1.3.2 in the browser (WebCrypto): does `proof` lead from
  // the leaf hash to the root? Indices stay below 2^53 (no 32-bit bit ops).
  async function inclusionHolds(proof) {
    const bytes = (hex) => Uint8Array.from(hex.match(/../g) || [], (pair) => parseInt(pair, 16));
    const hex = (buffer) => Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, '0')).join('');
    const node = async (left, right) => {
      const input = new Uint8Array(65);
      input[0] = 1;
      input.set(left, 1);
      input.set(right, 33);
      return new Uint8Array(await crypto.subtle.digest('SHA-256', input));
    };
    let fn = proof.leaf_index, sn = proof.tree_size - 1;
    let r = bytes(proof.leaf_hash);
    for (const sibling of proof.proof.map(bytes)) {
      if (sn === 0) return false;
      if (fn % 2 === 1 || fn === sn) {
        r = await node(sibling, r);
        while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
      } else {
        r = await node(r, sibling);
      }
      fn = Math.floor(fn / 2);
      sn = Math.floor(sn / 2);
    }
    return sn === 0 && hex(r) === proof.root;
  }

  // The inclusion proof of a run's authorization record, checked here.
  function renderInclusion(container, proof) {
    container.appendChild(el('h3', null, 'Inclusion proof'));
    const hashes = el('ol', 'argv');
    for (const hash of proof.proof) hashes.appendChild(el('li', 'mono', hash));
    const verdict = el('span', 'hint', 'checking…');
    verdict.id = 'inclusion-verdict';
    table(container, [
      ['leaf', 'record ' + proof.leaf_index + ' of the signed tree of ' + plural(proof.tree_size, 'record')],
      ['leaf hash', proof.leaf_hash],
      ['root', proof.root],
      ['path', hashes],
      ['checked in this browser', verdict],
    ]);
    const done = (text, ok) => { verdict.textContent = text; verdict.className = ok ? '' : 'warning'; };
    if (!window.crypto || !crypto.subtle) return done('not possible here (no WebCrypto)', false);
    inclusionHolds(proof).then((ok) => done(ok ? '✓ the path leads from the leaf to the root' : '✗ the path does not lead to the root', ok),
      (error) => done('✗ ' + error.message, false));
  }

  return { el, bytesText, appendText, value, plural, timeText, duration, commandLine, programName, outcome, renderRun,
    renderInclusion, inclusionHolds, verdictHeadline };
})();
