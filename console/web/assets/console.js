// The console's script (console/web/assets/console.html), after render.js:
// overview, runs, one run and policies from govconsole's API, live updates
// by long polling. The bearer token comes from the URL fragment govconsole
// printed (#token=…, never sent to the server as part of a URL), is kept in
// sessionStorage and sent as an Authorization header.
'use strict';
(function () {
  const { el, appendText, plural } = GovRender;
  const TOKEN_KEY = 'govconsole-token';
  const PAGE = 100;
  let generation = 0;

  const fragment = /^#token=([0-9a-f]{64})$/.exec(location.hash);
  if (fragment) {
    sessionStorage.setItem(TOKEN_KEY, fragment[1]);
    history.replaceState(null, '', location.pathname + '#/overview');
  }
  const token = sessionStorage.getItem(TOKEN_KEY);

  async function api(path) {
    const response = await fetch(path, { headers: { Authorization: 'Bearer ' + token }, cache: 'no-store' });
    if (!response.ok) {
      let message = response.status + ' ' + response.statusText;
      try { message = (await response.json()).error || message; } catch (e) { /* not JSON */ }
      throw new Error(message);
    }
    return response;
  }
  async function json(path) { return (await api(path)).json(); }
  async function post(path, body) {
    const response = await fetch(path, {
      method: 'POST', headers: { Authorization: 'Bearer ' + token, 'Content-Type': 'application/json' },
      body: JSON.stringify(body), cache: 'no-store',
    });
    let answer = {};
    try { answer = await response.json(); } catch (e) { /* not JSON */ }
    if (!response.ok) throw new Error(answer.error || response.status + ' ' + response.statusText);
    return answer;
  }

  function utc(seconds) {
    if (typeof seconds !== 'number') return '';
    const date = new Date(seconds * 1000);
    return isNaN(date.getTime()) ? '' : date.toISOString().replace('.000Z', 'Z');
  }
  function ago(ns) { const s = Math.max(0, Math.round((Date.now() * 1e6 - ns) / 1e9)); return s + ' s ago'; }

  // ---- The verdict banner (every view) -----------------------------------

  function showVerdict(report) {
    const banner = document.getElementById('verdict');
    GovRender.verdictHeadline(banner, report);
    banner.appendChild(el('span', 'sub', plural(report.certified, 'record') + ' certified by a signed checkpoint' +
      (report.uncertified ? ', ' + plural(report.uncertified, 'record') + ' after the last checkpoint (not vouched for)' : '')));
  }

  function card(title) {
    const box = el('section', 'card');
    box.appendChild(el('h2', null, title));
    return box;
  }
  function countTable(rows) {
    const table = el('table');
    for (const [name, count] of rows) {
      const tr = el('tr');
      tr.appendChild(appendText(el('td'), name, 200));
      tr.appendChild(el('td', 'count', String(count)));
      table.appendChild(tr);
    }
    if (rows.length === 0) table.appendChild(el('tr')).appendChild(el('td', 'hint', 'none'));
    return table;
  }

  // ---- Views ----------------------------------------------------------------

  async function overview(view) {
    const o = await json('/api/overview');
    showVerdict(o.report);
    const cards = el('div', 'cards');
    const decisions = card('Decisions');
    decisions.appendChild(countTable([['allow', o.verdicts.allow], ['deny', o.verdicts.deny], ['ask', o.verdicts.ask]]));
    cards.appendChild(decisions);

    const perMinute = card('Decisions per minute (the newest hour of activity)');
    const chart = el('div', 'chart');
    let peak = 1;
    for (const m of o.per_minute) peak = Math.max(peak, m.allow + m.deny + m.ask);
    for (const m of o.per_minute) {
      const bar = el('div', 'bar');
      bar.title = utc(m.minute) + ': allow ' + m.allow + ', deny ' + m.deny + ', ask ' + m.ask;
      for (const verdict of ['allow', 'deny', 'ask']) {
        if (m[verdict] === 0) continue;
        const part = el('div', verdict);
        part.style.height = (m[verdict] * 80 / peak) + 'px';
        bar.appendChild(part);
      }
      chart.appendChild(bar);
    }
    perMinute.appendChild(chart);
    if (o.per_minute.length) perMinute.appendChild(el('div', 'hint', utc(o.per_minute[0].minute) + ' … ' + utc(o.per_minute[o.per_minute.length - 1].minute + 60)));
    cards.appendChild(perMinute);

    const denied = card('Top denied programs');
    denied.appendChild(countTable(o.top_denied_programs.map((x) => [x.name, x.count])));
    cards.appendChild(denied);
    const rules = card('Top denying rules');
    rules.appendChild(countTable(o.top_denied_rules.map((x) => [x.name, x.count])));
    cards.appendChild(rules);
    const asks = card('Ask outcomes');
    asks.appendChild(countTable(Object.entries(o.ask_outcomes)));
    cards.appendChild(asks);
    const outcomes = card('Outcomes of executed runs');
    outcomes.appendChild(countTable(o.outcomes.map((x) => [x.name, x.count])));
    cards.appendChild(outcomes);

    const lineage = card('Lineage durability');
    const d = o.durability;
    lineage.appendChild(countTable([
      ['log size', d.log_bytes.toLocaleString('en') + ' bytes'],
      ['last write', ago(d.last_write_ns)],
      ['checkpoints', d.checkpoints],
      ['last checkpoint', d.last_checkpoint ? 'record ' + d.last_checkpoint.seq + ' (covers ' + (d.last_checkpoint.count || 0) + ' records)' : 'none'],
      ['verified end to end', (o.report.ok ? 'yes' : 'NO') + ', ' + ago(o.verified_at_ns) + ' in ' + o.verify_seconds.toFixed(3) + ' s'],
      ['refresh', o.refresh_error ? 'failing: ' + o.refresh_error : 'ok'],
    ]));
    cards.appendChild(lineage);

    const host = card('Enforcement on this host');
    const h = o.host;
    host.appendChild(countTable([
      ['Landlock ABI', h.landlock_abi || 'none'],
      ['cgroup v2', h.cgroup_v2 ? 'mounted' : 'no'],
      ['cgroup v1 controllers', (h.cgroup_v1_controllers || []).join(', ') || 'none'],
      ['seccomp', h.seccomp ? 'yes' : 'no'],
      ['BPF LSM', h.bpf_lsm ? 'active' : 'not active'],
      ['session mechanism', h.session_mechanism],
    ]));
    cards.appendChild(host);
    view.appendChild(cards);
  }

  const FILTERS = ['verdict', 'program', 'user', 'rule', 'exit', 'text', 'since', 'until'];

  async function runs(view, params) {
    const form = el('form', 'filters');
    for (const name of FILTERS) {
      const label = el('label', null, name);
      let input;
      if (name === 'verdict') {
        input = el('select');
        for (const option of ['', 'allow', 'deny', 'ask']) input.appendChild(el('option', null, option)).value = option;
      } else {
        input = el('input');
        input.type = 'search';
        if (name === 'since' || name === 'until') input.placeholder = '2026-12-05, 30m, 7d';
      }
      input.name = name;
      input.value = params.get(name) || '';
      label.appendChild(input);
      form.appendChild(label);
    }
    const apply = el('button', null, 'Filter');
    apply.type = 'submit';
    form.appendChild(apply);
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const next = new URLSearchParams();
      for (const name of FILTERS) if (form.elements[name].value) next.set(name, form.elements[name].value);
      location.hash = '#/runs?' + next.toString();
    });
    form.elements.verdict.addEventListener('change', () => form.requestSubmit());
    view.appendChild(form);

    const query = new URLSearchParams(params);
    const offset = Number(params.get('offset') || 0);
    query.set('limit', PAGE);
    query.set('offset', offset);
    const page = await json('/api/runs?' + query.toString());
    const pager = el('div', 'pager');
    pager.appendChild(el('span', 'hint', page.total === 0 ? 'no run matches' :
      'runs ' + (offset + 1) + '–' + (offset + page.runs.length) + ' of ' + page.total.toLocaleString('en') + ', newest first'));
    for (const [label, to] of [['← newer', offset - PAGE], ['older →', offset + PAGE]]) {
      if (to < 0 || to >= page.total) continue;
      const link = el('a', 'run-link', label);
      const next = new URLSearchParams(params);
      next.set('offset', to);
      link.href = '#/runs?' + next.toString();
      pager.appendChild(link);
    }
    view.appendChild(pager);
    const table = el('table', 'runs');
    const head = el('tr');
    for (const title of ['time (UTC)', 'verdict', 'outcome', 'rule', 'command']) head.appendChild(el('th', null, title));
    table.appendChild(head);
    for (const run of page.runs) {
      const tr = el('tr', 'run-row');
      tr.dataset.run = run.id;
      tr.appendChild(el('td', 'mono', utc(run.time)));
      const verdict = el('td');
      verdict.appendChild(el('span', 'badge ' + run.verdict, run.verdict));
      if (!run.certified) verdict.appendChild(el('span', 'badge uncertified', 'uncertified'));
      if (run.problem) verdict.appendChild(el('span', 'badge deny', 'fails its check'));
      tr.appendChild(verdict);
      tr.appendChild(el('td', null, run.outcome));
      tr.appendChild(appendText(el('td'), run.rules.join(', '), 100));
      tr.appendChild(appendText(el('td', 'cmd'), run.argv.join(' '), 400));
      tr.addEventListener('click', () => { location.hash = '#/run/' + run.id; });
      table.appendChild(tr);
    }
    view.appendChild(table);
  }

  async function runView(view, id) {
    const page = await json('/api/runs/' + id);
    const detail = el('section', null);
    detail.id = 'run-detail';
    GovRender.renderRun(detail, page.run, {
      children: page.children.map((child) => ({ id: child.id, verdict: child.verdict, request: { program: child.program } })),
      parentKnown: page.parent !== null,
      kind: page.kind,
      published: page.published,
    });
    for (const link of detail.querySelectorAll('a.run-link')) link.href = '#/run/' + link.textContent;
    if (page.children_total > page.children.length) {
      detail.appendChild(el('p', null, 'The first ' + page.children.length + ' of ' + page.children_total +
        ' children are listed; the Runs view pages through all of them.'));
    }
    if (page.run.problem) {
      const problem = el('p', 'error');
      problem.id = 'run-problem';
      appendText(problem, 'This run fails its check against the log: ' + page.run.problem, 2000);
      detail.insertBefore(problem, detail.firstChild);
    }
    if (page.inclusion_proof) GovRender.renderInclusion(detail, page.inclusion_proof);
    const exportButton = el('button', null, 'Export the signed lineage bundle');
    exportButton.type = 'button';
    exportButton.id = 'export';
    exportButton.addEventListener('click', async () => {
      try {
        const blob = await (await api('/api/runs/' + id + '/bundle')).blob();
        const link = el('a');
        link.href = URL.createObjectURL(blob);
        link.download = id + '.lineage';
        link.click();
        setTimeout(() => URL.revokeObjectURL(link.href), 10000);
        exportButton.textContent = 'Exported ' + blob.size.toLocaleString('en') + ' bytes';
      } catch (error) {
        exportButton.textContent = 'Export failed: ' + error.message;
      }
    });
    view.appendChild(exportButton);
    view.appendChild(detail);
  }

  async function policies(view) {
    const data = await json('/api/policies');
    for (const policy of data.policies) {
      const box = card('Policy');
      box.dataset.digest = policy.digest;
      const facts = [
        ['name', policy.name + ' ' + policy.version],
        ['bundle digest', policy.digest],
        ['decisions recorded', policy.decisions],
      ];
      if (policy.bundle) {
        facts.push(['signed by', 'key ' + policy.bundle.signer + ' (pinned from ' + policy.bundle.signer_file + ')']);
        facts.push(['bundle', policy.bundle.file + ', built ' + policy.bundle.created + ' by ' + policy.bundle.compiler]);
        facts.push(['rules that decided', policy.coverage.decided + ' of ' + policy.coverage.rules +
          ' (in this log; rules with 0 decisions never decided here)']);
        facts.push(['tests at build', policy.tests
          ? policy.tests.cases + ' test cases passed (' + policy.tests.engine + '); rules exercised: ' +
            policy.tests.exercised + ' of ' + policy.coverage.rules
          : 'unknown (built with --skip-tests or without a TESTS section)']);
      } else {
        facts.push(['signed by', 'unknown: give its bundle with --policy (and the key with --policy-key) to see the signer and every rule']);
      }
      const table_of_facts = el('table', 'fields');
      for (const [name, value] of facts) {
        const tr = el('tr');
        tr.appendChild(el('th', null, name));
        tr.appendChild(appendText(el('td'), String(value), 400));
        table_of_facts.appendChild(tr);
      }
      box.appendChild(table_of_facts);
      const table = el('table', 'runs');
      const head = el('tr');
      const tested = Boolean(policy.tests);
      for (const title of ['rule', 'verdict', 'because', 'decisions'].concat(tested ? ['tested at build'] : [])) {
        head.appendChild(el('th', null, title));
      }
      table.appendChild(head);
      for (const rule of policy.rules) {
        const tr = el('tr');
        tr.appendChild(appendText(el('td', 'mono'), rule.name, 200));
        tr.appendChild(el('td')).appendChild(el('span', 'badge ' + rule.verdict, rule.verdict));
        tr.appendChild(appendText(el('td'), rule.reason, 400));
        tr.appendChild(el('td', 'count', String(rule.decisions)));
        if (tested) tr.appendChild(el('td', null, rule.tested ? 'yes' : 'no case decides it'));
        table.appendChild(tr);
      }
      box.appendChild(table);
      view.appendChild(box);
    }
    if (data.policies.length === 0) view.appendChild(el('p', 'hint', 'no decision recorded yet'));
  }

  // ---- Approvals: govd's waiting asks, answered as the console's uid ---------

  async function approvals(view) {
    const data = await json('/api/approvals');
    if (!data.available) {
      view.appendChild(el('p', 'hint', 'Approvals are off: ' + data.reason + ' (docs/govd.md "Approvals").'));
      return;
    }
    view.appendChild(el('p', 'hint', 'Answering as uid ' + data.uid + '. govd refuses an answer to an ask of your own uid; ' +
      'the answer, who gave it and when go into the lineage record.'));
    if (data.asks.length === 0) view.appendChild(el('p', 'hint', 'no ask is waiting'));
    for (const ask of data.asks) {
      const box = card('Waiting for an answer');
      box.classList.add('ask');
      box.dataset.ask = ask.ask;
      const q = ask.question || {};
      const left = Math.max(0, Math.round((ask.expires_unix_ns / 1e6 - Date.now()) / 1000));
      const fields = el('table', 'fields');
      for (const [name, value] of [
        ['ask', ask.ask],
        ['program', q.program || ''],
        ['command', q.command || ''],
        ['in', q.cwd || ''],
        ['limits', q.limits || ''],
        ['asked by', 'uid ' + ask.asker.uid + (ask.asker.user ? ' (' + ask.asker.user + ')' : '') + ', pid ' + ask.asker.pid + ' (as the kernel reported it to govd)'],
        ['run', ask.run],
        ['time left', left + ' s'],
      ]) {
        const tr = el('tr');
        tr.appendChild(el('th', null, name));
        tr.appendChild(appendText(el('td', 'mono'), String(value), 2000));
        fields.appendChild(tr);
      }
      box.appendChild(fields);
      for (const rule of q.rules || []) box.appendChild(appendText(el('p'), 'rule ' + rule.name + (rule.reason ? ': ' + rule.reason : ''), 400));
      const status = el('p', 'hint');
      for (const [label, approve] of [['Approve', true], ['Refuse', false]]) {
        const button = el('button', approve ? 'approve' : 'refuse', label);
        button.type = 'button';
        button.addEventListener('click', async () => {
          try {
            await post('/api/approvals/' + ask.ask, { approve });
            status.textContent = approve ? 'approved' : 'refused';
            for (const b of box.querySelectorAll('button')) b.disabled = true;
          } catch (error) {
            status.textContent = 'not answered: ' + error.message;
          }
          document.body.dataset.answered = ask.ask + ' ' + status.textContent;
        });
        box.appendChild(button);
      }
      box.appendChild(status);
      view.appendChild(box);
    }
  }

  // ---- Routing and live updates ----------------------------------------------

  let rendering = Promise.resolve();
  function route() {
    rendering = rendering.then(async () => {
      const view = document.getElementById('view');
      const hash = location.hash || '#/overview';
      const [path, query] = hash.slice(1).split('?');
      const params = new URLSearchParams(query || '');
      let name = path.split('/')[1] || 'overview';
      const fresh = el('main', 'page');
      fresh.id = 'view';
      try {
        if (!token) throw new Error('no token: open the address govconsole printed (it ends in #token=…)');
        if (name === 'runs') await runs(fresh, params);
        else if (name === 'run') await runView(fresh, path.split('/')[2] || '');
        else if (name === 'policies') await policies(fresh);
        else if (name === 'approvals') await approvals(fresh);
        else { name = 'overview'; await overview(fresh); }
        if (name !== 'overview') showVerdict((await json('/api/overview')).report);
      } catch (error) {
        fresh.appendChild(el('p', 'error', error.message));
      }
      fresh.dataset.view = name;
      view.replaceWith(fresh);
      for (const link of document.querySelectorAll('#nav a')) link.classList.toggle('active', link.dataset.view === name);
      document.body.dataset.ready = 'true';
    });
    return rendering;
  }

  async function watch() {
    for (;;) {
      try {
        const change = await json('/api/changes?after=' + generation);
        if (generation !== 0 && change.generation !== generation) {
          document.getElementById('live').textContent = 'updated ' + new Date().toISOString().slice(11, 19) + ' UTC';
          if (!/^#\/(run\/|approvals)/.test(location.hash)) await route();
        }
        generation = change.generation;
      } catch (error) {
        document.getElementById('live').textContent = 'live updates: ' + error.message;
        await new Promise((resolve) => setTimeout(resolve, 2000));
      }
    }
  }

  // Asks are not in the log: the approvals page looks again every 3 s and
  // redraws only when the waiting asks changed (not under the reader's eyes).
  setInterval(async () => {
    if (!token || !/^#\/approvals/.test(location.hash)) return;
    try {
      const waiting = (await json('/api/approvals')).asks.map((ask) => ask.ask).join(' ');
      const shown = Array.from(document.querySelectorAll('section.ask')).map((box) => box.dataset.ask).join(' ');
      if (waiting !== shown) route();
    } catch (error) { /* the next look reports it */ }
  }, 3000);

  window.addEventListener('hashchange', route);
  route().then(() => { if (token) watch(); });
})();
