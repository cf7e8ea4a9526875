// edgesync sqlite-migration OLD.json NEW.json: prints the additive SQLite
// migration from one schema version to the next.
import { parseCommand, readJsonFile } from './cli-error.mjs';
import { coreOp, print } from './core-op.mjs';

/** One line for the help. */
export const summary = 'print the additive SQLite migration from OLD to NEW';
/** The command line. */
export const usage = 'edgesync sqlite-migration OLD.json NEW.json';

/** Runs the command. */
export async function run(args) {
  const { positionals: [from, to] } = parseCommand(args, { usage, positionals: 2 });
  print(await coreOp('schema.sqlite_migration', { from: readJsonFile(from, 'schema file'), to: readJsonFile(to, 'schema file') }));
}
