// Drives the WASM server core against a postgres.js pool exactly as the
// contract in docs/architecture.md says — without HTTP or auth — so the core's
// SQL can be tested on its own.
const decoder = new TextDecoder();

/** Runs one sync request for `userId`; returns { status, body }. */
export async function driveSync(core, handle, sql, userId, body) {
  const raw = typeof body === 'string' ? body : JSON.stringify(body);
  let out = core.callFramed('server.begin', { handle, userId, nowMs: Date.now() }, [raw]);
  if (out.meta.done) return finish(out);
  const state = out.meta.state;
  const rollback = Symbol('rollback');
  let final;
  try {
    await sql.begin(async (tx) => {
      while (!out.meta.done) {
        const texts = [];
        for (const st of out.meta.statements) {
          const params = st.params.map((p) => (p && typeof p === 'object' ? decoder.decode(out.segments[p.seg]) : p));
          const rows = await tx.unsafe(st.sql, params);
          texts.push(rows[0].j);
        }
        out = core.callFramed('server.step', { state, nowMs: Date.now() }, texts);
      }
      final = out;
      if (out.meta.rollback) throw rollback;
    });
  } catch (e) {
    if (e !== rollback) {
      core.call('server.abort', { state });
      throw e;
    }
  }
  return finish(final);
}

function finish(out) {
  return { status: out.meta.status, body: JSON.parse(decoder.decode(out.segments[0])) };
}
