// Validates JSON documents against a JSON Schema (draft 2020-12) with Ajv:
//   node validate_json_schema.js SCHEMA.json DOCUMENT.json...
//   node validate_json_schema.js --compile SCHEMA.json...
// Every *.schema.json beside SCHEMA is loaded too, so a schema may $ref
// another by its $id (docs/schemas). Prints "valid FILE" or each error; exit
// 0 when every document is valid (--compile: every schema compiles in Ajv's
// strict mode), 1 when one is not, 2 on a usage or I/O error.
'use strict';
const fs = require('fs');
const path = require('path');
const Ajv2020 = require('ajv/dist/2020');

const compileOnly = process.argv[2] === '--compile';
const args = process.argv.slice(compileOnly ? 3 : 2);
if (args.length < (compileOnly ? 1 : 2)) {
  console.error('usage: validate_json_schema.js SCHEMA DOCUMENT... | --compile SCHEMA...');
  process.exit(2);
}

// An Ajv holding every schema of the folder of `file` but `file` itself.
function AjvBeside(file) {
  const ajv = new Ajv2020({allErrors: true, strict: true, strictRequired: false});
  const folder = path.dirname(file);
  for (const name of fs.readdirSync(folder).sort()) {
    if (!name.endsWith('.schema.json') || path.resolve(folder, name) === path.resolve(file)) continue;
    ajv.addSchema(JSON.parse(fs.readFileSync(path.join(folder, name), 'utf8')));
  }
  return ajv;
}

function Compile(file) {
  const schema = JSON.parse(fs.readFileSync(file, 'utf8'));
  return AjvBeside(file).compile(schema);
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
