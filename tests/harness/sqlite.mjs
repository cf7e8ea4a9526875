// The official SQLite WASM build under node (in-memory databases).
import sqlite3InitModule from '@sqlite.org/sqlite-wasm';

let sqlite3;

/** A fresh in-memory database from the official SQLite WASM build. */
export async function openSqlite(name = ':memory:') {
  sqlite3 ??= await sqlite3InitModule({ print: () => {}, printErr: console.error });
  return new sqlite3.oo1.DB(name, 'c');
}
