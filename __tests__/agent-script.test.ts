/**
 * The instance agent script (agent/agent.sh), run for real with bash and the real AWS CLI against
 * the emulator, as an instance would: credentials only from the instance metadata service (the
 * instance role's), docker replaced by a stand-in that records what it is asked. Checked: the
 * `docker run` argv, that values travel only through docker's environment and the secret files,
 * the registry login, the AWS calls the agent made, a parameter the role may not read, `stop`,
 * a pull that keeps failing, and the launch gate: the lines the agent writes to its stream and
 * the Auto Scaling calls it makes (an `aws` wrapper records their argv and, unless a test says
 * otherwise, answers the autoscaling ones itself: the emulator's Auto Scaling has no lifecycle
 * hooks here), for a healthy, crashing, crash-looping, unhealthy or slow container, and the watch.
 */
import { spawn, spawnSync } from 'node:child_process'
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync
} from 'node:fs'
import { tmpdir } from 'node:os'
import { gzipSync } from 'node:zlib'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { CloudWatchLogsClient, CreateLogGroupCommand, GetLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs'
import { CreateRepositoryCommand, ECRClient } from '@aws-sdk/client-ecr'
import {
  AutoScalingClient,
  CreateAutoScalingGroupCommand,
  DescribeAutoScalingInstancesCommand
} from '@aws-sdk/client-auto-scaling'
import {
  AttachVolumeCommand,
  CreateLaunchTemplateCommand,
  CreateVolumeCommand,
  EC2Client,
  RunInstancesCommand,
  TerminateInstancesCommand
} from '@aws-sdk/client-ec2'
import {
  AddRoleToInstanceProfileCommand,
  CreateInstanceProfileCommand,
  CreateRoleCommand,
  IAMClient,
  PutRolePolicyCommand
} from '@aws-sdk/client-iam'
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager'
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm'
import { EmulatorClient } from '../emulator/client.js'
import { startEmulator, type Emulator } from '../emulator/server.js'
import { authorizeImagePull } from '../emulator/services/ecr/index.js'
import { ec2World } from '../emulator/services/ec2/model.js'
import { eventually, sdkConfig } from '../emulator/testing.js'
import type { CallRecord } from '../emulator/types.js'
import { instanceCredentials } from '../emulator/agent/instance-role.js'
import { instanceGrants } from '../src/agent/build.js'
import type { AgentConfig, AgentFile, AgentVolume } from '../src/agent/config.js'
import {
  asgName,
  configParameterName,
  containerLogGroupName,
  instanceRoleName,
  LAUNCH_HOOK,
  TAGS
} from '../src/names.js'
import { instancePolicy as renderInstancePolicy } from '../src/resources/instance-role.js'
import { buildUserData } from '../src/userdata.js'
// @ts-expect-error: a plain .mjs script without type declarations
import { installedAgent } from '../scripts/agent-script.mjs'
import { dockerStandIn, type DockerCall, type InspectState, type StandInImage } from './helpers/docker-stand-in.js'

const SOURCE = fileURLToPath(new URL('../agent/agent.sh', import.meta.url))
/** The agent as the user data installs it (scripts/agent-script.mjs: without its comments), written in beforeAll. */
let AGENT: string
const REGION = 'us-east-1'
const SCOPE = { project: 'prj', stack: 'st', region: REGION }
const WEB_CONFIG = configParameterName(SCOPE, 'web')
const API_CONFIG = configParameterName(SCOPE, 'api')
const DB_URL_PARAMETER = '/hyperform/prj/st/shared/db-url'
const LOG_GROUP = containerLogGroupName(SCOPE)
const GROUP = asgName(SCOPE, 'web', 'on-demand')
const GROUP_ARN = (name: string): string =>
  `arn:aws:autoscaling:${REGION}:${account}:autoScalingGroup:*:autoScalingGroupName/${name}`

/** Values that must reach the container and nothing else (no argv, no log line). */
const VALUES = {
  greeting: ` it's "quoted" $(touch never) \`reboot\`\nsecond line\n`,
  dotted: 'dotted-value-7c1e ünïcødé 日本語 🚀',
  dbUrl: 'postgres://app:pw-9f3a1c@db.internal:5432/app\n',
  dbPassword: 'db-password-4e8b2d 🔑\n',
  apiKey: 'inline-api-key-0d6f5a',
  apiMarker: 'api-config-marker-61b2'
}

/** Exec form whose arguments a shell would otherwise expand or split: a quote, `$`, `$(...)`, a newline. */
const HEALTH_ARGS = ['%s|', "it's", '$HOME $(touch never) `id`', 'a\nb', '']
const HEALTHCHECK = {
  test: ['CMD', 'printf', ...HEALTH_ARGS],
  intervalMs: 30_000,
  timeoutMs: 500,
  startPeriodMs: 90_000,
  startIntervalMs: 1_000,
  retries: 5
}

const SHELL_CHECK = { test: ['CMD-SHELL', `curl -f "http://localhost/$PORT" || exit 1`], retries: 0 }

let emu: Emulator
let control: EmulatorClient
let work: string
let account: string
let registry: string
let secretArn: string
/** The `web` instance and its metadata service. */
let instanceId: string

function webConfig(overrides: Partial<AgentConfig> = {}): AgentConfig {
  return {
    version: 1,
    service: 'web',
    image: `${registry}/prj/web:1.4`,
    registry: { host: registry, region: REGION },
    command: ['serve', '--port', '8080'],
    entrypoint: ['/bin/app', '--verbose'],
    ports: ['8080:8080/tcp', '9090:9090/udp'],
    dns: '172.28.0.2',
    dnsSearch: ['st.prj.us-east-1.internal', 'prj.us-east-1.internal'],
    environment: { GREETING: VALUES.greeting, 'dotted.name': VALUES.dotted },
    environmentFrom: { DATABASE_URL: { ssm: DB_URL_PARAMETER } },
    secrets: [
      {
        name: 'db_password',
        target: '/run/secrets/db_password',
        mode: '0400',
        uid: String(process.getuid?.() ?? 0),
        gid: String(process.getgid?.() ?? 0),
        from: { secret: secretArn }
      },
      { name: 'api_key', target: '/etc/app/api-key', mode: '0444', value: VALUES.apiKey }
    ],
    restart: 'on-failure:3',
    stopSignal: 'SIGINT',
    stopGracePeriod: 20,
    logging: {
      driver: 'awslogs',
      group: LOG_GROUP,
      region: REGION,
      streamPrefix: 'web',
      options: { mode: 'non-blocking', 'max-buffer-size': '4m' }
    },
    awsCredentials: false,
    lifecycle: { hook: LAUNCH_HOOK, settleSeconds: 10 },
    agentLog: { group: LOG_GROUP, region: REGION, streamPrefix: 'web' },
    ...overrides
  }
}

/** The policy a `web` instance gets: its own parameter, its references, its repository, its log streams. */
function instancePolicy(options: { autoScaling?: boolean } = {}): object {
  const ssmArn = (name: string) => `arn:aws:ssm:${REGION}:${account}:parameter${name}`
  return {
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Action: 'ssm:GetParameter', Resource: [ssmArn(WEB_CONFIG), ssmArn(DB_URL_PARAMETER)] },
      { Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: secretArn },
      { Effect: 'Allow', Action: 'ecr:GetAuthorizationToken', Resource: '*' },
      {
        Effect: 'Allow',
        Action: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchCheckLayerAvailability'],
        Resource: `arn:aws:ecr:${REGION}:${account}:repository/prj/web`
      },
      {
        Effect: 'Allow',
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Resource: `arn:aws:logs:${REGION}:${account}:log-group:${LOG_GROUP}:log-stream:web/*`
      },
      ...(options.autoScaling === false
        ? []
        : [
            { Effect: 'Allow', Action: 'autoscaling:DescribeAutoScalingInstances', Resource: '*' },
            {
              Effect: 'Allow',
              Action: [
                'autoscaling:CompleteLifecycleAction',
                'autoscaling:RecordLifecycleActionHeartbeat',
                'autoscaling:SetInstanceHealth'
              ],
              Resource: [GROUP_ARN(GROUP), GROUP_ARN(asgName(SCOPE, 'web', 'spot'))]
            }
          ])
    ]
  }
}

