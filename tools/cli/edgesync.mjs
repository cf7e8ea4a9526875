#!/usr/bin/env node
// edgesync CLI (WASM build): the same commands as the native `edgesync` tool.
import { readFileSync } from 'node:fs';
import { nodeCore } from '../../hosts/wasm/node.mjs';

const ops = {
  validate: 'schema.validate',
  'sqlite-ddl': 'schema.sqlite_ddl',
  'pg-ddl': 'schema.pg_ddl',
  'sqlite-migration': 'schema.sqlite_migration',
  'pg-migration': 'schema.pg_migration',
};
// `schema from-drizzle` lives in its own command file (tools/cli/from-drizzle.mjs).
if (process.argv[2] === 'schema' && process.argv[3] === 'from-drizzle') {
  const { fromDrizzle } = await import('./from-drizzle.mjs');
  process.exit(await fromDrizzle(process.argv.slice(4)));
}
const [cmd, a, b] = process.argv.slice(2);
const pair = cmd?.endsWith('-migration');
if (!ops[cmd] || !a || (pair && !b)) {
  console.error('usage: edgesync validate|sqlite-ddl|pg-ddl SCHEMA.json\n' +
    '       edgesync sqlite-migration|pg-migration OLD.json NEW.json\n' +
    '       edgesync schema from-drizzle ./db/schema.ts [-o schema.json]');
  process.exit(2);
}
const read = (f) => readFileSync(f, 'utf8');
const input = pair ? `{"from":${read(a)},"to":${read(b)}}` : read(a);
const core = await nodeCore();
const env = JSON.parse(core.callRaw(ops[cmd], input));
if (!env.ok) {
  for (const e of env.errors) console.error(`error[${e.code}] ${e.path ? e.path + ': ' : ''}${e.message}`);
  process.exit(1);
}
process.stdout.write(typeof env.result === 'string' ? env.result : JSON.stringify(env.result, null, 2) + '\n');
