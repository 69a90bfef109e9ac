/**
 * The agent stand-in: what the real agent (a bash script on each instance) does once the instance
 * runs, done through the same AWS APIs with the instance role's credentials, so the role's IAM
 * policies are enforced as on AWS. Containers do not really run: an image in an emulated ECR
 * repository pulls when the token's caller may read it and it was pushed (PutImage); the image
 * catalogue says whether any other pull succeeds, and what every container does (logs, health, crash).
 *
 * The launch gate, as the real agent's: with `lifecycle` in the configuration, the agent finds its
 * Auto Scaling group (its tag aws:autoscaling:groupName in the instance metadata when the launch
 * template enabled InstanceMetadataTags; else DescribeAutoScalingInstances) and completes the group's launch hook with
 * CONTINUE once the container has run healthy for `containerSettleMs`, or with ABANDON when the pull
 * or a read fails, the container crashes for good (or more than 3 restarts) or is unhealthy; first
 * it writes `hyperform-agent: healthy` or `hyperform-agent: abandon: <reason>` to its stream
 * (`agentLog`). A later health change (`setHealth`, a control route) to unhealthy writes
 * `hyperform-agent: unhealthy: <reason>` and reports the instance with SetInstanceHealth. Each
 * Auto Scaling call is tried once (the role is usable once the configuration was read); a failure
 * is kept in the view's `error` and the run goes on.
 *
 * EC2's spot signals (`spotSignal`), as the real agent's spot watch hears them: only while its watch
 * is on (after CONTINUE, until a fault was reported). An interruption notice drains the container,
 * once: the watch ends (a later health change is not reported), the line
 * `hyperform-agent: spot interruption: stopping the container (reclaim at <time>)` (the time of IMDS
 * spot/instance-action), then the container exits after its stop grace period scaled by
 * `containerStopTimeScale` (ms per second, default 10) and `hyperform-agent: stopped` follows, unless
 * the instance went first. A rebalance recommendation is only written, once:
 * `hyperform-agent: rebalance recommendation`.
 */
import {
  AGENT_CONFIG_VERSION,
  type AgentConfig,
  type AgentHealthcheck,
  type Reference
} from '../../src/agent/config.js'
import { gunzipSync } from 'node:zlib'
import type { Cloud } from '../types.js'
import { ec2World, type InstanceRecord } from '../services/ec2/model.js'
import { GROUP_NAME_TAG } from '../services/autoscaling/fleet.js'
import { pullImage } from '../services/ecr/index.js'
import { AGENT_MARK } from '../../src/names.js'
import { agentAws, type AgentAws, type LogTarget } from './aws.js'
import { imageCatalogue, type ImageBehaviour } from './catalogue.js'
import { instanceCredentials, type SessionCredentials } from './instance-role.js'

export type ContainerState = 'pending' | 'pulling' | 'running' | 'exited' | 'failed'
export type ContainerHealth = 'healthy' | 'unhealthy' | 'none'
/**
 * The launch gate's verdict: pending until decided; continued or abandoned (the result the agent
 * completed its group's launch hook with, or would have, had the lookup of its group failed);
 * none without a gate (no `lifecycle` in the configuration) or in no Auto Scaling group.
 */
export type LifecycleOutcome = 'pending' | 'continued' | 'abandoned' | 'none'

/** What the real agent would hand to `docker run`, references resolved. */
export interface ContainerSpec {
  image: string
  command?: string[]
  entrypoint?: string[]
  ports: string[]
  dns: string
  dnsSearch: string[]
  /** Inline and resolved values together (the agent passes each by name, `-e KEY`). */
  env: Record<string, string>
  /** Each mounted read-only at `target`. */
  secrets: { name: string; target: string; mode: string; uid?: string; gid?: string; content: string }[]
  restart: string
  stopSignal: string
  stopGracePeriod: number
  logging:
    | { driver: 'awslogs'; group: string; region: string; stream: string; options: Record<string, string> }
    | { driver: 'none' }
  /** As configured; absent, the image's own check (the catalogue's `run`) applies. */
  healthcheck?: AgentHealthcheck
  awsCredentials: boolean
  /** The service's EBS volumes the agent attached (its replica slot's), each mounted at `target`; in mount order. */
  volumes: { name: string; volumeId: string; slot: number; target: string; readOnly: boolean }[]
  /** Repository files, each bound read-only at `target`; `content` decoded (UTF-8). */
  files: { target: string; mode: string; content: string }[]
}

