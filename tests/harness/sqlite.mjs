// The official SQLite WASM build under node (in-memory databases).
import sqlite3InitModule from '@sqlite.org/sqlite-wasm';
import { registerClock } from '../../hosts/client/sqlite.mjs';

let sqlite3;

/** A fresh in-memory database from the official SQLite WASM build, with the
 * triggers' clock function edgesync_now_ms() (`now`, default Date.now). */
export async function openSqlite(name = ':memory:', { now } = {}) {
  sqlite3 ??= await sqlite3InitModule({ print: () => {}, printErr: console.error });
  const db = new sqlite3.oo1.DB(name, 'c');
  registerClock(db, now);
  return db;
}
