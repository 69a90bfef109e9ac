/**
 * End to end, drift: the bundled action deploys the seed example into an in-process emulator;
 * the test then changes things behind its back through the SDK, as a person in the console
 * would. A `plan` run reports each change as drift and writes nothing; a deploy heals them all;
 * a third run finds nothing to do and the stack is what the first deploy made. A compose change
 * is reported as a change, not as drift. The cases run in order, each from the previous state.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { UpdateAutoScalingGroupCommand } from '@aws-sdk/client-auto-scaling'
import { DeleteLogGroupCommand, DescribeLogGroupsCommand } from '@aws-sdk/client-cloudwatch-logs'
import { CreateLaunchTemplateVersionCommand } from '@aws-sdk/client-ec2'
import { ListTargetsByRuleCommand, RemoveTargetsCommand } from '@aws-sdk/client-eventbridge'
import { DeleteEventSourceMappingCommand, ListEventSourceMappingsCommand } from '@aws-sdk/client-lambda'
import { ChangeResourceRecordSetsCommand } from '@aws-sdk/client-route-53'
import { startEmulator, type Emulator } from '../emulator/server.js'
import {
  asgName,
  functionName,
  launchTemplateName,
  logGroupName,
  recordName,
  RULE_TARGET_ID,
  ruleName,
  type StackScope
} from '../src/names.js'
import {
  action,
  aRecords,
  awsClients,
  destroyAws,
  operations,
  projectView,
  readsOf,
  runningIps,
  stackView,
  workspace,
  writesOf,
  type Aws,
  type Run,
  defaultVersionByHand
} from './helpers/e2e.js'

const REGION = 'us-east-1'
const SEED_DIR = fileURLToPath(new URL('../examples/wordpress/', import.meta.url))
const SEED = readFileSync(path.join(SEED_DIR, 'compose.yaml'), 'utf8')
const WP: StackScope = { project: 'prj-drift', stack: 'st-wordpress', region: REGION }
const WRONG_IP = '10.99.0.1'

let emulator: Emulator
let aws: Aws
const work = workspace({ 'compose.yaml': SEED })

function run(extra: Record<string, string> = {}): Promise<Run> {
  const inputs = {
    project: WP.project,
    stack: WP.stack,
    region: REGION,
    'compose-file': 'compose.yaml',
    wait: 'true',
    'wait-timeout': '60',
    ...extra
  }
  return action({ emulator, region: REGION, workspace: work, inputs })
}

interface Report {
  drift: { action: string; kind: string; name: string; reason: string }[]
  changes: { action: string; kind: string; name: string }[]
}
const report = (result: Run): Report => JSON.parse(result.outputs.summary ?? '') as Report
const lines = (list: { action: string; kind: string; name: string }[]): string[] =>
  list.map((c) => `${c.action} ${c.kind} ${c.name}`).sort()

/** Everything the action manages for the stack, as comparable data. */
async function picture(): Promise<Record<string, unknown>> {
  const view = await stackView(aws, WP)
  const project = await projectView(aws, WP)
  const zone = project.zones[0]?.id ?? ''
  const records = await aRecords(aws, zone)
  const [targets, mappings, logs] = await Promise.all([
    aws.events.send(new ListTargetsByRuleCommand({ Rule: ruleName(WP) })),
    aws.lambda.send(new ListEventSourceMappingsCommand({ FunctionName: functionName(WP) })),
    aws.logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: logGroupName(WP) }))
  ])
  return {
    project,
    groups: Object.fromEntries(
      [...view.groups].map(([name, g]) => [
        name,
        { min: g.min, max: g.max, desired: g.desired, template: g.launchTemplateId, version: g.launchTemplateVersion }
      ])
    ),
    templates: view.launchTemplates
      .map((t) => ({ name: t.name, id: t.id, defaultVersion: t.defaultVersion }))
      .sort((a, b) => a.name.localeCompare(b.name)),
    securityGroups: view.securityGroups.map((g) => g.id).sort(),
    instances: view.instances.map((i) => `${i.id} ${i.state}`).sort(),
    records: Object.fromEntries(
      ['db', 'wordpress'].map((s) => [s, { record: records.get(recordName(WP, s)), running: runningIps(view, s) }])
    ),
    targets: (targets.Targets ?? []).map((t) => `${t.Id} ${t.Arn}`),
    mappings: (mappings.EventSourceMappings ?? []).map((m) => `${m.EventSourceArn} ${m.BatchSize} ${m.State}`),
    retention: (logs.logGroups ?? []).map((g) => `${g.logGroupName} ${g.retentionInDays}`)
  }
}