export interface ContainerView {
  instanceId: string
  state: ContainerState
  health: ContainerHealth
  restarts: number
  lifecycle: LifecycleOutcome
  /** Why the launch was abandoned (the line's reason). */
  lifecycleReason?: string
  /** The instance's Auto Scaling group, as DescribeAutoScalingInstances named it. */
  group?: string
  /** The agent called SetInstanceHealth Unhealthy after a later health change (a failure: in `error`). */
  reportedUnhealthy?: boolean
  /** The agent drained the container on a spot interruption notice: the reclaim time the notice gave. */
  spotInterruption?: string
  /** The agent heard a rebalance recommendation (and wrote its line). */
  rebalanceRecommended?: boolean
  /**
   * Why the container failed; while it runs, the last agent call that failed (an Auto Scaling call,
   * a line to its stream), which the agent logs and survives.
   */
  error?: string
  /** Empty until the configuration is read. */
  image: string
  spec?: ContainerSpec
}

/** The two lines of the user data the agent starts from. */
export interface AgentUserData {
  region: string
  /** `<parameter name>:<version>`, an SSM version selector. */
  config: string
}

/** The HYPERFORM_REGION and HYPERFORM_CONFIG lines of base64 user data, or undefined when either is missing. */
export function agentUserData(userData: string | undefined): AgentUserData | undefined {
  if (!userData) return undefined
  const lines = Buffer.from(userData, 'base64').toString('utf8').split('\n')
  const value = (key: string): string | undefined =>
    lines
      .map((l) => l.replace(/\r$/, ''))
      .find((l) => l.startsWith(`${key}=`))
      ?.slice(key.length + 1)
  const region = value('HYPERFORM_REGION')
  const config = value('HYPERFORM_CONFIG')
  if (!region || !config || !/^.+:\d+$/.test(config)) return undefined
  return { region, config }
}

const ECR_IMAGE = /^\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com\//
const ATTEMPTS = 5
const DEFAULT_RETRY_DELAY_MS = 500
const DEFAULT_RESTART_DELAY_MS = 1000
const DEFAULT_MAX_RESTARTS = 10
/** The real agent waits 10 s (settleSeconds); the stand-in, by default, less. */
const DEFAULT_SETTLE_MS = 500
/** ms per second of the stop grace period a drained container takes to stop. */
const DEFAULT_STOP_TIME_SCALE = 10
/** More restarts than this while starting is a crash loop (the real agent's bound). */
const GATE_MAX_RESTARTS = 3
/** The real agent waits 900 s for a free volume; the stand-in, by default, less. */
const DEFAULT_VOLUME_WAIT_MS = 30_000
const DEFAULT_VOLUME_POLL_MS = 100
/** Device names in mount order, as the real agent's. */
const DEVICE_LETTERS = 'fghijklmnop'

/** Throttling or a server error: worth trying again. */
function transient(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } }
  return (
    /Throttl|TooManyRequests|RequestLimitExceeded|SlowDown/.test(e.name ?? '') ||
    (e.$metadata?.httpStatusCode ?? 0) >= 500
  )
}

/** The instance stopped (or the emulator did) while the agent was working: end quietly. */
class Stopped extends Error {}

/** The pull failed; `daemon` is docker's message. */
class PullFailed extends Error {
  constructor(readonly daemon: string) {
    super(`pull denied: ${daemon}`)
  }
}

/** A failure the agent reports as the container's error. */
function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err)
  return err.name && err.name !== 'Error' ? `${err.name}: ${err.message}` : err.message
}

/** Docker's --restart: whether a container that exited non-zero is started again after `restarts` restarts. */
export function restartsAgain(policy: string, restarts: number): boolean {
  if (policy === 'always' || policy === 'unless-stopped') return true
  const m = /^on-failure(?::(\d+))?$/.exec(policy)
  if (m) return m[1] === undefined || restarts < Number(m[1])
  return false
}

