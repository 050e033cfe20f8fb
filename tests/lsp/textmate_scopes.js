// The editor grammar (editors/vscode/syntaxes/gov.tmLanguage.json) tokenized
// with vscode-textmate and vscode-oniguruma, the engine VS Code runs, over
// every policy of the repository:
//   node textmate_scopes.js GRAMMAR.json FILE.gov...
// A small reference lexer of Gov (grammar/Gov.g4's lexical rules) finds the
// comments, strings, numbers with units and keywords of each line; each must
// carry its scope, and no token may carry an `invalid` scope. A negative
// control checks that broken text does get one. Exit 0 when all hold, 1 when
// one does not, 2 on a usage or I/O error.
'use strict';
const fs = require('fs');
const path = require('path');
const oniguruma = require('vscode-oniguruma');
const textmate = require('vscode-textmate');

const KEYWORDS = new Set(['allow', 'deny', 'ask', 'policy', 'version', 'import', 'as', 'const', 'def', 'context',
  'test', 'default', 'when', 'because', 'with', 'if', 'then', 'else', 'exec', 'by', 'and', 'or', 'not', 'in',
  'under', 'matches', 'any', 'all']);
const CONSTANTS = new Set(['true', 'false', 'none']);
const SIZE_UNITS = ['KiB', 'MiB', 'GiB', 'TiB', 'KB', 'MB', 'GB', 'TB', 'B'];
const NUMBER = /^[0-9](?:_?[0-9])*(ms|s|m|h|d|KiB|MiB|GiB|TiB|KB|MB|GB|TB|B)?(?![A-Za-z0-9_])/;

// Lexemes of one line: {kind, start, end, expect}; `state.inComment` carries block comments across lines.
function lexLine(line, state) {
  const out = [];
  let i = 0;
  while (i < line.length) {
    if (state.inComment) {
      const close = line.indexOf('*/', i);
      const end = close < 0 ? line.length : close + 2;
      out.push({kind: 'comment', start: i, end, expect: 'comment.block'});
      if (close >= 0) state.inComment = false;
      i = end;
      continue;
    }
    const rest = line.slice(i);
    const previous = i > 0 ? line[i - 1] : ' ';
    const boundary = !/[A-Za-z0-9_]/.test(previous);
    if (rest.startsWith('//')) {
      out.push({kind: 'comment', start: i, end: line.length, expect: 'comment.line'});
      break;
    }
    if (rest.startsWith('/*')) {
      state.inComment = true;
      const close = line.indexOf('*/', i + 2);
      const end = close < 0 ? line.length : close + 2;
      out.push({kind: 'comment', start: i, end, expect: 'comment.block'});
      if (close >= 0) state.inComment = false;
      i = end;
      continue;
    }
    const quoted = /^([gr]?)"/.exec(boundary ? rest : rest.slice(0, 1) === '"' ? rest : '');
    if (quoted) {
      let j = i + quoted[0].length;
      while (j < line.length && line[j] !== '"') j += line[j] === '\\' ? 2 : 1;
      const end = Math.min(line.length, j + 1);
      const expect = quoted[1] === 'r' ? 'string.regexp' : 'string.quoted';
      out.push({kind: 'string', start: i, end, expect});
      i = end;
      continue;
    }
    const number = boundary ? NUMBER.exec(rest) : null;
    if (number) {
      const unit = number[1];
      const expect = unit === undefined ? 'constant.numeric.integer'
          : SIZE_UNITS.includes(unit) ? 'constant.numeric.size' : 'constant.numeric.duration';
      out.push({kind: 'number', start: i, end: i + number[0].length, expect});
      i += number[0].length;
      continue;
    }
    const word = /^[A-Za-z_][A-Za-z0-9_]*/.exec(rest);
    if (word) {
      // A field after `.` (`program.path`, `context.ticket`) is a name, not a keyword.
      const member = i > 0 && line[i - 1] === '.';
      if (!member && KEYWORDS.has(word[0])) out.push({kind: 'keyword', start: i, end: i + word[0].length, expect: 'keyword.'});
      if (!member && CONSTANTS.has(word[0])) {
        out.push({kind: 'constant', start: i, end: i + word[0].length, expect: 'constant.language'});
      }
      i += word[0].length;
      continue;
    }
    i += 1;
  }
  return out;
}

