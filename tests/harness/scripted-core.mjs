// A stand-in for the WASM server core that speaks the same host contract
// (server.open / begin / step / abort, framed segments, {seg: k} params) with
// a tiny scripted behaviour, so the JS hosts' loop — statements each atomic
// on their own and run in order, error answers, database failures — is
// tested on its own.
//
// Request body (JSON): { "put": [[key, value], …], "then": "commit" | "rollback" | "bad_sql" | "sleep", "sleepMs": n }
// Step 0 runs one statement per put, in order ("rollback": reads instead of
// writing, then answers 409; "bad_sql": the puts and a failing call in one
// statement); the response lists the texts the statements returned.
import { nodeCore } from '../../hosts/wasm/node.mjs';

const enc = new TextEncoder();
const dec = new TextDecoder();
// The protocol's facts and error bodies are the real core's: only the server
// flow is scripted.
const real = await nodeCore();

export const SCRIPTED_DDL = `create table if not exists scripted_kv (
  k text primary key, v text not null, owner text not null, seq bigserial);`;

export function scriptedCore() {
  const states = new Map();
  let next = 1;
  const calls = [];
  const done = (status, body, extra = {}) => ({
    meta: { done: true, status, ...extra }, segments: [enc.encode(JSON.stringify(body))],
  });
  return {
    calls,
    states,
    protocol: () => real.protocol(),
    errorBody: (code, message, path) => real.errorBody(code, message, path),
    call(op, input) {
      calls.push(op);
      if (op === 'server.open') return { handle: 7, schemaVersion: input.schema.version, pgDdl: SCRIPTED_DDL };
      if (op === 'server.abort') { states.delete(input.state); return {}; }
      throw Object.assign(new Error(`unknown op ${op}`), { code: 'invalid_request' });
    },
    callFramed(op, meta, segments) {
      calls.push(op);
      if (op === 'server.begin') {
        if (meta.handle !== 7) throw new Error('bad handle');
        let req;
        try { req = JSON.parse(dec.decode(segments[0])); } catch {
          return done(400, real.errorBody('invalid_json', 'the body is not JSON'));
        }
        const state = next++;
        states.set(state, { req, userId: meta.userId, step: 0 });
        return this.plan(state);
      }
      if (op === 'server.step') {
        const s = states.get(meta.state);
        if (!s) throw new Error('unknown state');
        s.results = (s.results ?? []).concat(segments.map((b) => (typeof b === 'string' ? b : dec.decode(b))));
        s.step += 1;
        return this.plan(meta.state);
      }
      throw new Error(`unknown op ${op}`);
    },
    plan(state) {
      const s = states.get(state);
      const { req } = s;
      const puts = req.put ?? [];
      if (s.step === 0 && puts.length) {
        // The key and value travel as one JSON segment, decoded by the host.
        const seg = enc.encode(JSON.stringify(puts));
        const put = (i) => `insert into scripted_kv (k, v, owner)
                    select x->>0, x->>1, $2 from (select ($1::jsonb)->${i} as x) p
                    on conflict (k) do update set v = excluded.v returning json_build_object('k', k, 'v', v)::text as j`;
        const read = (i) => `select json_build_object('k', ($1::jsonb)->${i}->>0, 'v', ($1::jsonb)->${i}->>1)::text as j where $2::text is not null`;
        const statements = req.then === 'bad_sql'
          ? [{ sql: `with w as (${put(0)}) select no_such_function(j) as j from w`, params: [{ seg: 0 }, s.userId] }]
          : puts.map((_, i) => ({ sql: req.then === 'rollback' ? read(i) : put(i), params: [{ seg: 0 }, s.userId] }));
        return { meta: { done: false, state, statements }, segments: [seg] };
      }
      if (s.step <= 1 && req.then === 'sleep') {
        s.step = 2;
        return { meta: { done: false, state, statements: [{ sql: "select '\"slept\"'::text as j from pg_sleep($1::float8 / 1000)", params: [String(req.sleepMs ?? 1000)] }] }, segments: [] };
      }
      states.delete(state);
      const body = { protocol: 1, user: s.userId, results: (s.results ?? []).map((t) => JSON.parse(t)) };
      if (req.then === 'rollback') return done(409, body, { rollback: true });
      return done(200, body);
    },
  };
}
