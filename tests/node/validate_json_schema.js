// Validates JSON documents against a JSON Schema with Ajv: draft 2020-12 (gov's
// own schemas in docs/schemas), draft-07, or draft-04 (the SARIF 2.1.0 schema),
// chosen by the schema's `$schema`; `format` keywords are checked (ajv-formats):
//   node validate_json_schema.js SCHEMA.json DOCUMENT.json...
//   node validate_json_schema.js --compile SCHEMA.json...
// Every *.schema.json beside SCHEMA is loaded too, so a schema may $ref
// another by its $id (docs/schemas). Prints "valid FILE" or each error; exit
// 0 when every document is valid (--compile: every schema compiles in Ajv's
// strict mode), 1 when one is not, 2 on a usage or I/O error.
'use strict';
const fs = require('fs');
const path = require('path');
const addFormats = require('ajv-formats');

// The Ajv class for the schema's draft, and its options.
function validatorFor(schema) {
  const draft = String(schema.$schema || '');
  const options = {allErrors: true, strict: true, strictRequired: false};
  if (draft.includes('draft-04')) {
    // The published SARIF 2.1.0 schema has a `pattern` (a language tag) that is
    // not a valid regular expression under the `u` flag Ajv uses by default.
    const AjvDraft04 = require('ajv-draft-04');
    return new AjvDraft04({...options, unicodeRegExp: false});
  }
  if (draft.includes('draft-07') || draft.includes('draft-06')) return new (require('ajv').default)(options);
  const Ajv2020 = require('ajv/dist/2020');
  return new Ajv2020(options);
}

const compileOnly = process.argv[2] === '--compile';
const args = process.argv.slice(compileOnly ? 3 : 2);
if (args.length < (compileOnly ? 1 : 2)) {
  console.error('usage: validate_json_schema.js SCHEMA DOCUMENT... | --compile SCHEMA...');
  process.exit(2);
}

// An Ajv for `schema` (read from `file`) with formats; for gov's own draft
// 2020-12 schemas it also holds every other schema of the folder of `file`.
function AjvBeside(file, schema) {
  const ajv = validatorFor(schema);
  addFormats(ajv);
  if (!String(schema.$schema || '').includes('2020-12')) return ajv;
  const folder = path.dirname(file);
  for (const name of fs.readdirSync(folder).sort()) {
    if (!name.endsWith('.schema.json') || path.resolve(folder, name) === path.resolve(file)) continue;
    ajv.addSchema(JSON.parse(fs.readFileSync(path.join(folder, name), 'utf8')));
  }
  return ajv;
}

function Compile(file) {
  const schema = JSON.parse(fs.readFileSync(file, 'utf8'));
  return AjvBeside(file, schema).compile(schema);
}

if (compileOnly) {
  let status = 0;
  for (const file of args) {
    try {
      Compile(file);
      console.log(`compiles ${file}`);
    } catch (error) {
      console.log(`invalid schema ${file}: ${error.message}`);
      status = 1;
    }
  }
  process.exit(status);
}

let validate;
try {
  validate = Compile(args[0]);
} catch (error) {
  console.error(`schema ${args[0]}: ${error.message}`);
  process.exit(2);
}
let status = 0;
for (const file of args.slice(1)) {
  let document;
  try {
    document = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    console.error(`${file}: ${error.message}`);
    process.exit(2);
  }
  if (validate(document)) {
    console.log(`valid ${file}`);
  } else {
    status = 1;
    for (const error of validate.errors) console.log(`invalid ${file}: ${error.instancePath || '/'} ${error.message}`);
  }
}
process.exit(status);