function parseConfig(text: string): AgentConfig {
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    throw new Error('the configuration parameter is not JSON')
  }
  const c = parsed as Partial<AgentConfig> | null
  if (typeof c !== 'object' || c === null) throw new Error('the configuration is not a JSON object')
  if (c.version !== AGENT_CONFIG_VERSION)
    throw new Error(`unsupported configuration version ${String(c.version)} (expected ${AGENT_CONFIG_VERSION})`)
  if (typeof c.image !== 'string' || !c.image) throw new Error('the configuration names no image')
  if (typeof c.logging !== 'object' || c.logging === null) throw new Error('the configuration has no logging')
  return c as AgentConfig
}

export class AgentRun {
  readonly view: ContainerView
  private stopped = false
  private readonly wakers = new Set<() => void>()

  constructor(
    private readonly cloud: Cloud,
    private readonly instance: InstanceRecord,
    private readonly userData: AgentUserData
  ) {
    this.view = {
      instanceId: instance.instanceId,
      state: 'pending',
      health: 'none',
      restarts: 0,
      lifecycle: 'pending',
      image: ''
    }
  }

  private config?: AgentConfig
  /** The launch gate has decided (and written its line). */
  private decided = false
  /** DescribeAutoScalingInstances said the instance is in no group. */
  private inNoGroup = false
  /** The gate decided CONTINUE: the watch is on, as the real agent's after the gate. */
  private watching = false

  /**
   * The running container's health changes (a control route): unhealthy once the launch gate has
   * passed, the agent writes its line and reports the instance Unhealthy; during the gate, the gate
   * sees it; without a gate, or after an abandon, the real agent watches nothing and neither does this.
   */
  setHealth(health: 'healthy' | 'unhealthy'): Promise<void> {
    if (this.stopped || this.view.state !== 'running') return Promise.resolve()
    const was = this.view.health
    this.view.health = health
    if (health !== 'unhealthy' || was === 'unhealthy' || !this.watching) return Promise.resolve()
    // the real watch reports the first fault, then ends
    this.watching = false
    return this.withAws(async (aws) => {
      await this.agentLine(aws, 'unhealthy: health check failing')
      // SetInstanceHealth names the instance only: made unless the instance is in no group.
      if (this.inNoGroup) return
      this.view.reportedUnhealthy = true
      await this.tolerated('SetInstanceHealth', () =>
        aws.reportUnhealthy(this.instance.instanceId, this.userData.region)
      )
    })
  }

  /**
   * EC2's spot signals for the instance, heard while the watch is on: an interruption notice drains the
   * container (once, the watch ended first), a rebalance recommendation is only written (once).
   */
  spotSignal(signal: 'interruption' | 'rebalance'): Promise<void> {
    if (this.stopped || this.view.state !== 'running' || !this.watching) return Promise.resolve()
    if (signal === 'rebalance') {
      if (this.view.rebalanceRecommended) return Promise.resolve()
      this.view.rebalanceRecommended = true
      return this.withAws((aws) => this.agentLine(aws, 'rebalance recommendation'))
    }
    const at = this.instance.spotInstanceAction?.time ?? 'unknown'
    this.view.spotInterruption = at
    // a stopping container is no fault: the watch ends before the container is stopped
    this.watching = false
    const grace = this.view.spec?.stopGracePeriod ?? 0
    return this.withAws(async (aws) => {
      await this.agentLine(aws, `spot interruption: stopping the container (reclaim at ${at})`)
      await this.sleep(grace * (this.cloud.simulation.containerStopTimeScale ?? DEFAULT_STOP_TIME_SCALE))
      // the instance went first: its container with it, nothing more written
      if (this.stopped) return
      this.view.state = 'exited'
      this.view.health = 'none'
      await this.agentLine(aws, 'stopped')
    })
  }

