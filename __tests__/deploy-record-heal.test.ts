/** The record heal in apply: a compare-and-swap with a version bump from fresh reads, retried when another writer got there first. */
import { mockClient } from 'aws-sdk-client-mock'
import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2'
import { ChangeResourceRecordSetsCommand, ListResourceRecordSetsCommand, Route53Client } from '@aws-sdk/client-route-53'
import { createClients } from '../src/aws/clients.js'
import { Engine } from '../src/aws/engine.js'
import { healRecord } from '../src/resources/dns-record.js'
import { TAGS } from '../src/names.js'

const ec2 = mockClient(EC2Client)
const r53 = mockClient(Route53Client)
const clients = createClients({ region: 'us-east-1', maxAttempts: 1 })
const timing = { baseDelayMs: 1, maxDelayMs: 5, pollMs: 5, rolePropagationMs: 50, consistencyMs: 50, teardownMs: 50 }
const scope = { project: 'prj-demo', stack: 'st-wordpress', region: 'us-east-1' }
const NAME = 'db.st-wordpress.prj-demo.us-east-1.internal'
const target = { zoneId: 'Z1', scope, service: 'db', name: NAME, ttl: 10 }

function instances(ips: string[]): object {
  const tags = [
    { Key: TAGS.project, Value: 'prj-demo' },
    { Key: TAGS.stack, Value: 'st-wordpress' },
    { Key: TAGS.service, Value: 'db' }
  ]
  return {
    Reservations: [
      {
        Instances: ips.map((ip, n) => ({
          InstanceId: `i-${n}`,
          State: { Name: 'running' },
          PrivateIpAddress: ip,
          Tags: tags
        }))
      }
    ]
  }
}

/** The listing under the record's name: its A record (when `values` has any) and its version record (when `version` is given). */
const record = (values: string[], version?: number): object => ({
  ResourceRecordSets: [
    ...(values.length
      ? [{ Name: `${NAME}.`, Type: 'A', TTL: 60, ResourceRecords: values.map((Value) => ({ Value })) }]
      : []),
    ...(version === undefined
      ? []
      : [{ Name: `${NAME}.`, Type: 'TXT', TTL: 60, ResourceRecords: [{ Value: `"hyperform-version=${version}"` }] }])
  ],
  IsTruncated: false
})

const txt = (action: 'CREATE' | 'DELETE', n: number, ttl: number): object => ({
  Action: action,
  ResourceRecordSet: { Name: NAME, Type: 'TXT', TTL: ttl, ResourceRecords: [{ Value: `"hyperform-version=${n}"` }] }
})

beforeEach(() => {
  ec2.reset()
  r53.reset()
})

test('a record changed by another writer between read and write is read again and swapped from the new values', async () => {
  r53
    .on(ListResourceRecordSetsCommand)
    .resolvesOnce(record(['10.9.9.9'], 4))
    .resolves(record(['10.0.0.7'], 5))
  ec2.on(DescribeInstancesCommand).resolves(instances(['10.0.0.1']))
  r53
    .on(ChangeResourceRecordSetsCommand)
    .rejectsOnce(
      Object.assign(new Error('Tried to delete resource record set but it was not found'), {
        name: 'InvalidChangeBatch'
      })
    )
    .resolves({})
  const e = new Engine({ clients, log: () => undefined, timing })
  expect(await healRecord(e, target)).toBe(true)
  const batches = r53.commandCalls(ChangeResourceRecordSetsCommand).map((c) => c.args[0].input.ChangeBatch?.Changes)
  expect(batches).toHaveLength(2)
  expect(batches[1]).toEqual([
    {
      Action: 'DELETE',
      ResourceRecordSet: { Name: NAME, Type: 'A', TTL: 60, ResourceRecords: [{ Value: '10.0.0.7' }] }
    },
    {
      Action: 'CREATE',
      ResourceRecordSet: { Name: NAME, Type: 'A', TTL: 10, ResourceRecords: [{ Value: '10.0.0.1' }] }
    },
    txt('DELETE', 5, 60),
    txt('CREATE', 6, 10)
  ])
  expect(e.writes).toBe(2)
})