/**
 * An instance as a deploy makes it: a role EC2 may assume (with `policy`, if given), an instance
 * profile of the same name, and the user data. Returns its id; its IMDS is imdsOf(id).
 */
async function launch(role: string, policy?: object, options: { spot?: boolean } = {}): Promise<string> {
  const admin = sdkConfig(emu)
  const iam = new IAMClient(admin)
  const ec2 = new EC2Client(admin)
  try {
    const trust = {
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }]
    }
    await iam.send(new CreateRoleCommand({ RoleName: role, AssumeRolePolicyDocument: JSON.stringify(trust) }))
    if (policy) await grant(role, policy)
    await iam.send(new CreateInstanceProfileCommand({ InstanceProfileName: role }))
    await iam.send(new AddRoleToInstanceProfileCommand({ InstanceProfileName: role, RoleName: role }))
    const launched = await ec2.send(
      new RunInstancesCommand({
        MinCount: 1,
        MaxCount: 1,
        ImageId: 'ami-0a2023a1b2c3d4e5f',
        IamInstanceProfile: { Name: role },
        ...(options.spot ? { InstanceMarketOptions: { MarketType: 'spot' as const } } : {}),
        UserData: buildUserData({ region: REGION, config: { name: WEB_CONFIG, version: 1 } })
      })
    )
    return launched.Instances?.[0]?.InstanceId ?? ''
  } finally {
    iam.destroy()
    ec2.destroy()
  }
}

async function grant(role: string, policy: object): Promise<void> {
  const iam = new IAMClient(sdkConfig(emu))
  try {
    await iam.send(
      new PutRolePolicyCommand({ RoleName: role, PolicyName: 'agent', PolicyDocument: JSON.stringify(policy) })
    )
  } finally {
    iam.destroy()
  }
}

const imdsOf = (id: string): string => `${emu.endpoint}/_emulator/imds/${id}`

interface AgentRun {
  code: number | null
  stdout: string
  stderr: string
  docker: DockerCall[]
  /** The argv of each `aws` command the agent ran (global options included). */
  aws: string[][]
  calls: CallRecord[]
  run: string
}

/**
 * An `aws` wrapper first on PATH: records each argv, then runs the real CLI, except (mode `fake`)
 * for the autoscaling commands, answered here: describe-auto-scaling-instances prints `group` (in
 * no group: None), the others succeed silently. Mode `describe` answers only that one; `real`
 * none (the emulator answers, as it does an operation it lacks: with an error).
 */
type AutoScalingMode = 'fake' | 'describe' | 'real'
function awsStandIn(dir: string, mode: AutoScalingMode, group: string): { env: Record<string, string> } {
  const real = tools().aws
  const bin = path.join(dir, 'bin')
  mkdirSync(bin, { recursive: true })
  const script = [
    '#!/bin/bash',
    // the argv as its count and each argument, NUL-terminated (no interpreter started per call)
    `printf '%s\\0' "$#" "$@" >>"$AWS_STANDIN_LOG"`,
    'command="" seen=0',
    'for a in "$@"; do',
    '  if ((seen)) && [[ $a != -* ]]; then command=$a; break; fi',
    '  if [[ $a == autoscaling ]]; then seen=1; fi',
    'done',
    'if [[ $command == describe-auto-scaling-instances && $AWS_STANDIN_MODE != real ]]; then printf "%s\\n" "${AWS_STANDIN_GROUP:-None}"; exit 0; fi',
    'if ((seen)) && [[ $AWS_STANDIN_MODE == fake ]]; then exit 0; fi',
    `exec '${real}' "$@"`,
    ''
  ].join('\n')
  writeFileSync(path.join(bin, 'aws'), script, { mode: 0o755 })
  return {
    env: { AWS_STANDIN_LOG: path.join(dir, 'aws.argv'), AWS_STANDIN_MODE: mode, AWS_STANDIN_GROUP: group }
  }
}

function awsCalls(dir: string): string[][] {
  const file = path.join(dir, 'aws.argv')
  if (!existsSync(file)) return []
  const fields = readFileSync(file, 'utf8').split('\0')
  const calls: string[][] = []
  for (let i = 0; i + 1 < fields.length;) {
    const count = Number(fields[i])
    calls.push(fields.slice(i + 1, i + 1 + count))
    i += 1 + count
  }
  return calls
}

/**
 * The AWS CLI and the Python the agent runs, resolved once. Where they are version-manager shims
 * (pyenv's: a shell script that starts several processes on every call, a second or more each on
 * a busy machine), the programs the shims would run, and their folder first on the agent's PATH:
 * the same programs, started sooner. Elsewhere (Debian's awscli in CI) whatever PATH finds.
 */
let resolved: { aws: string; pythonBin: string } | undefined
function tools(): { aws: string; pythonBin: string } {
  if (!resolved) {
    const sh = (command: string): string => spawnSync('bash', ['-c', command], { encoding: 'utf8' }).stdout.trim()
    const shim = (program: string): boolean => sh(`command -v ${program}`).includes('/shims/')
    const aws = shim('aws') ? sh('pyenv which aws') : ''
    const python = shim('python3') ? sh('pyenv which python3') : ''
    resolved = { aws: aws || sh('command -v aws'), pythonBin: python ? path.dirname(python) : '' }
  }
  return resolved
}

/** The autoscaling commands among them, without the global options (--endpoint-url, --region). */
function autoscaling(run: AgentRun, heartbeats = false): string[][] {
  return run.aws
    .filter((argv) => argv.includes('autoscaling'))
    .filter((argv) => heartbeats || !argv.includes('record-lifecycle-action-heartbeat'))
    .map((argv) => {
      const rest = argv.slice(argv.indexOf('autoscaling') + 1)
      const out: string[] = []
      for (let i = 0; i < rest.length; i++) {
        if (rest[i] === '--region') i++
        else out.push(rest[i]!)
      }
      return out
    })
}

/** What the agent wrote to its stream `web/<instance-id>`. */
async function streamLines(instance: string, prefix = 'web'): Promise<string[]> {
  const logs = new CloudWatchLogsClient(sdkConfig(emu))
  try {
    const out = await logs.send(
      new GetLogEventsCommand({ logGroupName: LOG_GROUP, logStreamName: `${prefix}/${instance}` })
    )
    return (out.events ?? []).map((e) => e.message ?? '')
  } catch {
    return []
  } finally {
    logs.destroy()
  }
}