  /** A fresh client with the instance's credentials now. */
  private async withAws(work: (aws: AgentAws) => Promise<void>): Promise<void> {
    const credentials = instanceCredentials(this.cloud, this.instance)
    if (!credentials) {
      this.view.error = 'Unable to locate credentials: IMDS has no role credentials for the instance'
      return
    }
    const aws = agentAws(this.cloud.endpoint(), credentials)
    try {
      await work(aws)
    } finally {
      aws.destroy()
    }
  }

  /** One agent call whose failure is logged (the view's error), not fatal. */
  private async tolerated(what: string, call: () => Promise<void>): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      try {
        await call()
        return true
      } catch (err) {
        // Throttling (the account's Auto Scaling bucket is shared by every instance) and 5xx are tried
        // again while the instance lives: a verdict not delivered would hold the instance until the
        // hook's heartbeat timeout. Anything else is the answer.
        if (!transient(err) || this.stopped) {
          this.view.error = `${what}: ${describe(err)}`
          return false
        }
        // full jitter, as the SDKs and the CLI back off: instances that booted together do not retry together
        const base = this.cloud.simulation.agentRetryDelayMs ?? DEFAULT_RETRY_DELAY_MS
        await this.sleep(Math.random() * Math.min(10_000, base * 2 ** Math.min(attempt, 10)))
      }
    }
  }

  /** `hyperform-agent: <text>` to the agent's stream (`agentLog`), whatever the container's logging. */
  private async agentLine(aws: AgentAws, text: string): Promise<void> {
    const log = this.config?.agentLog
    if (!log) return
    const target = { region: log.region, group: log.group, stream: `${log.streamPrefix}/${this.instance.instanceId}` }
    await this.tolerated('writing to the log stream', async () => {
      await aws.createLogStream(target)
      await aws.putLogEvents(target, [`${AGENT_MARK} ${text}`])
    })
  }

  /**
   * The instance's group: as the real agent, first its tag aws:autoscaling:groupName from the instance
   * metadata (no API call; served only when the launch template enabled InstanceMetadataTags), else one
   * DescribeAutoScalingInstances; 'none' when it is in none.
   */
  private async findGroup(aws: AgentAws): Promise<void> {
    const tagged = this.instance.data.MetadataOptions?.InstanceMetadataTags === 'enabled'
    const fromTag = tagged ? this.instance.tags[GROUP_NAME_TAG] : undefined
    if (fromTag) {
      this.view.group = fromTag
      return
    }
    await this.tolerated('DescribeAutoScalingInstances', async () => {
      const group = await aws.groupOf(this.instance.instanceId, this.userData.region)
      if (group) this.view.group = group
      else {
        this.view.lifecycle = 'none'
        this.inNoGroup = true
      }
    })
  }

  /** The verdict: the line, then the hook completed (when the group is known). */
  private async decide(aws: AgentAws, result: 'CONTINUE' | 'ABANDON', reason?: string): Promise<void> {
    const hook = this.config?.lifecycle?.hook
    if (!hook || this.decided || this.stopped) return
    this.decided = true
    this.watching = result === 'CONTINUE'
    // In no group, the verdict is only the line: there is no hook to complete.
    if (this.view.lifecycle === 'pending') this.view.lifecycle = result === 'CONTINUE' ? 'continued' : 'abandoned'
    if (reason !== undefined) this.view.lifecycleReason = reason
    await this.agentLine(aws, result === 'CONTINUE' ? 'healthy' : `abandon: ${reason ?? ''}`)
    const group = this.view.group
    if (!group) return
    await this.tolerated('CompleteLifecycleAction', () =>
      aws.completeLifecycleAction({
        region: this.userData.region,
        group,
        hook,
        instanceId: this.instance.instanceId,
        result
      })
    )
  }

  /** The instance is shutting down: the container is stopped (nothing more is logged) and the agent ends. */
  stop(): void {
    this.stopped = true
    if (this.view.state === 'running') {
      this.view.state = 'exited'
      this.view.health = 'none'
    }
    for (const wake of this.wakers) wake()
  }

  /** Waits, or less if the run is stopped meanwhile. */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer)
        this.wakers.delete(done)
        resolve()
      }
      const timer = setTimeout(done, ms)
      this.wakers.add(done)
    })
  }

  private check(): void {
    if (this.stopped) throw new Stopped()
  }

  async main(): Promise<void> {
    let aws: AgentAws | undefined
    try {
      aws = agentAws(this.cloud.endpoint(), await this.credentials())
      await this.boot(aws)
    } catch (err) {
      if (err instanceof Stopped) return
      // Once the configuration is read, a failure abandons the launch (the line says why).
      if (aws && this.config) {
        const reason = err instanceof PullFailed ? `pull failed: ${err.daemon}` : describe(err)
        await this.decide(aws, 'ABANDON', reason).catch(() => undefined)
      }
      this.fail(describe(err))
    } finally {
      aws?.destroy()
    }
  }

  /** Waits before the next of ATTEMPTS tries (doubling from agentRetryDelayMs), or says there is none left. */
  private async backoff(attempt: number, throttled = false): Promise<boolean> {
    // the CLI retries throttling and 5xx itself under the agent's own attempts: more tries, shorter waits
    if (attempt >= (throttled ? ATTEMPTS * 3 : ATTEMPTS)) return false
    await this.sleep(
      (this.cloud.simulation.agentRetryDelayMs ?? DEFAULT_RETRY_DELAY_MS) * 2 ** Math.min(attempt - 1, 3)
    )
    this.check()
    return true
  }

  /** IMDS's credentials; a new instance profile may take a while to reach the instance, as on AWS. */
  private async credentials(): Promise<SessionCredentials> {
    for (let attempt = 1; ; attempt++) {
      const c = instanceCredentials(this.cloud, this.instance)
      if (c) return c
      if (!(await this.backoff(attempt)))
        throw new Error(
          'Unable to locate credentials: IMDS has no role credentials for the instance (no instance profile, no role in it, or a role ec2.amazonaws.com may not assume)'
        )
    }
  }

  private fail(error: string): void {
    if (this.stopped) return
    this.view.state = 'failed'
    this.view.health = 'none'
    this.view.error = error
  }

  private async boot(aws: AgentAws): Promise<void> {
    const config = parseConfig(await this.readConfig(aws))
    this.view.image = config.image
    if (config.lifecycle) {
      this.config = config
      await this.findGroup(aws)
      this.check()
    } else {
      this.view.lifecycle = 'none'
    }
    this.config = config
    this.view.spec = await this.resolveSpec(aws, config)
    this.check()
    // docker login to the registry, then no other ECR call: the pull itself uses the token
    const registry = config.registry
    const token = registry ? await this.retrying(() => aws.ecrLogin(registry.region)) : undefined
    this.check()
    this.view.state = 'pulling'
    this.pull(config.image, token)
    if (config.volumes) this.view.spec.volumes = await this.attachVolumes(aws, config)
    this.check()
    await this.runContainer(aws, this.view.spec, imageCatalogue(this.cloud).get(config.image))
  }

  /**
   * An ECR image is pulled as ECR authorizes the token's caller (docker without a token has none) and
   * only when the repository holds it (its tag or digest); any other image as the catalogue says.
   */
  private pull(image: string, token: string | undefined): void {
    if (ECR_IMAGE.test(image)) {
      const decision = pullImage(this.cloud, token ?? '', image)
      if (!decision.allowed) throw new PullFailed(`Error response from daemon: ${decision.message}`)
      return
    }
    if (imageCatalogue(this.cloud).get(image).pull === 'denied')
      throw new PullFailed(`Error response from daemon: pull access denied for ${image}`)
  }

  /**
   * One AWS read, tried again after any failure (doubling waits), as the agent retries each of
   * its reads: a new role's policies, a new profile, take a while to apply on AWS.
   */
  private async retrying<T>(read: () => Promise<T>, onlyTransient = false): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await read()
      } catch (err) {
        this.check()
        if (onlyTransient && !transient(err)) throw err
        if (!(await this.backoff(attempt, transient(err)))) throw err
      }
    }
  }

  private readConfig(aws: AgentAws): Promise<string> {
    return this.retrying(() => aws.parameter(this.userData.config, this.userData.region))
  }

  /** An ARN names its region; a plain parameter name is in the instance's region. */
  private resolve(aws: AgentAws, ref: Reference, region: string): Promise<string> {
    const name = 'ssm' in ref ? ref.ssm : ref.secret
    const where = name.startsWith('arn:') ? (name.split(':')[3] ?? region) : region
    return this.retrying(() => ('ssm' in ref ? aws.parameter(name, where) : aws.secret(name, where)))
  }

  private async resolveSpec(aws: AgentAws, config: AgentConfig): Promise<ContainerSpec> {
    const region = this.userData.region
    const env: Record<string, string> = { ...config.environment }
    for (const [key, ref] of Object.entries(config.environmentFrom ?? {}))
      env[key] = await this.resolve(aws, ref, region)
    const secrets: ContainerSpec['secrets'] = []
    for (const s of config.secrets ?? []) {
      const content = s.value ?? (s.from ? await this.resolve(aws, s.from, region) : '')
      secrets.push({
        name: s.name,
        target: s.target,
        mode: s.mode,
        ...(s.uid !== undefined ? { uid: s.uid } : {}),
        ...(s.gid !== undefined ? { gid: s.gid } : {}),
        content
      })
    }
    const logging: ContainerSpec['logging'] =
      config.logging.driver === 'awslogs'
        ? {
            driver: 'awslogs',
            group: config.logging.group,
            region: config.logging.region,
            stream: `${config.logging.streamPrefix}/${this.instance.instanceId}`,
            options: { ...config.logging.options }
          }
        : { driver: 'none' }
    return {
      image: config.image,
      ...(config.command ? { command: [...config.command] } : {}),
      ...(config.entrypoint ? { entrypoint: [...config.entrypoint] } : {}),
      ports: [...(config.ports ?? [])],
      dns: config.dns,
      dnsSearch: [...(config.dnsSearch ?? [])],
      env,
      secrets,
      restart: config.restart,
      stopSignal: config.stopSignal,
      stopGracePeriod: config.stopGracePeriod,
      logging,
      ...(config.healthcheck ? { healthcheck: structuredClone(config.healthcheck) } : {}),
      awsCredentials: config.awsCredentials,
      volumes: [],
      files: (config.files ?? []).map((f) => ({
        target: f.target,
        mode: f.mode,
        content: gunzipSync(Buffer.from(f.content, 'base64')).toString('utf8')
      }))
    }
  }

  /**
   * As the real agent: the first mount's volume of the lowest free slot in the instance's own zone
   * (AttachVolume is the lock: VolumeInUse or IncorrectState, another instance won it, the next is
   * tried), then the same slot's volume of every other mount; a volume in use (a dying instance's) is
   * waited for (simulation.agentVolumeWaitMs, looked at every agentVolumePollMs), never detached. The
   * wait is the run's own tracked work: it ends when the instance goes or the emulator stops. A blank
   * volume (no `filesystem` in its data) is "formatted": `filesystem: ext4` and the first-use marker
   * `first-use: <instance-id>`; otherwise its data is left alone.
   */
  private async attachVolumes(aws: AgentAws, config: AgentConfig): Promise<ContainerSpec['volumes']> {
    const { project, stack, mounts } = config.volumes!
    const region = this.userData.region
    const instanceId = this.instance.instanceId
    const zone = this.instance.availabilityZone
    const waitMs = this.cloud.simulation.agentVolumeWaitMs ?? DEFAULT_VOLUME_WAIT_MS
    const pollMs = this.cloud.simulation.agentVolumePollMs ?? DEFAULT_VOLUME_POLL_MS
    const attached: ContainerSpec['volumes'] = []
    let slot: string | undefined
    for (const [i, mount] of mounts.entries()) {
      const device = `/dev/sd${DEVICE_LETTERS[i] ?? 'f'}`
      const end = Date.now() + waitMs
      const query = { region, project, stack, service: config.service, name: mount.name, zone }
      let volumeId: string | undefined
      claim: for (;;) {
        this.check()
        const rows = await this.retrying(() => aws.volumes({ ...query, ...(slot === undefined ? {} : { slot }) }))
        this.check()
        const mine = rows.find((r) => r.instanceId === instanceId)
        if (mine) {
          slot = mine.slot
          volumeId = mine.volumeId
          if (mine.attachmentState === 'attached') break
        } else {
          for (const row of rows.filter((r) => r.state === 'available')) {
            try {
              await aws.attachVolume({ region, volumeId: row.volumeId, instanceId, device })
              slot = row.slot
              continue claim
            } catch (err) {
              const name = (err as { name?: string }).name ?? ''
              if (name !== 'VolumeInUse' && name !== 'IncorrectState')
                throw new Error(
                  `cannot attach volume ${row.volumeId} (${mount.name} of ${config.service}): ${describe(err)}`
                )
            }
          }
        }
        if (Date.now() >= end)
          throw new Error(
            `no free volume ${mount.name} of ${config.service} in ${zone} after ${Math.round(waitMs / 1000)}s`
          )
        await this.sleep(pollMs)
      }
      const data = ec2World(this.cloud).volumes.get(volumeId)?.data
      if (data && !('filesystem' in data)) {
        data.filesystem = 'ext4'
        data['first-use'] = instanceId
      }
      attached.push({ name: mount.name, volumeId, slot: Number(slot), target: mount.target, readOnly: mount.readOnly })
    }
    return attached
  }

  /**
   * Starts the container, and again after each crash while its restart policy says so (bounded);
   * the launch gate decides as it goes.
   */
  private async runContainer(aws: AgentAws, spec: ContainerSpec, behaviour: ImageBehaviour): Promise<void> {
    const target: LogTarget | undefined =
      spec.logging.driver === 'awslogs'
        ? { region: spec.logging.region, group: spec.logging.group, stream: spec.logging.stream }
        : undefined
    for (;;) {
      // docker run fails when the awslogs driver cannot create its stream (missing group, no permission)
      // (its SDK retries throttling and 5xx; anything else fails the run)
      if (target) await this.retrying(() => aws.createLogStream(target), true)
      this.check()
      this.view.state = 'running'
      // A disabled check leaves docker without a health status, whatever the image would report.
      const check = spec.healthcheck
      const disabled = check !== undefined && ('disable' in check || check.test?.[0] === 'NONE')
      this.view.health = behaviour.run === 'crash' || disabled ? 'none' : behaviour.run
      if (target) await this.putLines(aws, target, behaviour.logs)
      this.check()
      if (behaviour.run !== 'crash') return this.gate(aws)
      this.view.state = 'exited'
      const max = this.cloud.simulation.containerMaxRestarts ?? DEFAULT_MAX_RESTARTS
      const again = restartsAgain(spec.restart, this.view.restarts) && this.view.restarts < max
      const restarts = this.view.restarts
      if (!again || restarts > GATE_MAX_RESTARTS)
        await this.decide(
          aws,
          'ABANDON',
          `container exited with code 1${restarts > 0 ? ` after ${restarts} restarts` : ''}`
        )
      if (!again) return
      await this.sleep(this.cloud.simulation.containerRestartDelayMs ?? DEFAULT_RESTART_DELAY_MS)
      this.check()
      this.view.restarts += 1
    }
  }

  /** A running container: unhealthy is abandoned at once; otherwise, after the settle time, CONTINUE (or unhealthy by then). */
  private async gate(aws: AgentAws): Promise<void> {
    if (!this.config?.lifecycle || this.decided) return
    if (this.view.health !== 'unhealthy') {
      await this.sleep(this.cloud.simulation.containerSettleMs ?? DEFAULT_SETTLE_MS)
      this.check()
    }
    if (this.view.health === 'unhealthy') await this.decide(aws, 'ABANDON', 'unhealthy')
    else await this.decide(aws, 'CONTINUE')
  }

  /** A failed delivery does not stop the container: the awslogs driver reports it to the daemon's log only. */
  private async putLines(aws: AgentAws, target: LogTarget, lines: string[]): Promise<void> {
    try {
      await aws.putLogEvents(target, lines)
    } catch {
      // dropped
    }
  }
}
