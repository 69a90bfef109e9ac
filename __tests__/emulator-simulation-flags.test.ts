/** The timings and limits of Lambda, SQS and schedules come from CLI flags and can be changed through the control API. */
import { afterAll, beforeAll, expect, test } from '@jest/globals'
import { optionsFromArgs } from '../emulator/cli-options.js'
import { EmulatorClient } from '../emulator/client.js'
import { startEmulator, type Emulator } from '../emulator/server.js'

let emu: Emulator

beforeAll(async () => {
  emu = await startEmulator()
})

afterAll(async () => {
  await emu.stop()
})

test('the CLI flags set the account concurrency, the async retry, SQS and schedule time scales', () => {
  const options = optionsFromArgs([
    '--lambda-concurrency',
    '50',
    '--async-retry-scale',
    '0.01',
    '--sqs-time-scale',
    '0.1',
    '--schedule-time-scale',
    '0.001'
  ])
  expect(options.simulation).toEqual({
    lambdaConcurrency: 50,
    asyncRetryScale: 0.01,
    sqsTimeScale: 0.1,
    scheduleTimeScale: 0.001
  })
  expect(() => optionsFromArgs(['--sqs-time-scale', 'fast'])).toThrow(/--sqs-time-scale needs a number/)
})

test('the control API reads and merges the simulation settings, and the next calls use them', async () => {
  const control = new EmulatorClient(emu.endpoint)
  expect(await control.simulation()).toMatchObject({ launchDelayMs: 30 })
  expect(await control.setSimulation({ lambdaConcurrency: 3, sqsTimeScale: 0.5 })).toMatchObject({
    launchDelayMs: 30,
    lambdaConcurrency: 3,
    sqsTimeScale: 0.5
  })
  expect(emu.cloud.simulation).toMatchObject({ lambdaConcurrency: 3, sqsTimeScale: 0.5 })
})
