#!/usr/bin/env node
// Type-checks every ```ts / ```js code block of README.md and docs/*.md with
// `tsc --strict`, as an app would compile them (scripts/lint.sh). Each block
// is its own module in a temp folder inside the project (so `edgesync/...`
// and the other packages resolve); the names a block takes from the prose
// around it (the app's `auth`, the `sync` of an earlier step, …) are declared
// once in tests/types/doc-snippets.d.ts. A comment on the line before a block:
// `<!-- snippet: continues -->` appends it to the document's previous block
// (the next step of the same code), `<!-- snippet: skip -->` leaves it out.
import { readFileSync, writeFileSync, mkdirSync, rmSync, readdirSync, copyFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const LANGS = new Set(['ts', 'js', 'typescript', 'javascript', 'mjs']);

/** Every checked code block of `file`: { file, line, lang, code, continues }. */
export function snippets(file) {
  const lines = readFileSync(join(root, file), 'utf8').split('\n');
  const out = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\w+)\s*$/.exec(lines[i]);
    if (!open) continue;
    const end = lines.indexOf('```', i + 1);
    if (end < 0) break;
    const marker = /<!-- snippet: (skip|continues) -->/.exec(lines[i - 1] ?? '')?.[1];
    if (LANGS.has(open[1]) && marker !== 'skip') {
      out.push({ file, line: i + 1, lang: open[1], code: lines.slice(i + 1, end).join('\n'), continues: marker === 'continues' });
    }
    i = end;
  }
  return out;
}

const docs = ['README.md', ...readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`)];
const dir = join(root, 'tests', '.doc-snippets');
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
try {
  // name -> { text, map: [[first line in the file, document, its line]] }
  const files = new Map();
  let last;
  for (const s of docs.flatMap(snippets)) {
    if (s.continues && last?.file === s.file) {
      const f = files.get(last.name);
      f.map.push([f.text.split('\n').length, s.file, s.line + 1]);
      f.text += `\n${s.code}`;
      continue;
    }
    const name = `${s.file.replace(/[/.]/g, '_')}_L${s.line}.ts`;
    files.set(name, { text: `// ${s.file}:${s.line}\n${s.code}`, map: [[2, s.file, s.line + 1]] });
    last = { file: s.file, name };
  }
  // `export {}` keeps every block a module: its names do not clash.
  for (const [name, f] of files) writeFileSync(join(dir, name), `${f.text}\nexport {};\n`);
  // The blocks import the schema as `./schema.json`, as the README's app does.
  copyFileSync(join(root, 'demo', 'schema.json'), join(dir, 'schema.json'));
  copyFileSync(join(root, 'tests', 'types', 'doc-snippets.d.ts'), join(dir, 'doc-snippets.d.ts'));
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
    compilerOptions: {
      strict: true, noEmit: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022',
      lib: ['es2022', 'dom'], types: [], resolveJsonModule: true,
      // drizzle-orm's own .d.ts do not pass lib checking (Drizzle's docs say to skip it);
      // the project's types/*.d.ts are checked without it by tests/types.
      skipLibCheck: true,
    },
    files: ['doc-snippets.d.ts', ...files.keys()],
  }, null, 2));
  const tsc = spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', dir], { encoding: 'utf8' });
  // Point each error at the document line it comes from.
  const report = (tsc.stdout + tsc.stderr).replace(/^(?:tests\/\.doc-snippets\/)?(\w+\.ts)\((\d+),(\d+)\)/gm, (all, name, l, c) => {
    const seg = files.get(name)?.map.findLast(([first]) => first <= Number(l));
    return seg ? `${seg[1]}:${seg[2] + Number(l) - seg[0]}:${c}` : all;
  });
  if (tsc.status !== 0) {
    process.stderr.write(report);
    process.stderr.write(`\n${relative(process.cwd(), dir)}: the code blocks above fail tsc --strict; fix the document (or the types), or mark a fragment with <!-- snippet: skip -->\n`);
    process.exitCode = 1;
  } else {
    console.log(`doc snippets: ${files.size} modules of code blocks type-check`);
  }
} finally {
  if (!process.exitCode) rmSync(dir, { recursive: true, force: true });
}
