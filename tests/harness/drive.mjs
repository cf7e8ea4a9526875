// Drives the WASM server core against a postgres.js pool exactly as the
// contract in docs/architecture.md says — without HTTP or auth — so the core's
// SQL can be tested on its own. Each statement the core emits is atomic on
// its own (a request is one statement: one round trip).
const decoder = new TextDecoder();

/** The text and params of a core statement, its segments decoded. */
export function statementOf(out, st) {
  const seg = (p) => decoder.decode(out.segments[p.seg]);
  return {
    text: typeof st.sql === 'string' ? st.sql : seg(st.sql),
    params: st.params.map((p) => (p && typeof p === 'object' ? seg(p) : p)),
  };
}

/**
 * Runs one sync request for `userId`; returns { status, body }. `run(text,
 * params)` executes a statement (default: on `sql`, outside a transaction).
 */
export async function driveSync(core, handle, sql, userId, body, run = (text, params) => sql.unsafe(text, params)) {
  const raw = typeof body === 'string' ? body : JSON.stringify(body);
  let out = core.callFramed('server.begin', { handle, userId, nowMs: Date.now() }, [raw]);
  const state = out.meta.state;
  try {
    while (!out.meta.done) {
      const texts = [];
      for (const st of out.meta.statements) {
        const { text, params } = statementOf(out, st);
        const rows = await run(text, params);
        texts.push(rows[0].j);
      }
      out = core.callFramed('server.step', { state, nowMs: Date.now() }, texts);
    }
  } catch (e) {
    core.call('server.abort', { state });
    throw e;
  }
  return { status: out.meta.status, body: JSON.parse(decoder.decode(out.segments[0])) };
}
