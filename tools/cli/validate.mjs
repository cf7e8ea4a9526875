// edgesync validate SCHEMA.json: checks a schema; one line when it is valid.
import { parseCommand, readJsonFile } from './cli-error.mjs';
import { coreOp, print } from './core-op.mjs';

/** One line for the help. */
export const summary = 'check a schema file (--json prints the normalized schema)';
/** The command line. */
export const usage = 'edgesync validate SCHEMA.json [--json]';

/** Runs the command. */
export async function run(args) {
  const { values, positionals: [file] } = parseCommand(args, { usage, positionals: 1, options: { json: { type: 'boolean' } } });
  const schema = await coreOp('schema.validate', readJsonFile(file, 'schema file'));
  if (values.json) return print(schema);
  const names = (xs) => xs.map((x) => x.name).join(', ');
  const scopes = schema.scopes?.length ? `; scopes: ${names(schema.scopes)}` : '';
  console.log(`${file}: valid schema v${schema.version}, ${schema.tables.length} table${schema.tables.length === 1 ? '' : 's'} ` +
    `(${names(schema.tables)})${scopes}`);
}
