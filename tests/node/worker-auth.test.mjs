// Unit tests of hosts/server/auth.mjs: HS256 secrets, RS256/ES256/EdDSA via a
// JWKS served over HTTP, and the attacks a bearer-token check must refuse.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { SignJWT, UnsecuredJWT, generateKeyPair, exportJWK, exportSPKI } from 'jose';
import { createVerifier, signDevToken, AuthError } from '../../hosts/server/auth.mjs';

const SECRET = 'test-secret-0123456789abcdef-0123456789';
const enc = new TextEncoder();
const now = () => Math.floor(Date.now() / 1000);

/** Signs an HS256 token; `over` replaces claims (undefined removes one). */
async function hs(over = {}, { secret = SECRET, header = {} } = {}) {
  const claims = { sub: 'alice', aud: 'authenticated', role: 'authenticated', iat: now(), exp: now() + 600, ...over };
  for (const k of Object.keys(claims)) if (claims[k] === undefined) delete claims[k];
  return new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT', ...header })
    .sign(typeof secret === 'string' ? enc.encode(secret) : secret);
}

/** Asserts `promise` rejects with an unauthorized AuthError whose message matches. */
async function refused(promise, message, code = 'unauthorized') {
  await assert.rejects(promise, (e) => {
    assert.ok(e instanceof AuthError, `expected AuthError, got ${e?.name}: ${e?.message}`);
    assert.equal(e.code, code);
    assert.match(e.message, message);
    return true;
  });
}

