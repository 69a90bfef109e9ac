/**
 * Verified rollouts, measured: the seed example deployed healthy, then a wordpress version that
 * crashes and one whose health check never passes, each deployed with wait: true and a long wait
 * timeout, alternately, `runs` times. Figures: the time from the first instance the agent abandoned
 * (its log line's timestamp) to the step's failure, against the wait timeout the step did not need;
 * the failed deploys' calls; the fewest addresses the wordpress record listed while they ran.
 */
import { FilterLogEventsCommand, CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs'
import { ListHostedZonesByNameCommand, ListResourceRecordSetsCommand, Route53Client } from '@aws-sdk/client-route-53'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { startEmulator, type Emulator } from '../emulator/server.js'
import { runAction } from '../emulator/github-runner.js'
import { sdkConfig } from '../emulator/testing.js'
import { AGENT_MARK, containerLogGroupName, recordName, zoneName } from '../src/names.js'
import { ACTION_KEY, actionCalls, OBSERVER_KEY, PROJECT, REGION, writeCompose } from './scenario.js'

const SEED = readFileSync(fileURLToPath(new URL('../examples/wordpress/compose.yaml', import.meta.url)), 'utf8')
const STACK = 'st-rollout'
const WAIT_TIMEOUT_S = 600
const BAD = [
  { image: 'wordpress:6.7', run: 'crash', logs: ['Error establishing a database connection'] },
  { image: 'wordpress:6.8', run: 'unhealthy', logs: ['listening on :80'] }
] as const

export interface FailedRollout {
  image: string
  /** The step failed (as it must), and said the rollout failed rather than timing out. */
  failedEarly: boolean
  /** First abandoned instance (agent line timestamp) -> the action's exit. */
  abandonToFailureMs: number
  wallMs: number
  reads: number
  writes: number
  /** The fewest addresses the wordpress record listed while the run went on, and before it. */
  recordMin: number
  recordBefore: number
}

export interface RolloutFigures {
  waitTimeoutS: number
  runs: FailedRollout[]
}

function deploy(emu: Emulator, workspace: string, image: string): ReturnType<typeof runAction> {
  writeCompose(workspace, SEED.replace('image: wordpress:latest', `image: ${image}`))
  return runAction({
    inputs: {
      project: PROJECT,
      stack: STACK,
      region: REGION,
      'compose-file': 'compose.yaml',
      wait: 'true',
      'wait-timeout': String(WAIT_TIMEOUT_S)
    },
    workspace,
    env: { AWS_ENDPOINT_URL: emu.endpoint, AWS_REGION: REGION, AWS_ACCESS_KEY_ID: ACTION_KEY },
    compileCache: false
  })
}

async function recordSize(route53: Route53Client, zoneId: string): Promise<number> {
  const name = `${recordName({ project: PROJECT, stack: STACK, region: REGION }, 'wordpress')}.`
  const out = await route53.send(
    new ListResourceRecordSetsCommand({
      HostedZoneId: zoneId,
      StartRecordName: name,
      StartRecordType: 'A',
      MaxItems: 1
    })
  )
  const set = out.ResourceRecordSets?.find((s) => s.Name === name && s.Type === 'A')
  return set?.ResourceRecords?.length ?? 0
}

/** The first abandon line the agent wrote at or after `since`. */
async function firstAbandon(logs: CloudWatchLogsClient, since: number): Promise<number | undefined> {
  const out = await logs.send(
    new FilterLogEventsCommand({
      logGroupName: containerLogGroupName({ project: PROJECT, stack: STACK, region: REGION }),
      filterPattern: `"${AGENT_MARK} abandon:"`,
      startTime: since
    })
  )
  const times = (out.events ?? []).map((e) => e.timestamp ?? Infinity)
  return times.length > 0 ? Math.min(...times) : undefined
}

export async function rolloutBench(runs: number, log: (line: string) => void): Promise<RolloutFigures> {
  const emu = await startEmulator({
    simulation: { launchDelayMs: 200, terminateDelayMs: 200 },
    images: BAD.map((b) => ({ ...b, logs: [...b.logs] }))
  })
  const config = sdkConfig(emu, { region: REGION, credentials: { accessKeyId: OBSERVER_KEY, secretAccessKey: 'x' } })
  const route53 = new Route53Client(config)
  const logs = new CloudWatchLogsClient(config)
  const workspace = mkdtempSync(path.join(tmpdir(), 'hyperform-bench-rollout-'))
  const out: FailedRollout[] = []
  try {
    const first = await deploy(emu, workspace, 'wordpress:6')
    if (first.code !== 0) throw new Error(`the healthy deploy failed:\n${first.stdout.slice(-2000)}`)
    const zones = await route53.send(
      new ListHostedZonesByNameCommand({ DNSName: zoneName({ project: PROJECT, region: REGION }) })
    )
    const zoneId = (zones.HostedZones?.[0]?.Id ?? '').replace('/hostedzone/', '')
    for (let i = 0; i < runs; i++) {
      const bad = BAD[i % BAD.length]!
      await emu.waitIdle()
      const recordBefore = await recordSize(route53, zoneId)
      let recordMin = recordBefore
      let sampling = true
      const sampler = (async () => {
        while (sampling) {
          recordMin = Math.min(recordMin, await recordSize(route53, zoneId))
          await new Promise((r) => setTimeout(r, 20))
        }
      })()
      emu.resetCalls()
      const since = Date.now()
      const run = await deploy(emu, workspace, bad.image)
      const endedAt = Date.now()
      sampling = false
      await sampler
      const abandonedAt = await firstAbandon(logs, since)
      const calls = actionCalls(emu.calls())
      const figures: FailedRollout = {
        image: bad.image,
        failedEarly: run.code !== 0 && run.stdout.includes('rollout failed'),
        abandonToFailureMs: abandonedAt === undefined ? NaN : endedAt - abandonedAt,
        wallMs: endedAt - since,
        reads: calls.filter((c) => c.kind === 'read').length,
        writes: calls.filter((c) => c.kind === 'write').length,
        recordMin,
        recordBefore
      }
      out.push(figures)
      log(
        `  ${bad.image} (${bad.run}): failed ${figures.failedEarly ? 'early' : 'WRONGLY'}, ${Math.round(figures.abandonToFailureMs)} ms after the first abandon; record min ${recordMin}/${recordBefore}`
      )
    }
    return { waitTimeoutS: WAIT_TIMEOUT_S, runs: out }
  } finally {
    route53.destroy()
    logs.destroy()
    await emu.stop()
    rmSync(workspace, { recursive: true, force: true })
  }
}
