// Verifies a Sigstore bundle (v0.3, a DSSE envelope signed by a public key)
// offline with sigstore-js, as a third party would: no transparency log, no
// timestamp authority, the key pinned by the caller.
// usage: node verify_bundle.js BUNDLE.json KEY.pub
// Prints "verified" and exits 0, or prints the error and exits 1.
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const { bundleFromJSON } = require('@sigstore/bundle');
const { toSignedEntity, toTrustMaterial, Verifier } = require('@sigstore/verify');

function main([bundlePath, keyPath]) {
  const bundle = bundleFromJSON(JSON.parse(fs.readFileSync(bundlePath, 'utf8')));
  const key = crypto.createPublicKey(fs.readFileSync(keyPath, 'utf8'));
  const emptyRoot = {
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs: [],
    certificateAuthorities: [],
    ctlogs: [],
    timestampAuthorities: [],
  };
  // The pinned key, whatever hint the bundle names (a hint only).
  const trust = toTrustMaterial(emptyRoot, () => ({ publicKey: key, validFor: () => true }));
  const verifier = new Verifier(trust, { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 });
  verifier.verify(toSignedEntity(bundle));
  const payload = Buffer.from(bundle.content.dsseEnvelope.payload).toString('utf8');
  console.log('verified ' + JSON.parse(payload).predicateType);
}

try {
  main(process.argv.slice(2));
} catch (error) {
  console.log('not verified: ' + (error && error.message ? error.message : String(error)));
  process.exit(1);
}
