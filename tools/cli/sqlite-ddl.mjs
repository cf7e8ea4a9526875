// edgesync sqlite-ddl SCHEMA.json: prints the SQLite DDL (idempotent).
import { parseCommand, readJsonFile } from './cli-error.mjs';
import { coreOp, print } from './core-op.mjs';

/** One line for the help. */
export const summary = 'print the SQLite DDL of a schema (idempotent: run it on every start)';
/** The command line. */
export const usage = 'edgesync sqlite-ddl SCHEMA.json';

/** Runs the command. */
export async function run(args) {
  const { positionals: [file] } = parseCommand(args, { usage, positionals: 1 });
  print(await coreOp('schema.sqlite_ddl', readJsonFile(file, 'schema file')));
}
