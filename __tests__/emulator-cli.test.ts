import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { DescribeVpcsCommand, EC2Client } from '@aws-sdk/client-ec2'
import { optionsFromArgs } from '../emulator/cli-options.js'
import { EmulatorClient } from '../emulator/client.js'
import { sdkConfig } from '../emulator/testing.js'

const root = fileURLToPath(new URL('..', import.meta.url))
const children: ChildProcess[] = []
const scratch = mkdtempSync(join(tmpdir(), 'emulator-cli-'))

afterAll(() => {
  for (const child of children) child.kill('SIGTERM')
  rmSync(scratch, { recursive: true, force: true })
})

/** Starts `tsx emulator/cli.ts` and resolves with what it printed once it listens. */
function startCli(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'emulator/cli.ts', ...args], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe']
    })
    children.push(child)
    let out = ''
    const timer = setTimeout(() => reject(new Error(`the CLI did not start:\n${out}`)), 20_000)
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      if (out.includes('Control API')) {
        clearTimeout(timer)
        resolve(out)
      }
    })
    child.on('exit', (code) => reject(new Error(`the CLI exited with ${code}:\n${out}`)))
  })
}

test('the CLI prints its endpoint and environment, serves AWS calls and applies fault flags', async () => {
  const printed = await startCli(['--port', '0', '--latency-ms', '40', '--seed', '5'])
  const endpoint = /AWS_ENDPOINT_URL=(http:\/\/127\.0\.0\.1:\d+)/.exec(printed)?.[1] ?? ''
  expect(endpoint).not.toBe('')
  expect(printed).toMatch(/AWS_ACCESS_KEY_ID=\S+/)
  const control = new EmulatorClient(endpoint)
  expect(await control.healthy()).toBe(true)
  expect(await control.faults()).toMatchObject({ latencyMs: 40, seed: 5 })
  const ec2 = new EC2Client(sdkConfig({ endpoint }))
  const out = await ec2.send(new DescribeVpcsCommand({}))
  expect(out.Vpcs?.[0]?.CidrBlock).toBe('172.28.0.0/16')
  const calls = await control.calls()
  expect(calls.map((c) => c.operation)).toEqual(['DescribeVpcs'])
  expect(calls[0]?.durationMs).toBeGreaterThanOrEqual(38)
  ec2.destroy()
})

/** Writes a catalogue file in the test's scratch folder and answers its path. */
function catalogueFile(name: string, content: string): string {
  const file = join(scratch, name)
  writeFileSync(file, content)
  return file
}

test('--images reads the catalogue file into the options, refusing a file that is not a valid array', () => {
  const file = catalogueFile('images.json', JSON.stringify([{ image: 'shop/web:1', run: 'crash', logs: ['boom'] }]))
  expect(
    optionsFromArgs(['--images', file, '--container-restart-delay-ms', '5', '--container-settle-ms', '7'])
  ).toMatchObject({
    images: [{ image: 'shop/web:1', pull: 'ok', run: 'crash', logs: ['boom'] }],
    simulation: { containerRestartDelayMs: 5, containerSettleMs: 7 }
  })
  expect(optionsFromArgs([]).images).toBeUndefined()
  const single = catalogueFile('single.json', JSON.stringify({ image: 'shop/web:1' }))
  expect(() => optionsFromArgs(['--images', single])).toThrow(/--images .*single\.json: .*JSON array/)
  const bad = catalogueFile('bad.json', JSON.stringify([{ image: 'a:1' }, { image: 'b:1', pull: 'never' }]))
  expect(() => optionsFromArgs(['--images', bad])).toThrow(/entry 1: "pull" of b:1 must be one of ok, denied/)
  expect(() => optionsFromArgs(['--images', join(scratch, 'missing.json')])).toThrow(/--images: cannot read/)
})

test('the CLI started with --images serves that catalogue on GET /_emulator/images', async () => {
  const file = catalogueFile('cli.json', JSON.stringify([{ image: 'shop/api:2', pull: 'denied' }]))
  const printed = await startCli(['--port', '0', '--images', file])
  const endpoint = /AWS_ENDPOINT_URL=(http:\/\/127\.0\.0\.1:\d+)/.exec(printed)?.[1] ?? ''
  const control = new EmulatorClient(endpoint)
  expect(await control.images()).toEqual([
    { image: 'shop/api:2', pull: 'denied', run: 'healthy', logs: ['shop/api:2 started'] }
  ])
})
