// Raw /live connections for the live-poke tests (node host and workerd):
// the messages and the close event, recorded.
import WebSocket from 'ws';
import { waitFor, tokenFor } from './client.mjs';

/** A raw live connection to the host at `httpUrl`. */
export function connect(httpUrl) {
  const ws = new WebSocket(`${httpUrl.replace(/^http/, 'ws')}/live`);
  const messages = [];
  const closed = new Promise((resolve) => {
    ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
  });
  ws.on('message', (data) => messages.push(data.toString()));
  ws.on('error', () => {});
  const opened = new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
  return { ws, messages, closed, opened };
}

/** An authenticated raw connection for `user`. */
export async function ready(httpUrl, user) {
  const c = connect(httpUrl);
  await c.opened;
  c.ws.send(JSON.stringify({ type: 'auth', token: await tokenFor(user) }));
  await waitFor(() => c.messages.some((m) => m.includes('"ready"')), { what: 'ready' });
  return c;
}

/** The pokes a raw connection received. */
export const pokes = (c) => c.messages.filter((m) => m === '{"type":"poke"}').length;
