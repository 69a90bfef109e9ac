import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { unzipSync } from 'fflate'
// @ts-expect-error: a plain .mjs script without type declarations
import { bundleLambda } from '../scripts/bundle-lambda.mjs'
import { lambdaRuntimeBinary } from '../emulator/core/runtimes.js'
import { LAMBDA_RUNTIME } from '../src/desired.js'

interface BundleResult {
  zipPath: string
  shaPath: string
  sha256: string
  zipBytes: number
  handler: string
}

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const dirs: string[] = []
let first: BundleResult
let second: BundleResult
let zip: Buffer

beforeAll(async () => {
  for (let i = 0; i < 2; i++) dirs.push(await mkdtemp(join(tmpdir(), 'lambda-bundle-')))
  first = await bundleLambda({ outDir: dirs[0] })
  second = await bundleLambda({ outDir: dirs[1] })
  zip = await readFile(first.zipPath)
})

afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true })
})

/**
 * Runs the bundled handler once on its Lambda runtime's Node with `event`; returns its stdout lines
 * (the line it logs, then what it returned). Inside the repository so that the SDK resolves from
 * node_modules, as it does from the runtime's.
 */
async function runBundled(event: unknown): Promise<unknown[]> {
  const dir = join(ROOT, '.tmp', `lambda-bundle-${process.pid}-${Math.random().toString(36).slice(2)}`)
  await mkdir(dir, { recursive: true })
  try {
    await writeFile(join(dir, 'index.mjs'), unzipSync(zip)['index.mjs'] ?? new Uint8Array())
    const script = `const { handler } = await import('./index.mjs'); console.log(JSON.stringify(await handler(${JSON.stringify(event)})))`
    const env = {
      ...process.env,
      PROJECT: 'prj-demo',
      AWS_REGION: 'us-east-1',
      ZONE_ID: 'Z1',
      ZONE_NAME: 'prj-demo.us-east-1.internal',
      NODE_OPTIONS: ''
    }
    const { stdout } = await promisify(execFile)(
      lambdaRuntimeBinary(LAMBDA_RUNTIME),
      ['--input-type=module', '-e', script],
      { cwd: dir, env }
    )
    return stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as unknown)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

describe('the DNS updater bundle', () => {
  test('two clean builds produce byte-identical zips', async () => {
    expect(first.zipPath).not.toBe(second.zipPath)
    expect(Buffer.compare(zip, await readFile(second.zipPath))).toBe(0)
    expect(second.sha256).toBe(first.sha256)
  })

  test('the zip holds exactly index.mjs, which exports the handler and imports the SDK instead of bundling it', () => {
    const files = unzipSync(zip)
    expect(Object.keys(files)).toEqual(['index.mjs'])
    const code = Buffer.from(files['index.mjs'] ?? new Uint8Array()).toString('utf8')
    expect(code).toMatch(/from "@aws-sdk\/client-ec2"/)
    expect(code).toMatch(/from "@aws-sdk\/client-route-53"/)
    expect(code).toMatch(/from "@aws-sdk\/client-auto-scaling"/)
    expect(code).toMatch(/export\s*\{[^}]*\bhandler\b/)
    expect(code).not.toMatch(/@smithy|class EC2Client|SignatureV4/)
    expect(first.handler).toBe('index.handler')
  })

  test('the zip is far under 20 KB', () => {
    expect(first.zipBytes).toBe(zip.length)
    // 11 KB: the spot lines took it past 10 KB (about 10.2 KB with them)
    expect(zip.length).toBeLessThan(11 * 1024)
  })

  test('entries carry the fixed 1980-01-01 time, Unix rw-r--r-- attributes and no extra fields', () => {
    expect(zip.readUInt32LE(0)).toBe(0x04034b50)
    expect(zip.readUInt16LE(10)).toBe(0) // DOS time 00:00:00
    expect(zip.readUInt16LE(12)).toBe((0 << 9) | (1 << 5) | 1) // DOS date 1980-01-01
    expect(zip.readUInt16LE(28)).toBe(0) // local extra field length
    const central = zip.indexOf(Buffer.from([0x50, 0x4b, 0x01, 0x02]))
    expect(zip.readUInt16LE(central + 30)).toBe(0) // central extra field length
    expect(zip.readUInt32LE(central + 38) >>> 16).toBe(0o100644)
  })

  test('the sha256 file holds the base64 SHA-256 of the zip, as Lambda reports CodeSha256', async () => {
    const expected = createHash('sha256').update(zip).digest('base64')
    expect(await readFile(first.shaPath, 'utf8')).toBe(expected)
    expect(first.sha256).toBe(expected)
  })

  test('the bundled handler loads under plain Node ESM on its Lambda runtime and answers an event', async () => {
    const [logged, returned] = (await runBundled({ detail: {} })) as Array<{ action: string; calls: number }>
    expect(returned).toEqual(logged)
    expect(returned).toMatchObject({ action: 'ignore', calls: 0 })
  })

  test('the bundled handler answers an SQS batch on its Lambda runtime with its batch item failures and logs one batch line', async () => {
    // messages that name no instance: nothing to read, nothing to fail
    const event = {
      Records: ['not json', '{"detail":{}}'].map((body, i) => ({ messageId: `m-${i}`, body, eventSource: 'aws:sqs' }))
    }
    const [logged, returned] = await runBundled(event)
    expect(returned).toEqual({ batchItemFailures: [] })
    expect(logged).toMatchObject({ kind: 'batch', messages: 2, ignored: 2, calls: 0 })
  })
})
