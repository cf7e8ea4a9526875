#!/usr/bin/env node
// The `edgesync` command: one file per command in this folder, each
// exporting `summary` (one line for the help), `usage` and `run(args)`.
// Errors print one line (`edgesync: …`) and exit nonzero; EDGESYNC_DEBUG=1
// adds the stack of an unexpected one.
import { CliError } from './cli-error.mjs';

/** Command name → its module (loaded only when run). */
const commands = {
  validate: './validate.mjs',
  'sqlite-ddl': './sqlite-ddl.mjs',
  'pg-ddl': './pg-ddl.mjs',
  'sqlite-migration': './sqlite-migration.mjs',
  'pg-migration': './pg-migration.mjs',
  serve: './serve.mjs',
  'dev-token': './dev-token.mjs',
  schema: './schema.mjs',
};

async function help() {
  const lines = ['usage: edgesync <command> [options]   (edgesync <command> --help for its options)', ''];
  for (const [name, path] of Object.entries(commands)) lines.push(`  ${name.padEnd(18)}${(await import(path)).summary}`);
  return lines.join('\n');
}

async function main([name, ...args]) {
  if (!name || name === 'help' || name === '--help' || name === '-h') {
    console.log(await help());
    return name ? 0 : 2;
  }
  const path = commands[name];
  if (!path) throw new CliError(`unknown command "${name}"; commands: ${Object.keys(commands).join(', ')} (edgesync help)`, 2);
  const cmd = await import(path);
  if (args.includes('--help') || args.includes('-h')) {
    console.log(`usage: ${cmd.usage}\n${cmd.summary}`);
    return 0;
  }
  return (await cmd.run(args)) ?? 0;
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (e) {
  if (e instanceof CliError) {
    for (const line of e.message.split('\n')) console.error(`edgesync: ${line}`);
    process.exitCode = e.exitCode;
  } else {
    console.error(`edgesync: unexpected error: ${e?.message ?? e}${process.env.EDGESYNC_DEBUG ? '' : ' (EDGESYNC_DEBUG=1 shows the stack)'}`);
    if (process.env.EDGESYNC_DEBUG) console.error(e);
    process.exitCode = 1;
  }
}
