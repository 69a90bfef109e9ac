/** Command-line options of the emulator CLI. */
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { imageBehaviours, type ImageBehaviour } from './agent/catalogue.js'
import type { EmulatorOptions, FaultSettings } from './types.js'

export const USAGE = `usage: npm run emulator -- [options]
  --port N                        port (default 4566; 0 = any free port)
  --host H                        address to listen on (default 127.0.0.1)
  --account-id ID                 12-digit account id
  --latency-ms N                  added latency per call
  --latency-jitter-ms N           random extra latency up to N ms
  --throttle-rate R               0..1 share of calls throttled
  --error-rate R                  0..1 share of calls answered with a 500
  --fault-services a,b            only inject faults into these services
  --role-propagation-seconds N    new IAM roles are not assumable by Lambda for N s
  --ec2-visibility-seconds N      new security groups / launch templates invisible for N s
  --duplicate-events R            0..1 share of events delivered twice
  --reorder-ms N                  events shuffled within an N ms window
  --seed N                        seed for every random choice
  --launch-delay-ms N             pending -> running
  --terminate-delay-ms N          shutting-down -> terminated
  --volume-create-delay-ms N      EBS volumes stay creating for N ms (default 20)
  --volume-attach-delay-ms N      EBS attachments stay attaching (detachments detaching) for N ms (default 20)
  --snapshot-delay-ms N           EBS snapshots stay pending for N ms (default 20)
  --no-spot-capacity              spot launches fail (ASGs keep retrying)
  --spot-reclaim-delay-ms N       a spot interruption's warning -> reclaim (default 120000, AWS's two minutes)
  --put-targets-failure-rate R    0..1 share of PutTargets entries reported as failed
  --route53-one-change-at-a-time  a change while the zone's last one is PENDING fails (PriorRequestNotComplete)
  --route53-sync-ms N             Route 53 changes stay PENDING for N ms
  --function-pending-ms N         new Lambda functions stay Pending for N ms
  --refresh-start-delay-ms N      instance refreshes stay Pending for N ms
  --lifecycle-time-scale N        ms per second of a lifecycle hook's heartbeat timeout (default 1000)
  --warmup-time-scale N           ms per second of an instance refresh's InstanceWarmup (default 0)
  --instance-profile-delay-ms N   EC2 and Auto Scaling do not see a new instance profile (or its new role) for N ms
  --lambda-concurrency N          the account's concurrent Lambda executions (default 10)
  --async-retry-scale R           factor on Lambda's async retry delays of 1 and 2 minutes (default 1/300)
  --sqs-time-scale R              factor on SQS durations: visibility, delays, long polls, retention, batching windows (default 1)
  --schedule-time-scale R         factor on the EventBridge schedule clock: rate(1 minute) fires every 60 s x R (default 1)
  --elb-time-scale R              factor on Elastic Load Balancing durations: provisioning, initial health checks, deregistration delay (default 1/100)
  --acm-validation-record-ms N    ACM shows a new certificate's DNS validation records after N ms (default 50)
  --images FILE                   the agent stand-in's image catalogue: a JSON array of
                                  {"image", "pull"?: "ok"|"denied", "run"?: "healthy"|"unhealthy"|"crash", "logs"?: [...]}
  --container-restart-delay-ms N  a crashed container is restarted after N ms (default 1000)
  --container-settle-ms N         a healthy container passes the agent's launch gate after N ms (default 500;
                                  the real agent: 10 s without a health status)
  --rate-limits                   enforce AWS per-account request rates
  --verbose                       one line per call on stderr
  --help`

const OPTIONS = {
  port: { type: 'string' },
  host: { type: 'string' },
  'account-id': { type: 'string' },
  'latency-ms': { type: 'string' },
  'latency-jitter-ms': { type: 'string' },
  'throttle-rate': { type: 'string' },
  'error-rate': { type: 'string' },
  'fault-services': { type: 'string' },
  'role-propagation-seconds': { type: 'string' },
  'ec2-visibility-seconds': { type: 'string' },
  'duplicate-events': { type: 'string' },
  'reorder-ms': { type: 'string' },
  seed: { type: 'string' },
  'launch-delay-ms': { type: 'string' },
  'terminate-delay-ms': { type: 'string' },
  'volume-create-delay-ms': { type: 'string' },
  'volume-attach-delay-ms': { type: 'string' },
  'snapshot-delay-ms': { type: 'string' },
  'spot-reclaim-delay-ms': { type: 'string' },
  'rate-limits': { type: 'boolean' },
  'no-spot-capacity': { type: 'boolean' },
  'put-targets-failure-rate': { type: 'string' },
  'route53-one-change-at-a-time': { type: 'boolean' },
  'route53-sync-ms': { type: 'string' },
  'function-pending-ms': { type: 'string' },
  'refresh-start-delay-ms': { type: 'string' },
  'lifecycle-time-scale': { type: 'string' },
  'warmup-time-scale': { type: 'string' },
  'instance-profile-delay-ms': { type: 'string' },
  'lambda-concurrency': { type: 'string' },
  'async-retry-scale': { type: 'string' },
  'sqs-time-scale': { type: 'string' },
  'schedule-time-scale': { type: 'string' },
  'elb-time-scale': { type: 'string' },
  'acm-validation-record-ms': { type: 'string' },
  images: { type: 'string' },
  'container-restart-delay-ms': { type: 'string' },
  'container-settle-ms': { type: 'string' },
  verbose: { type: 'boolean' },
  help: { type: 'boolean' }
} as const

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS }>>['values']

