/**
 * The offline demo: the emulator, the bundled action run as GitHub runs it on the seed's
 * wordpress example, the outputs and DNS records, then a spot interruption and the record
 * converging to the replacement instance.
 */
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2'
import { ListResourceRecordSetsCommand, Route53Client } from '@aws-sdk/client-route-53'
import { startEmulator, type Emulator } from '../emulator/server.js'
import { ACTION, runAction } from '../emulator/github-runner.js'
import { TAGS } from '../src/names.js'

const REGION = 'us-east-1'
const WORKSPACE = fileURLToPath(new URL('../examples/wordpress/', import.meta.url))
const credentials = { accessKeyId: 'AKIADEMO', secretAccessKey: 'demo' }

async function records(route53: Route53Client, zoneId: string): Promise<Map<string, string[]>> {
  const out = await route53.send(new ListResourceRecordSetsCommand({ HostedZoneId: zoneId }))
  const entries = (out.ResourceRecordSets ?? [])
    .filter((r) => r.Type === 'A')
    .map((r) => [r.Name ?? '', (r.ResourceRecords ?? []).map((v) => v.Value ?? '').sort()] as [string, string[]])
  return new Map(entries)
}

function printRecords(title: string, map: Map<string, string[]>): void {
  console.log(`\n${title}`)
  for (const [name, ips] of map) console.log(`  ${name.padEnd(52)} A  ${ips.join(', ')}`)
}

async function spotWordpress(ec2: EC2Client): Promise<{ id: string; ip: string }> {
  const out = await ec2.send(
    new DescribeInstancesCommand({
      Filters: [
        { Name: `tag:${TAGS.service}`, Values: ['wordpress'] },
        { Name: 'instance-state-name', Values: ['running'] }
      ]
    })
  )
  const spot = (out.Reservations ?? []).flatMap((r) => r.Instances ?? []).find((i) => i.InstanceLifecycle === 'spot')
  if (!spot?.InstanceId || !spot.PrivateIpAddress) throw new Error('no running spot wordpress instance found')
  return { id: spot.InstanceId, ip: spot.PrivateIpAddress }
}

async function converge(args: {
  cloud: Emulator
  route53: Route53Client
  zoneId: string
  name: string
  gone: string
}): Promise<string[]> {
  const deadline = Date.now() + 60_000
  let last = ''
  while (Date.now() < deadline) {
    const ips = (await records(args.route53, args.zoneId)).get(args.name) ?? []
    if (ips.join(',') !== last)
      console.log(`  ${new Date().toISOString().slice(11, 23)}  ${args.name}  ${ips.join(', ') || '(no record)'}`)
    last = ips.join(',')
    if (ips.length === 2 && !ips.includes(args.gone)) return ips
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`${args.name} did not converge within 60 s`)
}

async function main(): Promise<void> {
  if (!existsSync(ACTION)) throw new Error('dist/index.js is missing: run npm run bundle')
  const cloud = await startEmulator({
    simulation: { launchDelayMs: 400, terminateDelayMs: 400, spotReclaimDelayMs: 0 }
  })
  try {
    console.log(
      `Emulator listening on ${cloud.endpoint}\n\n$ node dist/index.js   (project prj-demo, stack st-wordpress, ${REGION})\n`
    )
    const run = await runAction({
      inputs: { project: 'prj-demo', stack: 'st-wordpress', region: REGION, 'compose-file': 'compose.yaml' },
      workspace: WORKSPACE,
      env: { AWS_ENDPOINT_URL: cloud.endpoint, AWS_REGION: REGION },
      echo: true
    })
    if (run.code !== 0) throw new Error(`the action failed with exit code ${run.code}`)
    console.log('\nOutputs:')
    for (const [name, value] of Object.entries(run.outputs)) if (name !== 'summary') console.log(`  ${name} = ${value}`)
    const zoneId = run.outputs['hosted-zone-id'] ?? ''
    const route53 = new Route53Client({ region: REGION, endpoint: cloud.endpoint, credentials })
    const ec2 = new EC2Client({ region: REGION, endpoint: cloud.endpoint, credentials })
    printRecords('DNS records:', await records(route53, zoneId))
    const victim = await spotWordpress(ec2)
    console.log(`\nSpot interruption of wordpress instance ${victim.id} (${victim.ip}); the record converges:`)
    cloud.spotInterrupt(victim.id)
    const name = 'wordpress.st-wordpress.prj-demo.us-east-1.internal.'
    const ips = await converge({ cloud, route53, zoneId, name, gone: victim.ip })
    console.log(`\n${name} now lists ${ips.join(', ')}: ${victim.ip} is gone and its replacement is in.`)
  } finally {
    await cloud.stop()
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error)
  process.exit(1)
})
