// Builds the committed bundles: dist/index.js (the action) and the DNS updater's zip.
// esbuild: one ESM file, deterministic output, about a second; see README "Bundling".
import { build } from 'esbuild'
import { rmSync } from 'node:fs'
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
    target: 'node20',
    minify: true,
    legalComments: 'none',
    sourcemap: false,
    banner: { js: banner },
    logLevel: 'warning'
  })
}

if (import.meta.url === `file://${process.argv[1]}`) {
  rmSync('dist/index.js', { force: true })
  await bundleAction()
  await bundleLambda({ outDir: 'dist/lambda' })
}
