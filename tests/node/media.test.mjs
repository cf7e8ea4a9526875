// The media endpoints (docs/protocol.md, "Media") of the node host with the
// filesystem backend (its default): the shared scenarios in
// tests/harness/media-scenarios.mjs.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mediaScenarios } from '../harness/media-scenarios.mjs';

mediaScenarios({
  label: 'filesystem',
  async start() {
    const dir = mkdtempSync(join(tmpdir(), 'edgesync-media-'));
    return { media: { dir }, dir, stop: async () => rmSync(dir, { recursive: true, force: true }) };
  },
});
