// Validates JSON documents against a JSON Schema with Ajv: draft 2020-12 (gov's
// own schemas in docs/schemas), draft-07, or draft-04 (the SARIF 2.1.0 schema),
// chosen by the schema's `$schema`; `format` keywords are checked (ajv-formats):
//   node validate_json_schema.js SCHEMA.json DOCUMENT.json...
// Prints "valid FILE" or each error; exit 0 when every document is valid,
// 1 when one is not, 2 on a usage or I/O error.
'use strict';
const fs = require('fs');
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

if (process.argv.length < 4) {
  console.error('usage: validate_json_schema.js SCHEMA DOCUMENT...');
  process.exit(2);
}
let validate;
try {
  const schema = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  const ajv = validatorFor(schema);
  addFormats(ajv);
  validate = ajv.compile(schema);
} catch (error) {
  console.error(`schema ${process.argv[2]}: ${error.message}`);
  process.exit(2);
}
let status = 0;
for (const file of process.argv.slice(3)) {
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