test('the heal swaps the A record and bumps the version in one batch, so a record put back to the value read (A-B-A) still fails it', async () => {
  // read: [10.9.9.9] at version 2; meanwhile others wrote twice and put the A record back: version 4
  r53
    .on(ListResourceRecordSetsCommand)
    .resolvesOnce(record(['10.9.9.9'], 2))
    .resolves(record(['10.0.0.1'], 5))
  ec2.on(DescribeInstancesCommand).resolves(instances(['10.0.0.1']))
  r53
    .on(ChangeResourceRecordSetsCommand)
    .rejectsOnce(
      Object.assign(new Error('values provided do not match the current values'), { name: 'InvalidChangeBatch' })
    )
  const e = new Engine({ clients, log: () => undefined, timing })
  expect(await healRecord(e, target)).toBe(false)
  const batches = r53.commandCalls(ChangeResourceRecordSetsCommand).map((c) => c.args[0].input.ChangeBatch?.Changes)
  expect(batches).toEqual([
    [
      {
        Action: 'DELETE',
        ResourceRecordSet: { Name: NAME, Type: 'A', TTL: 60, ResourceRecords: [{ Value: '10.9.9.9' }] }
      },
      {
        Action: 'CREATE',
        ResourceRecordSet: { Name: NAME, Type: 'A', TTL: 10, ResourceRecords: [{ Value: '10.0.0.1' }] }
      },
      txt('DELETE', 2, 60),
      txt('CREATE', 3, 10)
    ]
  ])
})

test('a missing record is created with a first version record, and emptying a record keeps its version record, bumped', async () => {
  r53
    .on(ListResourceRecordSetsCommand)
    .resolvesOnce(record([]))
    .resolves(record(['10.0.0.3'], 8))
  ec2
    .on(DescribeInstancesCommand)
    .resolvesOnce(instances(['10.0.0.1']))
    .resolves(instances([]))
  r53.on(ChangeResourceRecordSetsCommand).resolves({})
  const e = new Engine({ clients, log: () => undefined, timing })
  expect(await healRecord(e, target)).toBe(true)
  expect(await healRecord(e, target)).toBe(true)
  const batches = r53.commandCalls(ChangeResourceRecordSetsCommand).map((c) => c.args[0].input.ChangeBatch?.Changes)
  expect(batches).toEqual([
    [
      {
        Action: 'CREATE',
        ResourceRecordSet: { Name: NAME, Type: 'A', TTL: 10, ResourceRecords: [{ Value: '10.0.0.1' }] }
      },
      txt('CREATE', 1, 10)
    ],
    [
      {
        Action: 'DELETE',
        ResourceRecordSet: { Name: NAME, Type: 'A', TTL: 60, ResourceRecords: [{ Value: '10.0.0.3' }] }
      },
      txt('DELETE', 8, 60),
      txt('CREATE', 9, 10)
    ]
  ])
})

test('a record that already lists the running instances when apply reads it is left alone', async () => {
  r53.on(ListResourceRecordSetsCommand).resolves(record(['10.0.0.1']))
  ec2.on(DescribeInstancesCommand).resolves(instances(['10.0.0.1']))
  const e = new Engine({ clients, log: () => undefined, timing })
  expect(await healRecord(e, target)).toBe(false)
  expect(r53.commandCalls(ChangeResourceRecordSetsCommand)).toHaveLength(0)
})

test('a record that keeps changing gives up after a bounded number of attempts with a clear error', async () => {
  r53.on(ListResourceRecordSetsCommand).resolves(record(['10.9.9.9']))
  ec2.on(DescribeInstancesCommand).resolves(instances([]))
  r53.on(ChangeResourceRecordSetsCommand).rejects(Object.assign(new Error('conflict'), { name: 'InvalidChangeBatch' }))
  const e = new Engine({ clients, log: () => undefined, timing })
  await expect(healRecord(e, target)).rejects.toThrow(`record ${NAME} kept changing while being healed (6 attempts)`)
  const batches = r53
    .commandCalls(ChangeResourceRecordSetsCommand)
    .map((c) => c.args[0].input.ChangeBatch?.Changes?.map((x) => x.Action))
  expect(batches).toEqual(Array.from({ length: 6 }, () => ['DELETE', 'CREATE']))
})
