// Validates a credential against the 1EdTech JSON Schemas it names in `credentialSchema`
// (type 1EdTechJsonSchemaValidator2019: JSON Schema Draft 2019-09), with Ajv, offline: the
// schemas are the portal's vendored copies (transfers/certificates/schemas/, README there says
// where each came from); a credential naming any other schema is an error. The credentials a
// CLR holds (credentialSubject.verifiableCredential) are validated against theirs as well.
//
// Input (stdin, or the file named as the first argument): the credential JSON.
// Output (stdout): {"valid": true|false, "errors": [...]} (each error: "<where>: <path> <message>").
import {readFileSync} from 'node:fs';

import Ajv2019 from 'ajv/dist/2019.js';
import addFormats from 'ajv-formats';

const SCHEMA_DIR = new URL('../../transfers/certificates/schemas/', import.meta.url);
const SCHEMAS = new Map([
  ['https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_achievementcredential_schema.json',
    'ob_v3p0_achievementcredential_schema.json'],
  ['https://purl.imsglobal.org/spec/clr/v2p0/schema/json/clr_v2p0_clrcredential_schema.json',
    'clr_v2p0_clrcredential_schema.json'],
]);
const VALIDATOR_TYPE = '1EdTechJsonSchemaValidator2019';

// The 1EdTech schemas declare "$schema": ".../draft/2019-09/schema#" (with the empty fragment)
// and use tuple "items"; strict mode would refuse both, the draft itself allows them.
const ajv = new Ajv2019({allErrors: true, strict: false, validateSchema: false});
addFormats(ajv);
const compiled = new Map();

function validatorFor(id) {
  if(!compiled.has(id)) {
    const file = SCHEMAS.get(id);
    if(file === undefined) {
      throw new Error(`Schema not served offline: ${id}`);
    }
    const schema = JSON.parse(readFileSync(new URL(file, SCHEMA_DIR), 'utf8'));
    compiled.set(id, ajv.compile(schema));
  }
  return compiled.get(id);
}

function check(credential, where, errors) {
  const entries = [credential?.credentialSchema ?? []].flat()
    .filter(entry => entry?.type === VALIDATOR_TYPE);
  if(entries.length === 0) {
    errors.push(`${where}: no ${VALIDATOR_TYPE} credentialSchema`);
  }
  for(const entry of entries) {
    const validate = validatorFor(entry.id);
    if(!validate(credential)) {
      for(const e of validate.errors) {
        errors.push(`${where}: ${e.instancePath || '/'} ${e.message}`);
      }
    }
  }
  const held = credential?.credentialSubject?.verifiableCredential;
  if(held !== undefined) {
    [held].flat().forEach((inner, i) => check(inner, `${where}/verifiableCredential/${i}`, errors));
  }
}

let verdict;
try {
  const credential = JSON.parse(readFileSync(process.argv[2] ?? 0, 'utf8'));
  const errors = [];
  check(credential, 'credential', errors);
  verdict = {valid: errors.length === 0, errors};
} catch(e) {
  verdict = {valid: false, errors: [String(e.message ?? e)]};
}
process.stdout.write(JSON.stringify(verdict) + '\n');