function num(values: Values, name: keyof Values): number | undefined {
  const raw = values[name]
  if (raw === undefined || typeof raw === 'boolean') return undefined
  const n = Number(raw)
  if (!Number.isFinite(n)) throw new Error(`--${name} needs a number, got '${raw}'`)
  return n
}

function faults(values: Values): Partial<FaultSettings> {
  const entries: [keyof FaultSettings, number | undefined][] = [
    ['latencyMs', num(values, 'latency-ms')],
    ['latencyJitterMs', num(values, 'latency-jitter-ms')],
    ['throttleRate', num(values, 'throttle-rate')],
    ['serverErrorRate', num(values, 'error-rate')],
    ['rolePropagationSeconds', num(values, 'role-propagation-seconds')],
    ['ec2VisibilitySeconds', num(values, 'ec2-visibility-seconds')],
    ['duplicateEventRate', num(values, 'duplicate-events')],
    ['reorderWindowMs', num(values, 'reorder-ms')],
    ['seed', num(values, 'seed')],
    ['putTargetsFailureRate', num(values, 'put-targets-failure-rate')]
  ]
  const out: Partial<FaultSettings> = Object.fromEntries(entries.filter(([, v]) => v !== undefined))
  if (values['no-spot-capacity']) out.spotCapacityUnavailable = true
  if (values['route53-one-change-at-a-time']) out.route53OneChangeAtATime = true
  if (values['fault-services'])
    out.services = values['fault-services']
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
  return out
}

/** The catalogue file: a JSON array of image entries, every one valid. */
function images(file: string): ImageBehaviour[] {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    throw new Error(`--images: cannot read ${file}: ${err instanceof Error ? err.message : String(err)}`, {
      cause: err
    })
  }
  try {
    const parsed: unknown = JSON.parse(text)
    if (!Array.isArray(parsed)) throw new Error('the file must hold a JSON array of image entries')
    return imageBehaviours(parsed)
  } catch (err) {
    throw new Error(`--images ${file}: ${err instanceof Error ? err.message : String(err)}`, { cause: err })
  }
}

export function optionsFromArgs(args: string[]): EmulatorOptions {
  const { values } = parseArgs({ args, options: OPTIONS, strict: true })
  const simulation = {
    launchDelayMs: num(values, 'launch-delay-ms'),
    terminateDelayMs: num(values, 'terminate-delay-ms'),
    volumeCreateDelayMs: num(values, 'volume-create-delay-ms'),
    volumeAttachDelayMs: num(values, 'volume-attach-delay-ms'),
    snapshotDelayMs: num(values, 'snapshot-delay-ms'),
    spotReclaimDelayMs: num(values, 'spot-reclaim-delay-ms'),
    route53SyncMs: num(values, 'route53-sync-ms'),
    functionPendingMs: num(values, 'function-pending-ms'),
    refreshStartDelayMs: num(values, 'refresh-start-delay-ms'),
    lifecycleTimeScale: num(values, 'lifecycle-time-scale'),
    warmupTimeScale: num(values, 'warmup-time-scale'),
    instanceProfileDelayMs: num(values, 'instance-profile-delay-ms'),
    lambdaConcurrency: num(values, 'lambda-concurrency'),
    asyncRetryScale: num(values, 'async-retry-scale'),
    sqsTimeScale: num(values, 'sqs-time-scale'),
    scheduleTimeScale: num(values, 'schedule-time-scale'),
    elbTimeScale: num(values, 'elb-time-scale'),
    acmValidationRecordMs: num(values, 'acm-validation-record-ms'),
    containerRestartDelayMs: num(values, 'container-restart-delay-ms'),
    containerSettleMs: num(values, 'container-settle-ms')
  }
  return {
    port: num(values, 'port') ?? 4566,
    ...(values.host ? { host: values.host } : {}),
    ...(values['account-id'] ? { accountId: values['account-id'] } : {}),
    faults: faults(values),
    simulation: Object.fromEntries(Object.entries(simulation).filter(([, v]) => v !== undefined)),
    ...(values.images !== undefined ? { images: images(values.images) } : {}),
    rateLimits: values['rate-limits'] ?? false,
    verbose: values.verbose ?? false
  }
}