async function loadGrammar(grammarPath) {
  const wasm = fs.readFileSync(path.join(path.dirname(require.resolve('vscode-oniguruma')), 'onig.wasm'));
  await oniguruma.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength));
  const registry = new textmate.Registry({
    onigLib: Promise.resolve({
      createOnigScanner: (patterns) => new oniguruma.OnigScanner(patterns),
      createOnigString: (text) => new oniguruma.OnigString(text),
    }),
    loadGrammar: async () => textmate.parseRawGrammar(fs.readFileSync(grammarPath, 'utf8'), grammarPath),
  });
  return registry.loadGrammar('source.gov');
}

// Tokenizes `text`; returns the problems found (strings) and counts of checked lexemes by kind.
function check(grammar, text, label) {
  const problems = [];
  const counts = {};
  let ruleStack = textmate.INITIAL;
  const state = {inComment: false};
  text.split(/\r?\n/).forEach((line, lineIndex) => {
    const result = grammar.tokenizeLine(line, ruleStack);
    ruleStack = result.ruleStack;
    const where = (column) => `${label}:${lineIndex + 1}:${column + 1}`;
    for (const token of result.tokens) {
      const invalid = token.scopes.find((scope) => scope.startsWith('invalid'));
      if (invalid) problems.push(`${where(token.startIndex)}: \`${line.slice(token.startIndex, token.endIndex)}\` is ${invalid}`);
    }
    for (const lexeme of lexLine(line, state)) {
      counts[lexeme.kind] = (counts[lexeme.kind] || 0) + 1;
      for (const token of result.tokens) {
        if (token.endIndex <= lexeme.start || token.startIndex >= lexeme.end) continue;
        if (!token.scopes.some((scope) => scope.startsWith(lexeme.expect))) {
          problems.push(`${where(token.startIndex)}: \`${line.slice(token.startIndex, token.endIndex)}\` ` +
                        `(${lexeme.kind}) has scopes ${token.scopes.join(' ')}, expected ${lexeme.expect}*`);
        }
      }
    }
  });
  return {problems, counts};
}

async function main() {
  if (process.argv.length < 4) {
    console.error('usage: textmate_scopes.js GRAMMAR.json FILE.gov...');
    process.exit(2);
  }
  let grammar;
  try {
    grammar = await loadGrammar(process.argv[2]);
  } catch (error) {
    console.error(`${process.argv[2]}: ${error.message}`);
    process.exit(2);
  }
  const totals = {};
  let failed = false;
  for (const file of process.argv.slice(3)) {
    const {problems, counts} = check(grammar, fs.readFileSync(file, 'utf8'), file);
    for (const [kind, n] of Object.entries(counts)) totals[kind] = (totals[kind] || 0) + n;
    for (const problem of problems.slice(0, 20)) console.log(problem);
    if (problems.length > 0) failed = true;
  }
  console.log(`${process.argv.length - 3} files; checked lexemes: ${JSON.stringify(totals)}`);
  for (const kind of ['comment', 'string', 'number', 'keyword', 'constant']) {
    if (!totals[kind]) {
      console.log(`no ${kind} was checked: the files or the reference lexer are wrong`);
      failed = true;
    }
  }
  // Negative control: a number with an unknown unit and a stray character are invalid.
  const control = check(grammar, 'allow x when 10min == $y', 'control');
  if (control.problems.filter((p) => p.includes('invalid')).length !== 2) {
    console.log(`negative control: expected 2 invalid tokens, got ${JSON.stringify(control.problems)}`);
    failed = true;
  }
  const units = check(grammar, 'const t: duration = 1_500ms\nconst m: size = 4GiB', 'units');
  if (units.problems.length > 0 || units.counts.number !== 2) {
    console.log(`units: ${JSON.stringify(units)}`);
    failed = true;
  }
  process.exit(failed ? 1 : 0);
}

main().catch((error) => {
  console.error(error.stack || String(error));
  process.exit(2);
});
