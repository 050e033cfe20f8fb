// Validates JSON documents against a JSON Schema (draft 2020-12) with Ajv:
//   node validate_json_schema.js SCHEMA.json DOCUMENT.json...
// Prints "valid FILE" or each error; exit 0 when every document is valid,
// 1 when one is not, 2 on a usage or I/O error.
'use strict';
const fs = require('fs');
const Ajv2020 = require('ajv/dist/2020');

if (process.argv.length < 4) {
  console.error('usage: validate_json_schema.js SCHEMA DOCUMENT...');
  process.exit(2);
}
let validate;
try {
  const schema = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  validate = new Ajv2020({allErrors: true, strict: true, strictRequired: false}).compile(schema);
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