/** Runs `bash agent/agent.sh <command>` as the instance would, in a fresh directory unless `dir` is given. */
async function agent(
  command: 'start' | 'stop',
  options: {
    config?: string
    images?: StandInImage[]
    dir?: string
    attempts?: number
    delay?: number
    instance?: string
    onSpawn?: () => void
    /** How `aws autoscaling` is answered (default fake, in group GROUP; '' is in no group). */
    autoScaling?: AutoScalingMode
    group?: string
    /** Test-only timings and the watch (default: no watch). */
    env?: Record<string, string>
    /** Output to files, and only the agent's own exit awaited (a watch left running does not hold it). */
    detached?: boolean
  } = {}
): Promise<AgentRun> {
  const dir = options.dir ?? mkdtempSync(path.join(work, 'instance-'))
  const etc = path.join(dir, 'etc')
  const run = path.join(dir, 'run')
  mkdirSync(etc, { recursive: true })
  writeFileSync(
    path.join(etc, 'agent.env'),
    `HYPERFORM_REGION=${REGION}\nHYPERFORM_CONFIG=${options.config ?? `${WEB_CONFIG}:1`}\n`
  )
  const docker = dockerStandIn(dir, options.images)
  const awsWrapper = awsStandIn(dir, options.autoScaling ?? 'fake', options.group ?? GROUP)
  // No static credentials anywhere: the CLI must take the instance role's from the metadata service.
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_')))
  const env = {
    ...inherited,
    ...docker.env,
    // blkid and mkfs.ext4 live in sbin, which a non-root user's PATH may leave out (systemd's has it)
    PATH: [docker.bin, tools().pythonBin, process.env.PATH ?? '', '/usr/sbin', '/sbin'].filter(Boolean).join(':'),
    AWS_CONFIG_FILE: path.join(dir, 'no-aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: path.join(dir, 'no-aws-credentials'),
    HYPERFORM_ETC: etc,
    HYPERFORM_RUN: run,
    HYPERFORM_IMDS: imdsOf(options.instance ?? instanceId),
    HYPERFORM_AWS_ENDPOINT: emu.endpoint,
    HYPERFORM_ATTEMPTS: String(options.attempts ?? 3),
    HYPERFORM_RETRY_DELAY: String(options.delay ?? 0),
    ...awsWrapper.env,
    HYPERFORM_POLL: '0.05',
    HYPERFORM_SETTLE: '1',
    HYPERFORM_HEARTBEAT: '30',
    HYPERFORM_HEALTH_MARGIN: '0',
    HYPERFORM_WATCH_INTERVAL: '0.05',
    HYPERFORM_WATCH_ROUNDS: '0',
    HYPERFORM_SPOT_POLL: '0.05',
    // volumes and files under the instance's directory; mount and umount recorded (they need root and a block device)
    HYPERFORM_VOLUMES: path.join(dir, 'volumes'),
    HYPERFORM_FILES: path.join(dir, 'files'),
    HYPERFORM_DEVICES: path.join(work, 'dev'),
    HYPERFORM_MOUNT: mountStandIn(dir, 'mount'),
    HYPERFORM_UMOUNT: mountStandIn(dir, 'umount'),
    ...options.env
  }
  await control.resetCalls()
  if (options.detached) {
    // Output to files: the agent's exit is awaited, not the end of what it leaves running (the watch).
    const out = openSync(path.join(dir, `${command}.out`), 'w')
    const err = openSync(path.join(dir, `${command}.err`), 'w')
    const child = spawn('bash', [AGENT, command], { env, stdio: ['ignore', out, err] })
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve))
    closeSync(out)
    closeSync(err)
    const stdout = readFileSync(path.join(dir, `${command}.out`), 'utf8')
    const stderr = readFileSync(path.join(dir, `${command}.err`), 'utf8')
    return { code, stdout, stderr, docker: docker.calls(), aws: awsCalls(dir), calls: await control.calls(), run }
  }
  const child = spawn('bash', [AGENT, command], { env, stdio: ['ignore', 'pipe', 'pipe'] })
  options.onSpawn?.()
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
  return { code, stdout, stderr, docker: docker.calls(), aws: awsCalls(dir), calls: await control.calls(), run }
}

/** A `mount` or `umount` that records its arguments, one line per call, in <dir>/mounts. */
function mountStandIn(dir: string, name: string): string {
  const file = path.join(dir, 'bin', name)
  mkdirSync(path.dirname(file), { recursive: true })
  writeFileSync(file, `#!/bin/bash\nprintf '%s\\n' "${name} $*" >>'${path.join(dir, 'mounts')}'\n`, { mode: 0o755 })
  return file
}

const ops = (calls: CallRecord[]) =>
  calls.map((c) => `${c.service}:${c.operation}${c.errorCode ? ` ${c.errorCode}` : ''}`)

beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'hyperform-agent-'))
  AGENT = path.join(work, 'hyperform-agent')
  writeFileSync(AGENT, (installedAgent as (script: string) => string)(readFileSync(SOURCE, 'utf8')), { mode: 0o755 })
  // the real script is the agent here: the emulator runs no stand-in beside it
  emu = await startEmulator({ simulation: { agentStandIn: false } })
  control = new EmulatorClient(emu.endpoint)
  account = emu.accountId
  registry = `${account}.dkr.ecr.${REGION}.amazonaws.com`
  const admin = sdkConfig(emu)
  const ssm = new SSMClient(admin)
  const sm = new SecretsManagerClient(admin)
  const ecr = new ECRClient(admin)
  try {
    for (const repositoryName of ['prj/web', 'prj/api']) await ecr.send(new CreateRepositoryCommand({ repositoryName }))
    const secret = await sm.send(
      new CreateSecretCommand({ Name: 'prj/st/db-password', SecretString: VALUES.dbPassword })
    )
    secretArn = secret.ARN ?? ''
    const logs = new CloudWatchLogsClient(admin)
    await logs.send(new CreateLogGroupCommand({ logGroupName: LOG_GROUP }))
    logs.destroy()
    await ssm.send(new PutParameterCommand({ Name: DB_URL_PARAMETER, Value: VALUES.dbUrl, Type: 'SecureString' }))
    await ssm.send(
      new PutParameterCommand({ Name: WEB_CONFIG, Value: JSON.stringify(webConfig()), Type: 'SecureString' })
    )
    const api = webConfig({ service: 'api', environment: { MARKER: VALUES.apiMarker } })
    await ssm.send(new PutParameterCommand({ Name: API_CONFIG, Value: JSON.stringify(api), Type: 'SecureString' }))
    // Version 2 of web's parameter: a configuration this agent does not read.
    await ssm.send(
      new PutParameterCommand({
        Name: WEB_CONFIG,
        Value: JSON.stringify({ ...webConfig(), version: 2 }),
        Type: 'SecureString',
        Overwrite: true
      })
    )
    // Versions 3 to 6: a healthcheck in exec form, a disabled one, a shell one, test NONE.
    for (const healthcheck of [HEALTHCHECK, { disable: true as const }, SHELL_CHECK, { test: ['NONE'] }])
      await ssm.send(
        new PutParameterCommand({
          Name: WEB_CONFIG,
          Value: JSON.stringify(webConfig({ healthcheck })),
          Type: 'SecureString',
          Overwrite: true
        })
      )
  } finally {
    ssm.destroy()
    sm.destroy()
    ecr.destroy()
  }
  instanceId = await launch(instanceRoleName(SCOPE, 'web'), instancePolicy())
})

afterAll(async () => {
  await emu?.stop()
  rmSync(work, { recursive: true, force: true })
})

