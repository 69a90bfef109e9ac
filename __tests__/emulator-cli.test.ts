import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { DescribeVpcsCommand, EC2Client } from '@aws-sdk/client-ec2'
import { EmulatorClient } from '../emulator/client.js'
import { sdkConfig } from '../emulator/testing.js'

const root = fileURLToPath(new URL('..', import.meta.url))
let child: ChildProcess | undefined

afterAll(() => {
  child?.kill('SIGTERM')
})

/** Starts `tsx emulator/cli.ts` and resolves with what it printed once it listens. */
function startCli(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    child = spawn(process.execPath, ['--import', 'tsx', 'emulator/cli.ts', ...args], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe']
    })
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
