/**
 * Bundles the DNS updater (lambda/handler.ts) into one ESM file, index.mjs,
 * and zips it deterministically: same source, same bytes, same SHA-256.
 *
 *   node scripts/bundle-lambda.mjs [outDir]     (default dist/lambda)
 *
 * Writes <outDir>/update-r53-record.zip (handler `index.handler`) and
 * <outDir>/update-r53-record.zip.sha256: the zip's base64 SHA-256, without a
 * newline, as Lambda reports it in CodeSha256.
 *
 * The AWS SDK is left out (the Lambda runtime ships it). Not minified: the
 * zip stays a few KB and the code stays readable in the Lambda console.
 */
import { createHash } from 'node:crypto'
import { mkdir, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { build } from 'esbuild'
import { zipSync } from 'fflate'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
export const ZIP_NAME = 'update-r53-record.zip'
export const HANDLER = 'index.handler'
/** DOS time has no zone: a local-time Date gives 1980-01-01 00:00 whatever TZ is. */
const MTIME = new Date(1980, 0, 1, 0, 0, 0)
/** Regular file, rw-r--r--, in the Unix external attributes. */
const FILE_ATTRS = (0o100644 << 16) >>> 0

async function bundle() {
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: ['lambda/handler.ts'],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    external: ['@aws-sdk/*'],
    sourcemap: false,
    minify: false,
    legalComments: 'none',
    charset: 'utf8',
    write: false,
    logLevel: 'silent'
  })
  const [file] = result.outputFiles
  if (!file) throw new Error('esbuild produced no output')
  return file.contents
}

/** A zip of `files` (name -> bytes) in name order, fixed time, level and attributes, no extra fields. */
export function deterministicZip(files) {
  const entries = {}
  for (const name of Object.keys(files).sort()) {
    entries[name] = [files[name], { level: 9, mtime: MTIME, os: 3, attrs: FILE_ATTRS }]
  }
  return zipSync(entries)
}

export function codeSha256(bytes) {
  return createHash('sha256').update(bytes).digest('base64')
}

/** Builds the zip and its hash into `outDir`; returns their paths, the hash and the sizes. */
export async function bundleLambda({ outDir = join(ROOT, 'dist', 'lambda') } = {}) {
  const code = await bundle()
  const zip = deterministicZip({ 'index.mjs': code })
  const sha256 = codeSha256(zip)
  await mkdir(outDir, { recursive: true })
  const zipPath = join(outDir, ZIP_NAME)
  const shaPath = `${zipPath}.sha256`
  await writeFile(zipPath, zip)
  await writeFile(shaPath, sha256)
  return { zipPath, shaPath, sha256, zipBytes: zip.length, codeBytes: code.length, handler: HANDLER }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const outDir = process.argv[2] ? resolve(process.argv[2]) : undefined
  const result = await bundleLambda(outDir ? { outDir } : {})
  console.log(`${ZIP_NAME}: ${result.zipBytes} bytes (index.mjs ${result.codeBytes}), CodeSha256 ${result.sha256}`)
}