describe('the instance agent script', () => {
  let started: AgentRun

  beforeAll(async () => {
    started = await agent('start')
  })

  test('starts the container with the configuration as docker run arguments, values by name only', () => {
    expect(started.stderr).toContain('container web started')
    expect(started.code).toBe(0)
    const run = started.docker.find((c) => c.command === 'run')
    const secrets = path.join(started.run, 'secrets')
    expect(run?.args).toEqual([
      '-d',
      ...['--name', 'web', '--restart', 'on-failure:3', '--stop-signal', 'SIGINT', '--stop-timeout', '20'],
      ...['--dns', '172.28.0.2', '--dns-search', 'st.prj.us-east-1.internal', '--dns-search', 'prj.us-east-1.internal'],
      ...['-p', '8080:8080/tcp', '-p', '9090:9090/udp'],
      ...['-e', 'GREETING', '-e', 'dotted.name', '-e', 'DATABASE_URL'],
      '--mount',
      `type=bind,source=${secrets}/db_password,target=/run/secrets/db_password,readonly`,
      '--mount',
      `type=bind,source=${secrets}/api_key,target=/etc/app/api-key,readonly`,
      ...[
        '--log-driver',
        'awslogs',
        '--log-opt',
        `awslogs-region=${REGION}`,
        '--log-opt',
        `awslogs-group=${LOG_GROUP}`
      ],
      ...['--log-opt', `awslogs-stream=web/${instanceId}`],
      ...['--log-opt', 'mode=non-blocking', '--log-opt', 'max-buffer-size=4m'],
      ...['--entrypoint', '/bin/app'],
      `${registry}/prj/web:1.4`,
      ...['--verbose', 'serve', '--port', '8080']
    ])
  })

  test('talks to the local daemon socket with its own client configuration, whatever the environment says', () => {
    for (const call of started.docker) {
      expect(call.global).toEqual([
        '--host',
        'unix:///var/run/docker.sock',
        '--config',
        path.join(started.run, 'docker')
      ])
    }
  })

  test('docker receives every environment value byte for byte through its environment, none on any command line', () => {
    const run = started.docker.find((c) => c.command === 'run')
    expect(run?.env).toEqual({ GREETING: VALUES.greeting, 'dotted.name': VALUES.dotted, DATABASE_URL: VALUES.dbUrl })
    const argvs = [...started.docker.map((c) => c.argv), ...started.aws].map((argv) => argv.join('\0')).join('\n')
    for (const value of Object.values(VALUES)) {
      expect(argvs).not.toContain(value.trim())
      expect(started.stdout + started.stderr).not.toContain(value.trim())
    }
  })

  test('writes each secret to a root-only file with its mode and owner, mounted read-only at its target', () => {
    const secrets = path.join(started.run, 'secrets')
    expect(statSync(secrets).mode & 0o777).toBe(0o700)
    const db = path.join(secrets, 'db_password')
    expect(readFileSync(db, 'utf8')).toBe(VALUES.dbPassword)
    expect(statSync(db).mode & 0o777).toBe(0o400)
    expect(statSync(db).uid).toBe(process.getuid?.())
    const api = path.join(secrets, 'api_key')
    expect(readFileSync(api, 'utf8')).toBe(VALUES.apiKey)
    expect(statSync(api).mode & 0o777).toBe(0o444)
  })

  test('logs in to the registry as AWS with the password on stdin, pulls, and replaces a previous container', () => {
    expect(started.docker.map((c) => c.command)).toEqual(['login', 'pull', 'rm', 'run', 'inspect'])
    expect(started.docker[0]?.login).toEqual({ user: 'AWS', host: registry, passwordFromStdin: true })
    expect(started.docker[1]?.args).toEqual(['--quiet', `${registry}/prj/web:1.4`])
    expect(started.docker[2]?.args).toEqual(['-f', 'web'])
  })

  test("the registry login, kept in the agent's run directory, may pull the service's repository and no other", () => {
    const config = JSON.parse(readFileSync(path.join(started.run, 'docker', 'config.json'), 'utf8')) as {
      auths: Record<string, { auth: string }>
    }
    const auth = config.auths[registry]?.auth ?? ''
    expect(authorizeImagePull(emu.cloud, auth, `${registry}/prj/web:1.4`)).toMatchObject({ allowed: true })
    expect(authorizeImagePull(emu.cloud, auth, `${registry}/prj/api:1.0`)).toMatchObject({
      allowed: false,
      reason: 'denied'
    })
  })

  test('reads its configuration, the referenced parameter and secret, and a registry token, and writes its line, as the instance role', () => {
    expect(ops(started.calls)).toEqual([
      'ssm:GetParameter',
      'ssm:GetParameter',
      'secretsmanager:GetSecretValue',
      'ecr:GetAuthorizationToken',
      // the stream does not exist yet (docker here is a stand-in): made, then written
      'logs:PutLogEvents ResourceNotFoundException',
      'logs:CreateLogStream',
      'logs:PutLogEvents'
    ])
    for (const call of started.calls) expect(call.caller).toBe(`instance-${instanceId}`)
  })

  test('stop gives the container its grace period (the stop signal was set at run)', async () => {
    const dir = path.dirname(started.run)
    const stopped = await agent('stop', { dir })
    expect(stopped.code).toBe(0)
    const stop = stopped.docker.at(-1)
    expect(stop?.command).toBe('stop')
    expect(stop?.args).toEqual(['--time', '20', 'web'])
  })

  test('a role not yet usable for its configuration (IAM still propagating) is retried until it is', async () => {
    const role = 'hyperform-prj-st-late-us-east-1'
    const late = await launch(role)
    let granted: Promise<void> = Promise.resolve()
    const run = await agent('start', {
      instance: late,
      attempts: 6,
      delay: 1,
      onSpawn: () => {
        // Granted once the agent has been denied, as a role that becomes usable a moment after launch.
        granted = eventually(
          async () => ((await control.calls()).some((c) => c.errorCode === 'AccessDeniedException') ? true : undefined),
          20_000
        ).then(() => grant(role, instancePolicy()))
      }
    })
    await granted
    expect(run.stderr).toContain(
      `reading configuration parameter ${WEB_CONFIG}:1 failed (attempt 1 of 6), retrying in 1s`
    )
    expect(run.code).toBe(0)
    const reads = ops(run.calls).filter((o) => o.startsWith('ssm:GetParameter'))
    expect(reads[0]).toBe('ssm:GetParameter AccessDeniedException')
    expect(reads.at(-1)).toBe('ssm:GetParameter')
    expect(run.docker.map((c) => c.command)).toEqual(['login', 'pull', 'rm', 'run', 'inspect'])
  })

  test("another service's configuration is denied: the agent exits 4 naming the parameter, never its value", async () => {
    const denied = await agent('start', { config: `${API_CONFIG}:1`, attempts: 2 })
    expect(denied.code).toBe(4)
    expect(denied.stderr).toContain(`cannot read configuration parameter ${API_CONFIG}:1`)
    expect(denied.stderr).not.toContain(VALUES.apiMarker)
    expect(ops(denied.calls)).toEqual([
      'ssm:GetParameter AccessDeniedException',
      'ssm:GetParameter AccessDeniedException'
    ])
    expect(denied.docker).toEqual([])
  })

  test('a configuration of another version of the shape is refused (exit 5) before anything runs', async () => {
    const refused = await agent('start', { config: `${WEB_CONFIG}:2` })
    expect(refused.code).toBe(5)
    expect(refused.stderr).toContain('version is not 1')
    expect(refused.docker).toEqual([])
  })

  test('a healthcheck in exec form reaches docker run as one shell command that gives the program its arguments', async () => {
    const checked = await agent('start', { config: `${WEB_CONFIG}:3` })
    expect(checked.code).toBe(0)
    expect(checked.stdout + checked.stderr).not.toContain('touch never')
    const args = checked.docker.find((c) => c.command === 'run')?.args ?? []
    const health = args.filter((a) => a.startsWith('--health-'))
    expect(health).toEqual([
      `--health-cmd='printf' '%s|' 'it'\\''s' '$HOME $(touch never) \`id\`' 'a\nb' ''`,
      '--health-interval=30000ms',
      '--health-timeout=500ms',
      '--health-start-period=90000ms',
      '--health-start-interval=1000ms',
      '--health-retries=5'
    ])
    // Just before the entrypoint and image; nothing else changes.
    expect(args.indexOf(health[0]!)).toBe(args.indexOf('--entrypoint') - health.length)
    // The container's shell runs it: printf gets exactly the configured arguments.
    const cwd = mkdtempSync(path.join(work, 'health-'))
    const shell = spawnSync('/bin/sh', ['-c', health[0]!.slice('--health-cmd='.length)], { cwd, encoding: 'utf8' })
    expect(shell.stdout).toBe(
      HEALTH_ARGS.slice(1)
        .map((a) => `${a}|`)
        .join('')
    )
    expect(readdirSync(cwd)).toEqual([])
  })

  test.each([
    ['disable', 4],
    ['test NONE', 6]
  ])('a healthcheck disabled by %s is docker run --no-healthcheck and no other health flag', async (_, version) => {
    const disabled = await agent('start', { config: `${WEB_CONFIG}:${version}` })
    expect(disabled.code).toBe(0)
    const args = disabled.docker.find((c) => c.command === 'run')?.args ?? []
    expect(args.filter((a) => a.includes('health'))).toEqual(['--no-healthcheck'])
  })

  test('a CMD-SHELL healthcheck is the command as it is', async () => {
    const shell = await agent('start', { config: `${WEB_CONFIG}:5` })
    expect(shell.code).toBe(0)
    const args = shell.docker.find((c) => c.command === 'run')?.args ?? []
    expect(args.filter((a) => a.startsWith('--health-'))).toEqual([
      `--health-cmd=${SHELL_CHECK.test[1]}`,
      '--health-retries=0'
    ])
  })

  test('an image whose pull is denied fails the start (exit 8) after its retries, and nothing runs', async () => {
    const image = `${registry}/prj/web:1.4`
    const failed = await agent('start', { images: [{ image, pull: 'denied' }], attempts: 3 })
    expect(failed.code).toBe(8)
    expect(failed.docker.filter((c) => c.command === 'pull')).toHaveLength(3)
    expect(failed.docker.some((c) => c.command === 'run')).toBe(false)
    expect(failed.stderr).toContain('pull access denied')
    expect(failed.stderr).toContain(`cannot pull image ${image}`)
  })
})