describe('HS256 secret', () => {
  const v = createVerifier({ secret: SECRET, audience: 'authenticated' });

  test('a good token gives the user id and claims', async () => {
    const { userId, claims } = await v.verify(`Bearer ${await hs()}`);
    assert.equal(userId, 'alice');
    assert.equal(claims.role, 'authenticated');
  });
  test('the scheme is case-insensitive', async () => {
    assert.equal((await v.verify(`bearer ${await hs()}`)).userId, 'alice');
  });
  test('a Supabase-shaped user token works', async () => {
    const token = await hs({ sub: '1f0b8a6e-8e2c-4f5e-9a1d-3c2b1a0f9e8d', aud: 'authenticated', role: 'authenticated',
      iss: 'https://abc.supabase.co/auth/v1', email: 'a@example.com', aal: 'aal1', session_id: 's1', is_anonymous: false });
    const sv = createVerifier({ secret: SECRET, audience: 'authenticated', issuer: 'https://abc.supabase.co/auth/v1' });
    assert.equal((await sv.verify(`Bearer ${token}`)).userId, '1f0b8a6e-8e2c-4f5e-9a1d-3c2b1a0f9e8d');
  });
  test('missing header', async () => refused(v.verify(undefined), /missing Authorization header/));
  test('empty header', async () => refused(v.verify(''), /missing Authorization header/));
  test('another scheme', async () => refused(v.verify('Basic YWxpY2U6cHc='), /Bearer scheme/));
  test('malformed token', async () => refused(v.verify('Bearer not-a-jwt'), /malformed/));
  test('garbage in three parts', async () => refused(v.verify('Bearer aaa.bbb.ccc'), /malformed/));
  test('expired', async () => refused(v.verify(`Bearer ${await hs({ exp: now() - 60 })}`), /expired/));
  test('nbf in the future', async () => refused(v.verify(`Bearer ${await hs({ nbf: now() + 3600 })}`), /not yet valid/));
  test('no exp', async () => refused(v.verify(`Bearer ${await hs({ exp: undefined })}`), /expiry/));
  test('wrong audience', async () => refused(v.verify(`Bearer ${await hs({ aud: 'someone-else' })}`), /wrong audience/));
  test('missing audience', async () => refused(v.verify(`Bearer ${await hs({ aud: undefined })}`), /no audience/));
  test('wrong issuer', async () => {
    const iv = createVerifier({ secret: SECRET, issuer: 'https://auth.example.com' });
    await refused(iv.verify(`Bearer ${await hs({ iss: 'https://evil.example.com' })}`), /wrong issuer/);
    assert.equal((await iv.verify(`Bearer ${await hs({ iss: 'https://auth.example.com' })}`)).userId, 'alice');
  });
  test('bad signature (another secret)', async () =>
    refused(v.verify(`Bearer ${await hs({}, { secret: 'another-secret-0123456789abcdef-0123' })}`), /bad signature/));
  test('tampered payload', async () => {
    const [h, , s] = (await hs()).split('.');
    const p = Buffer.from(JSON.stringify({ sub: 'mallory', aud: 'authenticated', exp: now() + 600 })).toString('base64url');
    await refused(v.verify(`Bearer ${h}.${p}.${s}`), /bad signature/);
  });
  test('alg none', async () => {
    const token = new UnsecuredJWT({ sub: 'alice', aud: 'authenticated', exp: now() + 600 }).encode();
    await refused(v.verify(`Bearer ${token}`), /algorithm not allowed/);
  });
  test('an HMAC algorithm outside the allowlist (HS512)', async () => {
    const token = await new SignJWT({ sub: 'alice', aud: 'authenticated', exp: now() + 600 })
      .setProtectedHeader({ alg: 'HS512' }).sign(enc.encode(SECRET));
    await refused(v.verify(`Bearer ${token}`), /algorithm not allowed/);
  });
  test('missing sub', async () => refused(v.verify(`Bearer ${await hs({ sub: undefined })}`), /no subject/));
  test('a sub PostgreSQL text cannot hold', async () => {
    await refused(v.verify(`Bearer ${await hs({ sub: 'a\u0000b' })}`), /NUL character or a lone surrogate/);
    await refused(v.verify(`Bearer ${await hs({ sub: 'a\ud800b' })}`), /NUL character or a lone surrogate/);
  });
  test('empty sub', async () => refused(v.verify(`Bearer ${await hs({ sub: '' })}`), /no subject/));
  test('numeric sub', async () => refused(v.verify(`Bearer ${await hs({ sub: 42 })}`), /no subject/));
  test('role anon is refused', async () => refused(v.verify(`Bearer ${await hs({ role: 'anon' })}`), /role "anon"/));
  test('role service_role is refused', async () =>
    refused(v.verify(`Bearer ${await hs({ role: 'service_role' })}`), /role "service_role"/));
  // Fail closed: any role but an ordinary user's is refused, not a denylist.
  for (const role of ['supabase_admin', 'Anon', 'service_role ', 'authenticated_admin', 'dashboard_user', '',
    ['authenticated'], { role: 'authenticated' }, 1, null, true]) {
    test(`role ${JSON.stringify(role)} is refused`, async () =>
      refused(v.verify(`Bearer ${await hs({ role })}`), /is not a signed-in user's token \(accepted roles: authenticated\)/));
  }
  test('a token without a role is a user token (most identity providers set none)', async () => {
    assert.equal((await v.verify(`Bearer ${await hs({ role: undefined })}`)).userId, 'alice');
  });
  test('the accepted roles are configurable', async () => {
    const rv = createVerifier({ secret: SECRET, audience: 'authenticated', roles: ['authenticated', 'member'] });
    assert.equal((await rv.verify(`Bearer ${await hs({ role: 'member' })}`)).userId, 'alice');
    await refused(rv.verify(`Bearer ${await hs({ role: 'anon' })}`), /accepted roles: authenticated, member/);
    assert.throws(() => createVerifier({ secret: SECRET, roles: [] }), /roles must be a non-empty array/);
    assert.throws(() => createVerifier({ secret: SECRET, roles: 'authenticated' }), /roles must be a non-empty array/);
  });
  test('dev tokens verify', async () => {
    const token = await signDevToken(SECRET, { sub: 'bob', audience: 'authenticated' });
    assert.equal((await v.verify(`Bearer ${token}`)).userId, 'bob');
  });
});

describe('configuration is checked up front', () => {
  test('no key at all', async () => assert.throws(() => createVerifier({}), /EDGESYNC_JWT_SECRET/));
  test('short secret', async () => assert.throws(() => createVerifier({ secret: 'short' }), /at least 32 bytes/));
  test('RS256 without a JWKS', async () => assert.throws(() => createVerifier({ secret: SECRET, algorithms: ['RS256'] }), /needs a JWKS/));
  test('HS256 without a secret', async () =>
    assert.throws(() => createVerifier({ jwksUrl: 'http://127.0.0.1:1/jwks', algorithms: ['HS256'] }), /needs a secret/));
  test('none is not an algorithm', async () => assert.throws(() => createVerifier({ secret: SECRET, algorithms: ['none'] }), /not supported/));
});

describe('JWKS over HTTP (RS256, ES256, EdDSA)', () => {
  let server, jwksUrl, rsa, ec, ed, rogue, rsaPem;
  let served;
  before(async () => {
    rsa = await generateKeyPair('RS256', { extractable: true });
    ec = await generateKeyPair('ES256', { extractable: true });
    ed = await generateKeyPair('EdDSA', { extractable: true, crv: 'Ed25519' });
    rogue = await generateKeyPair('RS256', { extractable: true });
    rsaPem = await exportSPKI(rsa.publicKey);
    served = {
      keys: [
        { ...(await exportJWK(rsa.publicKey)), kid: 'rsa-1', alg: 'RS256', use: 'sig' },
        { ...(await exportJWK(ec.publicKey)), kid: 'ec-1', alg: 'ES256', use: 'sig' },
        { ...(await exportJWK(ed.publicKey)), kid: 'ed-1', alg: 'EdDSA', use: 'sig' },
      ],
    };
    server = http.createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(served));
    });
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    jwksUrl = `http://127.0.0.1:${server.address().port}/.well-known/jwks.json`;
  });
  after(() => new Promise((r) => server.close(r)));

  const sign = (key, alg, kid, over = {}) =>
    new SignJWT({ sub: 'carol', aud: 'authenticated', role: 'authenticated', exp: now() + 600, ...over })
      .setProtectedHeader({ alg, kid }).sign(key);

  test('RS256', async () => {
    const v = createVerifier({ jwksUrl, audience: 'authenticated' });
    assert.equal((await v.verify(`Bearer ${await sign(rsa.privateKey, 'RS256', 'rsa-1')}`)).userId, 'carol');
  });
  test('ES256', async () => {
    const v = createVerifier({ jwksUrl, audience: 'authenticated' });
    assert.equal((await v.verify(`Bearer ${await sign(ec.privateKey, 'ES256', 'ec-1')}`)).userId, 'carol');
  });
  test('EdDSA', async () => {
    const v = createVerifier({ jwksUrl, audience: 'authenticated' });
    assert.equal((await v.verify(`Bearer ${await sign(ed.privateKey, 'EdDSA', 'ed-1')}`)).userId, 'carol');
  });
  test('an algorithm outside the allowlist (ES256 when only RS256 is allowed)', async () => {
    const v = createVerifier({ jwksUrl, algorithms: ['RS256'] });
    await refused(v.verify(`Bearer ${await sign(ec.privateKey, 'ES256', 'ec-1')}`), /algorithm not allowed/);
  });
  test('a key that is not in the JWKS', async () => {
    const v = createVerifier({ jwksUrl });
    await refused(v.verify(`Bearer ${await sign(rogue.privateKey, 'RS256', 'rogue')}`), /no key in the JWKS/);
  });
  test('a known kid with a foreign key', async () => {
    const v = createVerifier({ jwksUrl });
    await refused(v.verify(`Bearer ${await sign(rogue.privateKey, 'RS256', 'rsa-1')}`), /bad signature/);
  });
  test('HS256 signed with the RSA public key (algorithm confusion) fails', async () => {
    const forged = await hs({ sub: 'mallory' }, { secret: enc.encode(rsaPem), header: { kid: 'rsa-1' } });
    await refused(createVerifier({ jwksUrl }).verify(`Bearer ${forged}`), /algorithm not allowed/);
    // With a secret configured too, the HMAC path only ever uses that secret.
    const both = createVerifier({ jwksUrl, secret: SECRET, algorithms: ['HS256', 'RS256'] });
    await refused(both.verify(`Bearer ${forged}`), /bad signature/);
    assert.equal((await both.verify(`Bearer ${await sign(rsa.privateKey, 'RS256', 'rsa-1')}`)).userId, 'carol');
    assert.equal((await both.verify(`Bearer ${await hs()}`)).userId, 'alice');
  });
  test('anon role over JWKS is refused', async () => {
    const v = createVerifier({ jwksUrl });
    await refused(v.verify(`Bearer ${await sign(rsa.privateKey, 'RS256', 'rsa-1', { role: 'anon' })}`), /role "anon"/);
  });
  test('an unreachable JWKS is a server-side problem (unavailable), not a bad token', async () => {
    const dead = http.createServer();
    await new Promise((r) => dead.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${dead.address().port}/jwks`;
    await new Promise((r) => dead.close(r));
    const v = createVerifier({ jwksUrl: url });
    await refused(v.verify(`Bearer ${await sign(rsa.privateKey, 'RS256', 'rsa-1')}`), /JWKS is unreachable/, 'unavailable');
  });
});
