/**
 * The DNS updater under least privilege, end to end: the bundled action deploys a small stack,
 * and the emulator runs the DNS updater with its execution role's session, so every call the
 * function makes is evaluated against the policy the action wrote. It keeps the records current
 * under that policy (its group member reads included); with a policy naming another hosted zone,
 * its Route 53 writes fail with AccessDenied, and the failure is in the function's log group; with
 * the policy of earlier versions (no autoscaling:DescribeAutoScalingInstances), its group reads do.
 */
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals'
import { rmSync } from 'node:fs'
import { FilterLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs'
import { GetRolePolicyCommand, PutRolePolicyCommand } from '@aws-sdk/client-iam'
import { startEmulator, type Emulator } from '../emulator/server.js'
import { eventually } from '../emulator/testing.js'
import { functionName, logGroupName, ROLE_POLICY_NAME, roleName, type StackScope } from '../src/names.js'
import {
  action,
  aRecords,
  awsClients,
  destroyAws,
  projectView,
  runningIps,
  stackView,
  workspace,
  type Aws
} from './helpers/e2e.js'

const REGION = 'us-east-1'
const SCOPE: StackScope = { project: 'prj-least', stack: 'st-web', region: REGION }
const COMPOSE = `services:
  web:
    image: nginx:1
    ports: ["80:80"]
    deploy:
      replicas: 2
`
const FUNCTION_CALLER = `lambda-${functionName(SCOPE)}`

let emulator: Emulator
let aws: Aws
let dir: string

beforeAll(async () => {
  emulator = await startEmulator({ simulation: { launchDelayMs: 30, terminateDelayMs: 30, functionPendingMs: 30 } })
  aws = awsClients(emulator, REGION)
  dir = workspace({ 'compose.yaml': COMPOSE })
})

afterAll(async () => {
  destroyAws(aws)
  await emulator.stop()
  rmSync(dir, { recursive: true, force: true })
})

async function zoneId(): Promise<string> {
  return (await projectView(aws, SCOPE)).zones[0]?.id ?? ''
}

/** The web record against the running instances' IPs, once they agree. */
async function converged(): Promise<string[]> {
  const id = await zoneId()
  return eventually(async () => {
    const ips = runningIps(await stackView(aws, SCOPE), 'web')
    const record = (await aRecords(aws, id)).get(`web.${SCOPE.stack}.${SCOPE.project}.${REGION}.internal`) ?? []
    return ips.length === 2 && [...record].sort().join() === [...ips].sort().join() ? ips : undefined
  }, 20_000)
}

async function functionLog(): Promise<string[]> {
  const out = await aws.logs.send(new FilterLogEventsCommand({ logGroupName: logGroupName(SCOPE) }))
  return (out.events ?? []).map((e) => e.message ?? '')
}

describe('the DNS updater runs with its execution role', () => {
  test('keeps the records current under the policy the action wrote', async () => {
    await action({
      emulator,
      region: REGION,
      workspace: dir,
      inputs: {
        project: SCOPE.project,
        stack: SCOPE.stack,
        region: REGION,
        'compose-file': 'compose.yaml',
        wait: 'true',
        'wait-timeout': '60'
      }
    })
    emulator.resetCalls()
    const [first] = runningIps(await stackView(aws, SCOPE), 'web')
    const victim = (await stackView(aws, SCOPE)).instances.find((i) => i.ip === first)
    emulator.terminateInstance(victim?.id ?? '')
    await emulator.waitIdle()
    const ips = await converged()
    expect(ips).not.toContain(first)
    const calls = emulator.calls().filter((c) => c.caller === FUNCTION_CALLER)
    expect(calls.some((c) => c.operation === 'ChangeResourceRecordSets' && !c.errorCode)).toBe(true)
    expect(calls.some((c) => c.operation === 'DescribeAutoScalingInstances' && !c.errorCode)).toBe(true)
    // (a compare-and-swap conflict, InvalidChangeBatch, is the function's to retry; no call is refused)
    expect(
      calls
        .filter((c) => /AccessDenied|Unauthorized|Token|AuthFailure/.test(c.errorCode ?? ''))
        .map((c) => `${c.operation} ${c.errorCode ?? ''}`)
    ).toEqual([])
  })

  test('with a policy naming another zone, its Route 53 writes fail with AccessDenied, visible in its log group', async () => {
    const role = roleName(SCOPE)
    const current = await aws.iam.send(new GetRolePolicyCommand({ RoleName: role, PolicyName: ROLE_POLICY_NAME }))
    const id = (await zoneId()).replace(/^\/hostedzone\//, '')
    const document = decodeURIComponent(current.PolicyDocument ?? '')
    expect(document).toContain(`hostedzone/${id}`)
    await aws.iam.send(
      new PutRolePolicyCommand({
        RoleName: role,
        PolicyName: ROLE_POLICY_NAME,
        PolicyDocument: document.split(`hostedzone/${id}`).join('hostedzone/Z0WRONGZONE0')
      })
    )
    emulator.resetCalls()

    const [first] = runningIps(await stackView(aws, SCOPE), 'web')
    const victim = (await stackView(aws, SCOPE)).instances.find((i) => i.ip === first)
    emulator.terminateInstance(victim?.id ?? '')
    const denied = await eventually(async () => {
      const lines = (await functionLog()).filter((l) => l.includes('AccessDenied'))
      return lines.length > 0 ? lines : undefined
    }, 20_000)
    const account = emulator.accountId
    expect(denied.join('\n')).toContain(
      `arn:aws:sts::${account}:assumed-role/${role}/${functionName(SCOPE)} is not authorized to perform: route53:`
    )
    const failed = emulator
      .calls()
      .filter((c) => c.caller === FUNCTION_CALLER && c.service === 'route53' && c.errorCode === 'AccessDenied')
    expect(failed.length).toBeGreaterThan(0)
    await emulator.waitIdle()
  })

  test('with the policy of earlier versions, its group member reads fail with AccessDenied: the statement is needed', async () => {
    const role = roleName(SCOPE)
    const current = await aws.iam.send(new GetRolePolicyCommand({ RoleName: role, PolicyName: ROLE_POLICY_NAME }))
    const id = (await zoneId()).replace(/^\/hostedzone\//, '')
    const document = JSON.parse(
      decodeURIComponent(current.PolicyDocument ?? '')
        .split('hostedzone/Z0WRONGZONE0')
        .join(`hostedzone/${id}`)
    ) as { Statement: { Sid?: string; Action: string[] }[] }
    const earlier = document.Statement.filter((st) => !st.Action.includes('autoscaling:DescribeAutoScalingInstances'))
    expect(earlier).toHaveLength(document.Statement.length - 1)
    await aws.iam.send(
      new PutRolePolicyCommand({
        RoleName: role,
        PolicyName: ROLE_POLICY_NAME,
        PolicyDocument: JSON.stringify({ ...document, Statement: earlier })
      })
    )
    emulator.resetCalls()

    const [first] = runningIps(await stackView(aws, SCOPE), 'web')
    const victim = (await stackView(aws, SCOPE)).instances.find((i) => i.ip === first)
    emulator.terminateInstance(victim?.id ?? '')
    const denied = await eventually(async () => {
      const lines = (await functionLog()).filter((l) => l.includes('autoscaling:DescribeAutoScalingInstances'))
      return lines.length > 0 ? lines : undefined
    }, 20_000)
    expect(denied.join('\n')).toContain('is not authorized to perform: autoscaling:DescribeAutoScalingInstances')
    const failed = emulator
      .calls()
      .filter((c) => c.caller === FUNCTION_CALLER && c.operation === 'DescribeAutoScalingInstances')
    expect(failed.length).toBeGreaterThan(0)
    expect(failed.every((c) => c.errorCode === 'AccessDenied')).toBe(true)
    await emulator.waitIdle()
  })
})
