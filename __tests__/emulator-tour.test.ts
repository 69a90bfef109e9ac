/**
 * The emulator's promise, end to end: started by its documented command (`npm run emulator`,
 * i.e. `tsx emulator/cli.ts`), an ordinary SDK v3 program that only has AWS_ENDPOINT_URL set
 * launches a group of 2, writes a 2-value record, wires a function to EC2 state changes and sees
 * a termination invoke it; the call log lists every call the program made.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { EmulatorClient } from '../emulator/client.js'

const root = fileURLToPath(new URL('..', import.meta.url))
let cli: ChildProcess | undefined
afterAll(() => {
  cli?.kill('SIGTERM')
})

function startCli(): Promise<string> {
  return new Promise((resolve, reject) => {
    cli = spawn(process.execPath, ['--import', 'tsx', 'emulator/cli.ts', '--port', '0'], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe']
    })
    let out = ''
    const timer = setTimeout(() => reject(new Error(`the emulator did not start:\n${out}`)), 20_000)
    cli.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      const endpoint = /AWS_ENDPOINT_URL=(http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1]
      if (endpoint && out.includes('Control API')) {
        clearTimeout(timer)
        resolve(endpoint)
      }
    })
  })
}

interface Tour {
  instances: { id: string; ip: string; tags: { Key: string; Value: string }[] }[]
  record: { Name: string; ResourceRecords: { Value: string }[] }
  function: { functionArn: string; failedTargets: number }
  terminated: string
  logLine: string
  called: string[]
}

function runProgram(endpoint: string): Promise<Tour> {
  const env = {
    PATH: process.env.PATH ?? '',
    AWS_ENDPOINT_URL: endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'AKIATOUR',
    AWS_SECRET_ACCESS_KEY: 'tour'
  }
  const child = spawn(process.execPath, ['examples/emulator-tour.mjs'], {
    cwd: root,
    env,
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let out = ''
  let err = ''
  child.stdout.on('data', (c: Buffer) => (out += c.toString()))
  child.stderr.on('data', (c: Buffer) => (err += c.toString()))
  return new Promise((resolve, reject) =>
    child.on('close', (code) =>
      code === 0
        ? resolve(JSON.parse(out.trim().split('\n').pop() ?? '{}') as Tour)
        : reject(new Error(`exit ${code}: ${err}`))
    )
  )
}

test('an unmodified SDK program against the CLI-started emulator sees instances, records and a function invoked by a state change, and every call is logged', async () => {
  const endpoint = await startCli()
  const tour = await runProgram(endpoint)
  expect(tour.instances).toHaveLength(2)
  for (const instance of tour.instances) {
    expect(instance.ip).toMatch(/^172\.28\.\d+\.\d+$/)
    expect(instance.tags).toEqual(
      expect.arrayContaining([
        { Key: 'tour', Value: 'yes' },
        { Key: 'aws:autoscaling:groupName', Value: 'tour' }
      ])
    )
  }
  expect(tour.record.Name).toBe('web.tour.internal.')
  expect(tour.record.ResourceRecords.map((r) => r.Value).sort()).toEqual(tour.instances.map((i) => i.ip).sort())
  expect(tour.function.failedTargets).toBe(0)
  expect(tour.logLine).toContain(tour.terminated)

  const logged = (await new EmulatorClient(endpoint).calls())
    .filter((c) => c.caller === 'AKIATOUR')
    .map((c) => c.operation)
  const programCalls = tour.called.filter((op) => !op.includes('(waiter)'))
  const counts = (ops: string[]) => ops.reduce((m, op) => m.set(op, (m.get(op) ?? 0) + 1), new Map<string, number>())
  for (const [op, n] of counts(programCalls)) expect([op, counts(logged).get(op)]).toEqual([op, n])
  expect(logged).toContain('GetFunction')
}, 60_000)
