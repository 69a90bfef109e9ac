/** Lambda runs asynchronous invocations concurrently up to the account's or the function's concurrency, and retries failures. */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { CreateRoleCommand, IAMClient } from '@aws-sdk/client-iam'
import {
  CreateFunctionCommand,
  DeleteFunctionConcurrencyCommand,
  GetAccountSettingsCommand,
  GetFunctionConcurrencyCommand,
  InvokeCommand,
  LambdaClient,
  PutFunctionConcurrencyCommand,
  TooManyRequestsException,
  waitUntilFunctionActiveV2
} from '@aws-sdk/client-lambda'
import { strToU8, zipSync } from 'fflate'
import { EmulatorClient } from '../emulator/client.js'
import { startEmulator, type Emulator } from '../emulator/server.js'
import { sdkConfig } from '../emulator/testing.js'

const TRUST = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }]
})
const SLOW = zipSync({
  'index.mjs': strToU8(
    'export const handler = async (event) => { await new Promise((r) => setTimeout(r, event.ms ?? 1500)); return { ok: true } }'
  )
})
const FAILING = zipSync({
  'index.mjs': strToU8("export const handler = async () => { throw new Error('always fails') }")
})

let emu: Emulator
let control: EmulatorClient
let lambda: LambdaClient
let role = ''

interface FunctionState {
  FunctionName: string
  invocations: number
  errors: number
  peakConcurrency: number
}

function stats(name: string): FunctionState | undefined {
  return (emu.state().lambda as FunctionState[]).find((f) => f.FunctionName === name)
}

async function createFunction(name: string, zip: Uint8Array): Promise<void> {
  await lambda.send(
    new CreateFunctionCommand({
      FunctionName: name,
      Runtime: 'nodejs22.x',
      Role: role,
      Handler: 'index.handler',
      Code: { ZipFile: zip },
      Timeout: 30
    })
  )
  await waitUntilFunctionActiveV2({ client: lambda, maxWaitTime: 20, minDelay: 1 }, { FunctionName: name })
}

async function invokeAsync(name: string, times: number): Promise<void> {
  for (let i = 0; i < times; i++) {
    const out = await lambda.send(
      new InvokeCommand({ FunctionName: name, InvocationType: 'Event', Payload: JSON.stringify({ i }) })
    )
    expect(out.StatusCode).toBe(202)
  }
}

beforeAll(async () => {
  emu = await startEmulator({ simulation: { functionPendingMs: 0, lambdaConcurrency: 4, asyncRetryScale: 1 / 6000 } })
  control = new EmulatorClient(emu.endpoint)
  lambda = new LambdaClient(sdkConfig(emu))
  const iam = new IAMClient(sdkConfig(emu))
  role = (await iam.send(new CreateRoleCommand({ RoleName: 'fn', AssumeRolePolicyDocument: TRUST }))).Role?.Arn ?? ''
})

afterAll(async () => {
  await emu.stop()
})

describe('Lambda concurrency', () => {
  test('asynchronous invocations run side by side up to the account limit, never beyond it', async () => {
    await createFunction('burst', SLOW)
    await invokeAsync('burst', 10)
    await emu.waitIdle()
    expect(stats('burst')).toMatchObject({ invocations: 10, errors: 0, peakConcurrency: 4 })
    const settings = await lambda.send(new GetAccountSettingsCommand({}))
    expect(settings.AccountLimit).toMatchObject({ ConcurrentExecutions: 4, UnreservedConcurrentExecutions: 4 })
  })

  test('reserved concurrency must leave 100 executions unreserved, and then caps the function alone', async () => {
    await createFunction('reserved', SLOW)
    await expect(
      lambda.send(new PutFunctionConcurrencyCommand({ FunctionName: 'reserved', ReservedConcurrentExecutions: 2 }))
    ).rejects.toMatchObject({
      name: 'InvalidParameterValueException'
    })
    await control.setSimulation({ lambdaConcurrency: 1000 })
    await lambda.send(new PutFunctionConcurrencyCommand({ FunctionName: 'reserved', ReservedConcurrentExecutions: 2 }))
    expect(await lambda.send(new GetFunctionConcurrencyCommand({ FunctionName: 'reserved' }))).toMatchObject({
      ReservedConcurrentExecutions: 2
    })
    await invokeAsync('reserved', 6)
    await emu.waitIdle()
    expect(stats('reserved')).toMatchObject({ invocations: 6, peakConcurrency: 2 })
    await control.setSimulation({ lambdaConcurrency: 4 })
  })

  test('a function with reserved concurrency 0 throttles synchronous invocations', async () => {
    await control.setSimulation({ lambdaConcurrency: 1000 })
    await lambda.send(new PutFunctionConcurrencyCommand({ FunctionName: 'reserved', ReservedConcurrentExecutions: 0 }))
    const err = await lambda
      .send(new InvokeCommand({ FunctionName: 'reserved', Payload: '{"ms":1}' }))
      .catch((e: unknown) => e)
    expect(err).toBeInstanceOf(TooManyRequestsException)
    expect(err).toMatchObject({ Reason: 'ReservedFunctionConcurrentInvocationLimitExceeded' })
    await lambda.send(new DeleteFunctionConcurrencyCommand({ FunctionName: 'reserved' }))
    expect(await lambda.send(new GetFunctionConcurrencyCommand({ FunctionName: 'reserved' }))).not.toHaveProperty(
      'ReservedConcurrentExecutions'
    )
    expect((await lambda.send(new InvokeCommand({ FunctionName: 'reserved', Payload: '{"ms":1}' }))).StatusCode).toBe(
      200
    )
    await control.setSimulation({ lambdaConcurrency: 4 })
  })

  test('a failed asynchronous invocation is retried twice, then dropped', async () => {
    await createFunction('failing', FAILING)
    await invokeAsync('failing', 1)
    await emu.waitIdle()
    expect(stats('failing')).toMatchObject({ invocations: 3, errors: 3 })
  })
})