beforeAll(async () => {
  emulator = await startEmulator({
    simulation: { launchDelayMs: 30, terminateDelayMs: 30, functionPendingMs: 30, sqsTimeScale: 0.05 }
  })
  aws = awsClients(emulator, REGION)
})

afterAll(async () => {
  destroyAws(aws)
  await emulator.stop()
  rmSync(work, { recursive: true, force: true })
})

describe("drift made behind the action's back", () => {
  let original: Record<string, unknown>
  const dbOnDemand = asgName(WP, 'db', 'on-demand')
  const dbSpot = asgName(WP, 'db', 'spot')
  const wpRecord = recordName(WP, 'wordpress')
  const expected = [
    `update auto-scaling-group ${dbOnDemand}`,
    `update auto-scaling-group ${dbSpot}`,
    `update dns-record ${wpRecord}`,
    `update launch-template ${launchTemplateName(WP, 'wordpress')}`,
    `create event-target ${ruleName(WP)}/${RULE_TARGET_ID}`,
    `create event-source-mapping ${functionName(WP)}`,
    `create log-group ${logGroupName(WP)}`
  ].sort()

  test('a fresh deploy of the seed example reports no drift', async () => {
    const result = await run()
    expect(result.outputs['drift-detected']).toBe('false')
    expect(result.summary).not.toContain('### Drift')
    await emulator.waitIdle()
    original = await picture()
    const records = original.records as Record<string, { record?: string[]; running: string[] }>
    expect(records.wordpress?.record).toEqual(records.wordpress?.running)
    expect(records.wordpress?.running).toHaveLength(2)
  })

  test('a plan run after hand-made changes reports each one as drift, in the outputs and the job summary, and writes nothing', async () => {
    const view = await stackView(aws, WP)
    const template = view.launchTemplates.find((t) => t.name === launchTemplateName(WP, 'db'))
    const zone = (await projectView(aws, WP)).zones[0]?.id ?? ''
    // unwire the DNS updater first, so nothing repairs the record behind the test's back either
    await aws.events.send(new RemoveTargetsCommand({ Rule: ruleName(WP), Ids: [RULE_TARGET_ID] }))
    const mapping = (await aws.lambda.send(new ListEventSourceMappingsCommand({ FunctionName: functionName(WP) })))
      .EventSourceMappings?.[0]?.UUID
    await aws.lambda.send(new DeleteEventSourceMappingCommand({ UUID: mapping }))
    await aws.logs.send(new DeleteLogGroupCommand({ logGroupName: logGroupName(WP) }))
    const made = await aws.ec2.send(
      new CreateLaunchTemplateVersionCommand({
        LaunchTemplateId: template?.id,
        SourceVersion: String(template?.defaultVersion),
        LaunchTemplateData: { InstanceType: 't3.large' }
      })
    )
    const handMade = String(made.LaunchTemplateVersion?.VersionNumber)
    await aws.autoScaling.send(
      new UpdateAutoScalingGroupCommand({
        AutoScalingGroupName: dbOnDemand,
        LaunchTemplate: { LaunchTemplateId: template?.id, Version: handMade }
      })
    )
    await aws.autoScaling.send(
      new UpdateAutoScalingGroupCommand({ AutoScalingGroupName: dbSpot, MinSize: 0, MaxSize: 2, DesiredCapacity: 1 })
    )
    // a new default version of the wordpress template, made in the console (the groups stay where they are)
    const wpTemplate = view.launchTemplates.find((t) => t.name === launchTemplateName(WP, 'wordpress'))
    const byHand = await defaultVersionByHand(aws, wpTemplate, 't3.xlarge')
    await emulator.waitIdle()
    await aws.route53.send(
      new ChangeResourceRecordSetsCommand({
        HostedZoneId: zone,
        ChangeBatch: {
          Changes: [
            {
              Action: 'UPSERT',
              ResourceRecordSet: { Name: wpRecord, Type: 'A', TTL: 10, ResourceRecords: [{ Value: WRONG_IP }] }
            }
          ]
        }
      })
    )
    const before = await picture()

    const result = await run({ command: 'plan' })
    expect(operations(writesOf(result.calls))).toEqual([])
    expect(result.outputs['drift-detected']).toBe('true')
    const drift = report(result).drift
    expect(lines(drift)).toEqual(expected)
    const reason = (name: string): string | undefined => drift.find((d) => d.name === name)?.reason
    expect(reason(wpRecord)).toBe(`lists ${WRONG_IP}; in service: ${runningIps(view, 'wordpress').join(', ')}`)
    expect(reason(dbSpot)).toBe('spot 1 (min 0, max 2) -> 0')
    expect(reason(dbOnDemand)).toBe(`launch template version ${handMade} -> version ${template?.defaultVersion}`)
    expect(reason(launchTemplateName(WP, 'wordpress'))).toBe(
      `default version ${byHand} -> ${wpTemplate?.defaultVersion} (set outside the action)`
    )
    expect(result.summary).toContain('### Drift')
    for (const d of drift) expect(result.summary).toContain(`| ${d.action} | ${d.kind} | ${d.name} |`)
    expect(result.stdout).toContain('drift: 7 resource(s) changed outside this action')
    expect(await picture()).toEqual(before)
  })

  test('a deploy heals every drift, and the next run reports none, writes nothing and finds the stack as first deployed', async () => {
    const healed = await run()
    expect(healed.outputs['drift-detected']).toBe('true')
    expect(lines(report(healed).drift)).toEqual(expected)
    const writes = operations(writesOf(healed.calls))
    expect(writes).toEqual(
      expect.arrayContaining([
        'PutTargets',
        'CreateEventSourceMapping',
        'CreateLogGroup',
        'PutRetentionPolicy',
        'UpdateAutoScalingGroup',
        'ChangeResourceRecordSets',
        'ModifyLaunchTemplate'
      ])
    )
    expect(
      writes.filter((op) => /CreateLaunchTemplate|SecurityGroup|Function|Role|HostedZone|PutRule/.test(op))
    ).toEqual([])

    const again = await run()
    expect(again.outputs['drift-detected']).toBe('false')
    expect(operations(writesOf(again.calls))).toEqual([])
    expect(again.outputs.changes).toBe('0')
    // judging the records costs one read of the records, one of the zone's SOA and one of the instances, and the wait reuses them
    const reads = operations(readsOf(again.calls))
    expect(reads.filter((op) => op === 'DescribeInstances' || op === 'ListResourceRecordSets').sort()).toEqual([
      'DescribeInstances',
      'ListResourceRecordSets',
      'ListResourceRecordSets'
    ])
    expect(reads).not.toContain('ListHostedZonesByName')
    await emulator.waitIdle()
    expect(await picture()).toEqual(original)
  })

  test('replicas changed in the compose file are reported as a change, not as drift', async () => {
    writeFileSync(path.join(work, 'compose.yaml'), SEED.replace('replicas: 2', 'replicas: 3'))
    const result = await run({ command: 'plan' })
    expect(result.outputs['drift-detected']).toBe('false')
    expect(result.summary).not.toContain('### Drift')
    expect(lines(report(result).changes)).toEqual([
      `update auto-scaling-group ${asgName(WP, 'wordpress', 'on-demand')}`
    ])
    expect(operations(writesOf(result.calls))).toEqual([])
  })
})
