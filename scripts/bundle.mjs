// Builds the committed bundles: dist/index.js (the action) and the DNS updater's zip.
// esbuild: one ESM file, deterministic output, about a second; see README "Bundling".
import { build } from 'esbuild'
import { renameSync, rmSync } from 'node:fs'
import { bundleLambda } from './bundle-lambda.mjs'

const banner = [
  "import { createRequire as __hyperformCreateRequire } from 'node:module';",
  'const require = __hyperformCreateRequire(import.meta.url);'
].join('\n')

export async function bundleAction({ outfile = 'dist/index.js' } = {}) {
  await build({
    entryPoints: ['src/index.ts'],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    minify: true,
    legalComments: 'none',
    sourcemap: false,
    banner: { js: banner },
    logLevel: 'warning'
  })
}

if (import.meta.url === `file://${process.argv[1]}`) {
  // Build beside it and rename over it: a test running the action meanwhile sees the old
  // bundle or the new one, never a missing or half-written file.
  const next = 'dist/.index.js.next'
  rmSync(next, { force: true })
  await bundleAction({ outfile: next })
  renameSync(next, 'dist/index.js')
  await bundleLambda({ outDir: 'dist/lambda' })
}
