import { existsSync, writeFileSync } from 'node:fs';
import { newInternalSecret } from '@chat/platform';
import { ensureLocalMasterKeys } from './content-master-keys.ts';
import { buildLocalImages } from './docker-images.ts';
import { infraDown, infraStatus, infraUp } from './index.ts';
import { stopStarted } from './processes.ts';

// npm run infra:up | infra:down | infra:status | docker:images [--rebuild]; `./chat down` is `stop`
// node infra/src/cli.ts secret FILE: writes a fresh internal secret to FILE unless it has one
// (the compose stacks' init does this once per volume; the services read INTERNAL_SECRET_FILE).
// node infra/src/cli.ts master-keys FILE: writes a content master key to FILE unless it has one
// (init again; the command service and the projector read CONTENT_MASTER_KEYS_FILE).

const command = process.argv[2];
try {
  if (command === 'up') {
    const started = Date.now();
    await infraUp();
    console.log(`infra: ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    for (const line of await infraStatus()) console.log(line);
  } else if (command === 'down' || command === 'stop') {
    // stop: `./chat down`, a `./chat up` running elsewhere first (it stops its services), then the infrastructure.
    if (command === 'stop') {
      const wasUp = await stopStarted('up', 60_000, { group: false });
      console.log(wasUp ? 'chat: stopped the services of `./chat up`' : 'chat: no `./chat up` is running');
    }
    const stopped = await infraDown();
    console.log(stopped.length ? `infra: stopped ${stopped.join(', ')}` : 'infra: nothing started by infra:up is running');
  } else if (command === 'status') {
    for (const line of await infraStatus()) console.log(line);
  } else if (command === 'images') {
    const images = buildLocalImages({ rebuild: process.argv.includes('--rebuild') });
    console.log('docker: local images ready; docker compose reads them from .env:');
    for (const [variable, image] of Object.entries(images)) console.log(`  ${variable}=${image}`);
  } else if (command === 'secret' && process.argv[3]) {
    const file = process.argv[3];
    if (!existsSync(file)) writeFileSync(file, newInternalSecret(), { mode: 0o600 });
  } else if (command === 'master-keys' && process.argv[3]) {
    ensureLocalMasterKeys({}, process.argv[3]);
  } else {
    console.error('usage: node infra/src/cli.ts up|down|stop|status|images [--rebuild]|secret FILE|master-keys FILE');
    process.exitCode = 2;
  }
} catch (error) {
  console.error(`infra ${command}: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
}