describe('the launch gate and the watch', () => {
  const IMAGE = (): string => `${registry}/prj/web:1.4`
  const running = (health?: string, output?: string): InspectState => ({
    State: {
      Status: 'running',
      Running: true,
      ...(health ? { Health: { Status: health, Log: output ? [{ Output: output, ExitCode: 1 }] : [] } } : {})
    },
    RestartCount: 0
  })
  const complete = (result: string, group = GROUP): string[] => [
    'complete-lifecycle-action',
    ...['--lifecycle-hook-name', LAUNCH_HOOK, '--auto-scaling-group-name', group],
    ...['--lifecycle-action-result', result, '--instance-id', instanceId]
  ]

  /** Starts with scripted `docker inspect` states; answers the run and the lines it added to the stream. */
  async function gated(
    states: InspectState[] | undefined,
    options: Parameters<typeof agent>[1] = {}
  ): Promise<{ run: AgentRun; lines: string[] }> {
    const before = await streamLines(instanceId)
    const run = await agent('start', { images: states ? [{ image: IMAGE(), states }] : [], ...options })
    const after = await streamLines(instanceId)
    return { run, lines: after.slice(before.length) }
  }

  test('a healthy container: the agent finds its group, writes "healthy" to its stream, then completes the hook with CONTINUE', async () => {
    const { run, lines } = await gated([running('starting'), running('starting'), running('healthy')], {
      env: { HYPERFORM_HEARTBEAT: '0.2' }
    })
    expect(run.code).toBe(0)
    expect(lines).toEqual(['hyperform-agent: healthy'])
    // heartbeats while it reads, pulls and starts, none after the hook is completed
    const all = autoscaling(run, true)
    const heartbeats = all.filter((argv) => argv[0] === 'record-lifecycle-action-heartbeat')
    expect(heartbeats.length).toBeGreaterThan(0)
    for (const argv of heartbeats)
      expect(argv).toEqual([
        'record-lifecycle-action-heartbeat',
        ...['--lifecycle-hook-name', LAUNCH_HOOK, '--auto-scaling-group-name', GROUP, '--instance-id', instanceId]
      ])
    expect(all.at(-1)?.[0]).toBe('complete-lifecycle-action')
    // launched without instance metadata tags (IMDS answers 404): the group from the Auto Scaling API
    expect(autoscaling(run)).toEqual([
      [
        'describe-auto-scaling-instances',
        '--instance-ids',
        instanceId,
        ...['--query', 'AutoScalingInstances[0].AutoScalingGroupName', '--output', 'text']
      ],
      complete('CONTINUE')
    ])
    expect(run.stderr).toContain(
      `instance ${instanceId} is in Auto Scaling group ${GROUP} (launch hook ${LAUNCH_HOOK})`
    )
    expect(run.stderr).toContain(`launch hook ${LAUNCH_HOOK} of ${GROUP} completed with CONTINUE`)
    expect(run.docker.filter((c) => c.command === 'inspect').length).toBeGreaterThanOrEqual(3)
  })

  test('without a health status, the container is healthy once it has run the settle time without a restart', async () => {
    const { run, lines } = await gated([
      running(),
      { ...running(), RestartCount: 1 },
      { ...running(), RestartCount: 1 }
    ])
    expect(run.code).toBe(0)
    expect(lines).toEqual(['hyperform-agent: healthy'])
    expect(autoscaling(run).at(-1)).toEqual(complete('CONTINUE'))
  })

  test("a pull that keeps failing abandons the launch with docker's message (exit 8)", async () => {
    const { run, lines } = await agent('start', { images: [{ image: IMAGE(), pull: 'denied' }] }).then(async (r) => ({
      run: r,
      lines: (await streamLines(instanceId)).filter((l) => l.includes('pull failed'))
    }))
    expect(run.code).toBe(8)
    expect(lines.at(-1)).toBe(
      `hyperform-agent: abandon: pull failed: Error response from daemon: pull access denied for ${registry}/prj/web, repository does not exist or may require 'docker login': denied: requested access to the resource is denied`
    )
    expect(autoscaling(run).at(-1)).toEqual(complete('ABANDON'))
    expect(run.docker.some((c) => c.command === 'run')).toBe(false)
  })

  test('a container that exits and is not restarted abandons the launch with its exit code (exit 11)', async () => {
    const exited = { State: { Status: 'exited', Running: false, ExitCode: 3 }, RestartCount: 0 }
    const { run, lines } = await gated([running(), exited])
    expect(run.code).toBe(11)
    expect(lines).toEqual(['hyperform-agent: abandon: container exited with code 3'])
    expect(autoscaling(run).at(-1)).toEqual(complete('ABANDON'))
    expect(autoscaling(run).some((argv) => argv.includes('CONTINUE'))).toBe(false)
  })

  test('a container restarted more than 3 times abandons the launch, naming the exit code and the restarts', async () => {
    const restarting = (n: number): InspectState => ({
      State: { Status: 'restarting', Running: true, Restarting: true, ExitCode: 1 },
      RestartCount: n
    })
    const { run, lines } = await gated([restarting(1), restarting(2), restarting(3), restarting(4)])
    expect(run.code).toBe(11)
    expect(lines).toEqual(['hyperform-agent: abandon: container exited with code 1 after 4 restarts'])
    expect(autoscaling(run).at(-1)).toEqual(complete('ABANDON'))
  })

  test('an unhealthy container abandons the launch with the last health check output', async () => {
    const { run, lines } = await gated([
      running('starting'),
      running('unhealthy', 'curl: (7) Failed to connect\nto localhost port 80\n')
    ])
    expect(run.code).toBe(11)
    expect(lines).toEqual(['hyperform-agent: abandon: unhealthy: curl: (7) Failed to connect to localhost port 80'])
    expect(autoscaling(run).at(-1)).toEqual(complete('ABANDON'))
  })

  test('a health status still starting past start period + retries x (interval + timeout) abandons the launch', async () => {
    const slow: InspectState = {
      ...running('starting'),
      Config: { Healthcheck: { Interval: 100_000_000, Timeout: 100_000_000, Retries: 1, StartPeriod: 0 } }
    }
    const { run, lines } = await gated([slow])
    expect(run.code).toBe(11)
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(/^hyperform-agent: abandon: not healthy after \d+s$/)
    expect(autoscaling(run).at(-1)).toEqual(complete('ABANDON'))
  })

  test('launched by its group from a template with instance metadata tags, the agent reads its group from them: no DescribeAutoScalingInstances', async () => {
    const admin = sdkConfig(emu)
    const ec2 = new EC2Client(admin)
    const asg = new AutoScalingClient(admin)
    let member = ''
    try {
      const template = await ec2.send(
        new CreateLaunchTemplateCommand({
          LaunchTemplateName: 'web-metadata-tags',
          LaunchTemplateData: {
            ImageId: 'ami-0a2023a1b2c3d4e5f',
            IamInstanceProfile: { Name: instanceRoleName(SCOPE, 'web') },
            MetadataOptions: { HttpTokens: 'required', HttpEndpoint: 'enabled', InstanceMetadataTags: 'enabled' },
            UserData: buildUserData({ region: REGION, config: { name: WEB_CONFIG, version: 1 } })
          }
        })
      )
      await asg.send(
        new CreateAutoScalingGroupCommand({
          AutoScalingGroupName: GROUP,
          MinSize: 0,
          MaxSize: 1,
          DesiredCapacity: 1,
          LaunchTemplate: { LaunchTemplateId: template.LaunchTemplate?.LaunchTemplateId, Version: '$Default' },
          LifecycleHookSpecificationList: [
            {
              LifecycleHookName: LAUNCH_HOOK,
              LifecycleTransition: 'autoscaling:EC2_INSTANCE_LAUNCHING',
              HeartbeatTimeout: 600
            }
          ]
        })
      )
      member = await eventually(async () => {
        const out = await asg.send(new DescribeAutoScalingInstancesCommand({}))
        return out.AutoScalingInstances?.find(
          (i) => i.AutoScalingGroupName === GROUP && i.LifecycleState === 'Pending:Wait'
        )?.InstanceId
      })
      const run = await agent('start', {
        autoScaling: 'real',
        instance: member,
        images: [{ image: IMAGE(), states: [running('healthy')] }]
      })
      expect(run.code).toBe(0)
      expect(run.stderr).toContain(`instance ${member} is in Auto Scaling group ${GROUP} (instance metadata tag`)
      const mine = run.calls.filter((c) => c.caller === `instance-${member}` && c.service === 'autoscaling')
      expect(mine.map((c) => c.operation)).not.toContain('DescribeAutoScalingInstances')
      expect(mine.filter((c) => c.operation === 'CompleteLifecycleAction' && !c.errorCode)).toHaveLength(1)
      const state = await eventually(async () => {
        const out = await asg.send(new DescribeAutoScalingInstancesCommand({ InstanceIds: [member] }))
        const s = out.AutoScalingInstances?.[0]?.LifecycleState
        return s === 'InService' ? s : undefined
      })
      expect(state).toBe('InService')
    } finally {
      ec2.destroy()
      asg.destroy()
    }
  })

  test('an instance in no group runs its container and says so; its line is written all the same', async () => {
    const { run, lines } = await gated(undefined, { group: '' })
    expect(run.code).toBe(0)
    expect(run.stderr).toContain(`instance ${instanceId} is in no Auto Scaling group: no launch hook to complete`)
    expect(lines).toEqual(['hyperform-agent: healthy'])
    expect(autoscaling(run).map((argv) => argv[0])).toEqual(['describe-auto-scaling-instances'])
  })

  test('Auto Scaling answering with errors is logged and survived: the container runs', async () => {
    // A role without the Auto Scaling grants: the emulator answers each call AccessDenied.
    const denied = await launch('hyperform-prj-st-noas-us-east-1', instancePolicy({ autoScaling: false }))
    // The lookup refused: no group, no hook to complete, the container runs and its line is written.
    const lookup = await agent('start', { autoScaling: 'real', instance: denied })
    expect(lookup.code).toBe(0)
    expect(lookup.stderr).toContain(`cannot find the Auto Scaling group of ${denied}`)
    expect(ops(lookup.calls).filter((o) => o.startsWith('autoscaling:'))).toEqual(
      Array(3).fill('autoscaling:DescribeAutoScalingInstances AccessDenied')
    )
    expect(lookup.docker.some((c) => c.command === 'run')).toBe(true)
    expect(await streamLines(denied)).toEqual(['hyperform-agent: healthy'])
    // The group known (the lookup answered here), the completion refused: logged, the start still succeeds.
    const completion = await agent('start', { autoScaling: 'describe', instance: denied })
    expect(completion.code).toBe(0)
    const tried = completion.calls.filter((c) => c.operation === 'CompleteLifecycleAction')
    expect(tried.length).toBeGreaterThan(0)
    for (const call of tried) expect(call).toMatchObject({ caller: `instance-${denied}`, errorCode: 'AccessDenied' })
    expect(completion.stderr).toContain(`completing launch hook ${LAUNCH_HOOK} of ${GROUP} with CONTINUE failed`)
  })

  test('the watch: a container turning unhealthy after CONTINUE is reported Unhealthy to its group, with its line', async () => {
    const { run, lines } = await gated([running('healthy'), running('healthy'), running('unhealthy', 'HTTP 503')], {
      env: { HYPERFORM_WATCH_ROUNDS: '5' }
    })
    expect(run.code).toBe(0)
    expect(lines).toEqual(['hyperform-agent: healthy', 'hyperform-agent: unhealthy: health check failing: HTTP 503'])
    expect(autoscaling(run).slice(1)).toEqual([
      complete('CONTINUE'),
      [
        'set-instance-health',
        '--instance-id',
        instanceId,
        '--health-status',
        'Unhealthy',
        '--no-should-respect-grace-period'
      ]
    ])
  })

  test('the watch: a container that exits for good, or keeps restarting, is reported too; a healthy one is not', async () => {
    const exited = { State: { Status: 'exited', Running: false, ExitCode: 137 }, RestartCount: 0 }
    const gone = await gated([running('healthy'), running('healthy'), exited], { env: { HYPERFORM_WATCH_ROUNDS: '5' } })
    expect(gone.lines).toEqual([
      'hyperform-agent: healthy',
      'hyperform-agent: unhealthy: container exited with code 137'
    ])
    expect(autoscaling(gone.run).at(-1)?.[0]).toBe('set-instance-health')
    const loop = (n: number): InspectState => ({ ...running('starting'), RestartCount: n })
    const looping = await gated([running('healthy'), loop(1), loop(2), loop(3), loop(4)], {
      env: { HYPERFORM_WATCH_ROUNDS: '6' }
    })
    expect(looping.lines.at(-1)).toBe(
      'hyperform-agent: unhealthy: container keeps restarting: container exited with code 0 after 4 restarts'
    )
    const fine = await gated([running('healthy')], { env: { HYPERFORM_WATCH_ROUNDS: '3' } })
    expect(fine.lines).toEqual(['hyperform-agent: healthy'])
    expect(autoscaling(fine.run).some((argv) => argv[0] === 'set-instance-health')).toBe(false)
  })

  test('the watch runs on after start, in the background, until stop ends it before stopping the container: nothing is reported', async () => {
    const started = await agent('start', {
      images: [{ image: IMAGE(), states: [running('healthy')] }],
      env: { HYPERFORM_WATCH_ROUNDS: '-1' },
      detached: true
    })
    expect(started.code).toBe(0)
    const pidFile = path.join(started.run, 'watch.pid')
    const pid = await eventually(async () => (existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8')) : undefined))
    const alive = (): boolean => {
      try {
        process.kill(pid, 0)
        return true
      } catch {
        return false
      }
    }
    expect(alive()).toBe(true)
    const stopped = await agent('stop', { dir: path.dirname(started.run) })
    expect(stopped.code).toBe(0)
    expect(stopped.docker.at(-1)?.command).toBe('stop')
    await eventually(async () => (alive() ? undefined : true))
    expect(existsSync(pidFile)).toBe(false)
    expect(autoscaling(stopped).some((argv) => argv[0] === 'set-instance-health')).toBe(false)
    expect((await streamLines(instanceId)).at(-1)).toBe('hyperform-agent: healthy')
  })

  test('spot signals: a rebalance recommendation is written once and stops nothing; an interruption notice stops the container once, with its grace period, and nothing is reported unhealthy', async () => {
    // A spot instance of its own (the interruption ends it), its agent started with the watch on.
    const instance = await launch('hyperform-prj-st-spot-us-east-1', instancePolicy(), { spot: true })
    const started = await agent('start', {
      instance,
      images: [{ image: IMAGE(), states: [running('healthy')] }],
      env: { HYPERFORM_WATCH_ROUNDS: '-1' },
      detached: true
    })
    expect(started.code).toBe(0)
    const dir = path.dirname(started.run)
    // every docker call on the instance so far, its watch's included (as dockerStandIn's calls() reads them)
    const dockerCalls = (): DockerCall[] =>
      readFileSync(path.join(dir, 'docker.jsonl'), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as DockerCall)
    const stops = (): DockerCall[] => dockerCalls().filter((c) => c.command === 'stop')
    const lineSeen = (line: string) => async (): Promise<string[] | undefined> => {
      const all = await streamLines(instance)
      return all.includes(line) ? all : undefined
    }

    await control.rebalance(instance)
    await eventually(lineSeen('hyperform-agent: rebalance recommendation'), 60_000)
    // Ten more looks of the health watch, as many of the spot watch (same interval): no second line, no stop.
    const looked = dockerCalls().length
    await eventually(async () => (dockerCalls().length > looked + 10 ? true : undefined), 60_000)
    expect(stops()).toEqual([])

    await control.spotInterrupt(instance)
    const stop = await eventually(async () => stops()[0], 60_000)
    expect(stop.args).toEqual(['--time', '20', 'web'])
    const lines = await eventually(lineSeen('hyperform-agent: stopped'), 60_000)
    // the reclaim time IMDS gives, in the line
    const action = ec2World(emu.cloud).instances.get(instance)?.spotInstanceAction
    expect(action?.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
    expect(lines).toEqual([
      'hyperform-agent: healthy',
      'hyperform-agent: rebalance recommendation',
      `hyperform-agent: spot interruption: stopping the container (reclaim at ${action?.time ?? ''})`,
      'hyperform-agent: stopped'
    ])
    // The watch ends by itself once the container is drained: the stopped (exited) container is no fault.
    await eventually(async () => (existsSync(path.join(started.run, 'watch.pid')) ? undefined : true), 10_000)
    const stopped = await agent('stop', { dir })
    expect(stopped.code).toBe(0)
    expect(awsCalls(dir).some((argv) => argv.includes('set-instance-health'))).toBe(false)
    // once: the drain, then the unit's own stop
    expect(stops().map((c) => c.args)).toEqual([
      ['--time', '20', 'web'],
      ['--time', '20', 'web']
    ])
    expect(await streamLines(instance)).toEqual(lines)
  }, 240_000)

  test('no line the agent writes, and no aws argument, holds a configuration value', async () => {
    const all = (await streamLines(instanceId)).join('\n')
    for (const value of Object.values(VALUES)) expect(all).not.toContain(value.trim())
  })
})

describe('the instance agent script: named volumes and repository files', () => {
  const IMAGE = 'postgres:16'
  const healthy: InspectState = { State: { Status: 'running', Running: true }, RestartCount: 0 }
  let zone: string

  beforeAll(() => {
    zone = ec2World(emu.cloud).instances.get(instanceId)?.availabilityZone ?? ''
  })

  /** What `mount` and `umount` were asked on the instance whose agent ran in `dir`. */
  const mounts = (dir: string): string[] =>
    existsSync(path.join(dir, 'mounts')) ? readFileSync(path.join(dir, 'mounts'), 'utf8').trim().split('\n') : []
  /** The block device the agent finds for a volume (Nitro's name), a regular file here. */
  const device = (volumeId: string): string =>
    path.join(work, 'dev', 'disk', 'by-id', `nvme-Amazon_Elastic_Block_Store_${volumeId.replace('-', '')}`)
  const blkid = (file: string, tag: string): string =>
    spawnSync('blkid', ['-p', '-s', tag, '-o', 'value', file], {
      encoding: 'utf8',
      env: { ...process.env, PATH: `${process.env.PATH ?? ''}:/usr/sbin:/sbin` }
    }).stdout.trim()
  const attachedTo = async (volumeId: string): Promise<string | undefined> =>
    (await control.volume(volumeId)).attachment?.instanceId

  /** An EBS volume as the action makes it, with a blank 16 MiB device file; its id once available. */
  async function volume(tags: { service: string; name: string; slot: number; zone?: string }): Promise<string> {
    const ec2 = new EC2Client(sdkConfig(emu))
    try {
      const out = await ec2.send(
        new CreateVolumeCommand({
          AvailabilityZone: tags.zone ?? zone,
          Size: 1,
          Encrypted: true,
          TagSpecifications: [
            {
              ResourceType: 'volume',
              Tags: [
                { Key: TAGS.project, Value: 'prj' },
                { Key: TAGS.stack, Value: 'st' },
                { Key: TAGS.service, Value: tags.service },
                { Key: TAGS.volume, Value: tags.name },
                { Key: TAGS.slot, Value: String(tags.slot) },
                { Key: 'Name', Value: `prj-st-${tags.service}-${tags.name}-${tags.slot}` }
              ]
            }
          ]
        })
      )
      const id = out.VolumeId ?? ''
      mkdirSync(path.dirname(device(id)), { recursive: true })
      writeFileSync(device(id), '')
      truncateSync(device(id), 16 * 1024 * 1024)
      await eventually(async () => ((await control.volume(id)).state === 'available' ? true : undefined), 60_000)
      return id
    } finally {
      ec2.destroy()
    }
  }

  /**
   * A service mounting `mounts`: its configuration (version 1 of its parameter), its instance role with
   * the policy the action renders for it, and its instance profile.
   */
  async function volumeService(
    service: string,
    mounted: AgentVolume[],
    files?: AgentFile[]
  ): Promise<{ config: string; role: string }> {
    const parameter = configParameterName(SCOPE, service)
    const config: AgentConfig = {
      version: 1,
      service,
      image: IMAGE,
      ports: [],
      dns: '172.28.0.2',
      dnsSearch: [],
      environment: {},
      environmentFrom: {},
      secrets: [],
      restart: 'always',
      stopSignal: 'SIGTERM',
      stopGracePeriod: 5,
      logging: { driver: 'none' },
      awsCredentials: false,
      lifecycle: { hook: LAUNCH_HOOK, settleSeconds: 1 },
      agentLog: { group: LOG_GROUP, region: REGION, streamPrefix: service },
      volumes: { project: 'prj', stack: 'st', zone, mounts: mounted },
      ...(files ? { files } : {})
    }
    const admin = sdkConfig(emu)
    const ssm = new SSMClient(admin)
    const iam = new IAMClient(admin)
    const role = instanceRoleName(SCOPE, service)
    try {
      await ssm.send(new PutParameterCommand({ Name: parameter, Value: JSON.stringify(config), Type: 'SecureString' }))
      const trust = {
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }]
      }
      await iam.send(new CreateRoleCommand({ RoleName: role, AssumeRolePolicyDocument: JSON.stringify(trust) }))
      const grants = instanceGrants(config, { region: REGION, configParameter: parameter, groups: [GROUP] })
      await grant(role, JSON.parse(renderInstancePolicy(grants, { accountId: account, partition: 'aws' })) as object)
      await iam.send(new CreateInstanceProfileCommand({ InstanceProfileName: role }))
      await iam.send(new AddRoleToInstanceProfileCommand({ InstanceProfileName: role, RoleName: role }))
    } finally {
      ssm.destroy()
      iam.destroy()
    }
    return { config: `${parameter}:1`, role }
  }

  /** An instance of `service`, tagged as its groups tag theirs. */
  async function instanceOf(service: string, role: string): Promise<string> {
    const ec2 = new EC2Client(sdkConfig(emu))
    try {
      const out = await ec2.send(
        new RunInstancesCommand({
          MinCount: 1,
          MaxCount: 1,
          ImageId: 'ami-0a2023a1b2c3d4e5f',
          IamInstanceProfile: { Name: role },
          TagSpecifications: [
            {
              ResourceType: 'instance',
              Tags: [
                { Key: TAGS.project, Value: 'prj' },
                { Key: TAGS.stack, Value: 'st' },
                { Key: TAGS.service, Value: service }
              ]
            }
          ],
          UserData: buildUserData({ region: REGION, config: { name: configParameterName(SCOPE, service), version: 1 } })
        })
      )
      const id = out.Instances?.[0]?.InstanceId ?? ''
      await eventually(async () => (ec2World(emu.cloud).instances.get(id)?.state === 'running' ? true : undefined))
      return id
    } finally {
      ec2.destroy()
    }
  }

  async function terminate(id: string): Promise<void> {
    const ec2 = new EC2Client(sdkConfig(emu))
    try {
      await ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }))
    } finally {
      ec2.destroy()
    }
  }

  const attaches = (run: AgentRun): string[][] => run.aws.filter((argv) => argv.includes('attach-volume'))

  test('claims the free volume of the lowest slot of its service in its zone, formats it only when blank, mounts it and binds it into the container; a restart keeps it; stop unmounts it', async () => {
    const { config, role } = await volumeService('db', [
      { name: 'data', target: '/var/lib/postgresql/data', readOnly: false }
    ])
    // decoys, free: another service's volume in the zone, one of db's in another zone
    const other = await volume({ service: 'cache', name: 'data', slot: 0 })
    const elsewhere = await volume({
      service: 'db',
      name: 'data',
      slot: 0,
      zone: zone === `${REGION}b` ? `${REGION}a` : `${REGION}b`
    })
    const slot1 = await volume({ service: 'db', name: 'data', slot: 1 })
    const slot0 = await volume({ service: 'db', name: 'data', slot: 0 })
    const instance = await instanceOf('db', role)
    const first = await agent('start', { config, instance, images: [{ image: IMAGE, states: [healthy] }] })
    expect(first.stderr).toContain('container db started')
    expect(first.code).toBe(0)
    expect(await attachedTo(slot0)).toBe(instance)
    for (const id of [slot1, other, elsewhere]) expect(await attachedTo(id)).toBeUndefined()
    expect(attaches(first).map((argv) => argv.slice(argv.indexOf('attach-volume') + 1))).toEqual([
      ['--region', REGION, '--volume-id', slot0, '--instance-id', instance, '--device', '/dev/sdf']
    ])
    // a blank volume: an ext4 file system labelled with the volume's name
    expect(blkid(device(slot0), 'TYPE')).toBe('ext4')
    expect(blkid(device(slot0), 'LABEL')).toBe('data')
    const uuid = blkid(device(slot0), 'UUID')
    const dir = path.dirname(first.run)
    const mountPoint = path.join(dir, 'volumes', 'data')
    expect(mounts(dir)).toEqual([`mount ${device(slot0)} ${mountPoint}`])
    const run = first.docker.find((c) => c.command === 'run')
    const bind = run?.run?.options.filter(([o]) => o === '-v')
    expect(bind).toEqual([['-v', `${mountPoint}/data:/var/lib/postgresql/data`]])
    expect(await streamLines(instance, 'db')).toEqual(['hyperform-agent: healthy'])

    // the agent started again on the instance (its unit restarted): the same volume, no new file system
    const again = await agent('start', { config, instance, dir, images: [{ image: IMAGE, states: [healthy] }] })
    expect(again.code).toBe(0)
    // (the instance's directory keeps every call: the first start's too)
    expect(attaches(again)).toEqual(attaches(first))
    expect(blkid(device(slot0), 'UUID')).toBe(uuid)
    expect(
      again.docker
        .filter((c) => c.command === 'run')
        .at(-1)
        ?.run?.options.filter(([o]) => o === '-v')
    ).toEqual(bind)

    const stopped = await agent('stop', { config, instance, dir })
    expect(stopped.code).toBe(0)
    expect(stopped.docker.at(-1)?.command).toBe('stop')
    expect(mounts(dir).at(-1)).toBe(`umount ${mountPoint}`)
    // no DetachVolume: the instance's termination releases the volume
    expect(await attachedTo(slot0)).toBe(instance)
    expect(stopped.aws.some((argv) => argv.includes('detach-volume'))).toBe(false)
  }, 240_000)

  test('a service mounting two volumes claims a slot with the first (by name) and takes the same slot of the other', async () => {
    const { config, role } = await volumeService('wiki', [
      { name: 'a-data', target: '/data', readOnly: false },
      { name: 'b-logs', target: '/logs', readOnly: true }
    ])
    const logs0 = await volume({ service: 'wiki', name: 'b-logs', slot: 0 })
    const logs1 = await volume({ service: 'wiki', name: 'b-logs', slot: 1 })
    const data1 = await volume({ service: 'wiki', name: 'a-data', slot: 1 })
    const instance = await instanceOf('wiki', role)
    const run = await agent('start', { config, instance, images: [{ image: IMAGE, states: [healthy] }] })
    expect(run.code).toBe(0)
    expect(await attachedTo(data1)).toBe(instance)
    expect(await attachedTo(logs1)).toBe(instance)
    expect(await attachedTo(logs0)).toBeUndefined()
    expect((await control.volume(logs1)).attachment?.device).toBe('/dev/sdg')
    const dir = path.dirname(run.run)
    expect(run.docker.find((c) => c.command === 'run')?.run?.options.filter(([o]) => o === '-v')).toEqual([
      ['-v', `${dir}/volumes/a-data/data:/data`],
      ['-v', `${dir}/volumes/b-logs/data:/logs:ro`]
    ])
  }, 240_000)

  test('two agents starting at once on two instances take two different volumes', async () => {
    const { config, role } = await volumeService('queue', [{ name: 'data', target: '/data', readOnly: false }])
    const volumes = [await volume({ service: 'queue', name: 'data', slot: 0 })]
    volumes.push(await volume({ service: 'queue', name: 'data', slot: 1 }))
    const instances = [await instanceOf('queue', role), await instanceOf('queue', role)]
    const runs = await Promise.all(
      instances.map((instance) => agent('start', { config, instance, images: [{ image: IMAGE, states: [healthy] }] }))
    )
    for (const run of runs) expect(run.code).toBe(0)
    const owners = await Promise.all(volumes.map(attachedTo))
    expect([...owners].sort()).toEqual([...instances].sort())
  }, 240_000)

  test('a volume still attached to another instance is waited for, never taken from it, and claimed once that instance is terminated', async () => {
    const { config, role } = await volumeService('store', [{ name: 'data', target: '/data', readOnly: false }])
    const only = await volume({ service: 'store', name: 'data', slot: 0 })
    const holder = await instanceOf('store', role)
    expect(
      (await agent('start', { config, instance: holder, images: [{ image: IMAGE, states: [healthy] }] })).code
    ).toBe(0)
    const uuid = blkid(device(only), 'UUID')
    const waiter = await instanceOf('store', role)
    const dir = mkdtempSync(path.join(work, 'instance-'))
    const waiting = agent('start', {
      config,
      instance: waiter,
      dir,
      images: [{ image: IMAGE, states: [healthy] }],
      env: { HYPERFORM_POLL: '0.2', HYPERFORM_VOLUME_WAIT: '600' }
    })
    // the waiter has looked more than once and found the volume in use
    await eventually(
      async () => (awsCalls(dir).filter((argv) => argv.includes('describe-volumes')).length >= 3 ? true : undefined),
      60_000
    )
    expect(await attachedTo(only)).toBe(holder)
    await terminate(holder)
    const run = await waiting
    expect(run.code).toBe(0)
    expect(await attachedTo(only)).toBe(waiter)
    // the data survived: the file system of the first instance, not a new one
    expect(blkid(device(only), 'UUID')).toBe(uuid)
    expect(run.aws.some((argv) => argv.includes('detach-volume'))).toBe(false)
  }, 240_000)

  test("no volume of another service is attached: without a free one of its own it abandons the launch after its wait, and its role may not attach the other's", async () => {
    const { config, role } = await volumeService('search', [{ name: 'data', target: '/data', readOnly: false }])
    const foreign = await volume({ service: 'other', name: 'data', slot: 0 })
    const instance = await instanceOf('search', role)
    const run = await agent('start', {
      config,
      instance,
      images: [{ image: IMAGE, states: [healthy] }],
      env: { HYPERFORM_POLL: '0.2', HYPERFORM_VOLUME_WAIT: '2' }
    })
    expect(run.code).toBe(12)
    expect(await attachedTo(foreign)).toBeUndefined()
    expect(attaches(run)).toEqual([])
    expect(run.docker.some((c) => c.command === 'run')).toBe(false)
    expect(await streamLines(instance, 'search')).toEqual([
      `hyperform-agent: abandon: no free volume data of search in ${zone} after 2s`
    ])
    expect(autoscaling(run).at(-1)).toEqual([
      'complete-lifecycle-action',
      ...['--lifecycle-hook-name', LAUNCH_HOOK, '--auto-scaling-group-name', GROUP],
      ...['--lifecycle-action-result', 'ABANDON', '--instance-id', instance]
    ])
    // the instance role itself: AttachVolume of the other service's volume is refused
    const record = ec2World(emu.cloud).instances.get(instance)
    const credentials = record && instanceCredentials(emu.cloud, record)
    expect(credentials).toBeDefined()
    const ec2 = new EC2Client({ ...sdkConfig(emu), credentials: credentials! })
    try {
      await expect(
        ec2.send(new AttachVolumeCommand({ VolumeId: foreign, InstanceId: instance, Device: '/dev/sdf' }))
      ).rejects.toMatchObject({ name: 'UnauthorizedOperation' })
    } finally {
      ec2.destroy()
    }
    expect(await attachedTo(foreign)).toBeUndefined()
  }, 240_000)

  test('repository files are written under a root-only directory with their mode and bound read-only', async () => {
    const files: AgentFile[] = [
      { target: '/etc/app/app.conf', mode: '0440', content: gzipSync('listen 8080;\n').toString('base64') },
      { target: '/etc/motd', mode: '0444', content: gzipSync('héllo 🚀\n').toString('base64') }
    ]
    const { config, role } = await volumeService('files', [{ name: 'data', target: '/data', readOnly: false }], files)
    await volume({ service: 'files', name: 'data', slot: 0 })
    const instance = await instanceOf('files', role)
    const run = await agent('start', { config, instance, images: [{ image: IMAGE, states: [healthy] }] })
    expect(run.code).toBe(0)
    const dir = path.join(path.dirname(run.run), 'files')
    expect(statSync(dir).mode & 0o777).toBe(0o700)
    expect(readFileSync(path.join(dir, '0'), 'utf8')).toBe('listen 8080;\n')
    expect(statSync(path.join(dir, '0')).mode & 0o777).toBe(0o440)
    expect(readFileSync(path.join(dir, '1'), 'utf8')).toBe('héllo 🚀\n')
    expect(statSync(path.join(dir, '1')).mode & 0o777).toBe(0o444)
    const binds = run.docker.find((c) => c.command === 'run')?.run?.options.filter(([o]) => o === '-v')
    expect(binds?.slice(0, 2)).toEqual([
      ['-v', `${dir}/0:/etc/app/app.conf:ro`],
      ['-v', `${dir}/1:/etc/motd:ro`]
    ])
  }, 240_000)
})
