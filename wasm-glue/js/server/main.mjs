// The main job (`npm start`). Foundation stage: loads the WASM core, checks the
// demo schema and reports what was built. The local stack lands here next.
import { readFileSync, statSync } from 'node:fs';
import { nodeCore } from '../node.mjs';
import { validateSchema } from '../schema.mjs';

const root = new URL('../../../', import.meta.url);
const core = await nodeCore();
const schema = JSON.parse(readFileSync(new URL('demo/schema.json', root), 'utf8'));
const info = validateSchema(core, schema);
const wasm = statSync(new URL('wasm-glue/dist/edgesync_core.wasm', root)).size;
console.log(`edgesync: core loaded (edgesync_core.wasm, ${wasm} bytes)`);
console.log(`edgesync: demo schema v${info.version}: ${info.tables.map((t) => `${t.name} (${t.conflict})`).join(', ')}`);
console.log('edgesync: the local stack (worker + demo) is not built yet; see issues #3 and #4');
