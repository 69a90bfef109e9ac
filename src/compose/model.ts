/**
 * The typed compose model: what the rest of the action sees of the compose
 * file(s) once they are parsed, interpolated, merged, validated and normalised.
 */
import type { AgentHealthcheck, AgentSecret, AgentVolume, Reference } from '../agent/config.js'

export type { Reference }

/** Where a value came from, for messages and annotations. */
export interface SourceLocation {
  /** The compose file path as the user gave it (relative to the workspace). */
  file: string
  /** 1-based line. */
  line: number
  /** 1-based column. */
  column: number
}

export type Severity = 'error' | 'warning'

/** One problem found in the compose file(s); printed as `file:line:col path: message`. */
export interface Diagnostic extends SourceLocation {
  severity: Severity
  /** Dotted key path, e.g. `services.web.deploy.preemptible`. */
  path: string
  message: string
}

export type Protocol = 'tcp' | 'udp'

export interface PortMapping {
  /** Port inside the container. */
  target: number
  /** Port on the instance; a port given without one is published on the same number. */
  published: number
  protocol: Protocol
  /** Host IP to bind to (short syntax `ip:host:container`), if any. */
  hostIp?: string
}

export interface ExposedPort {
  port: number
  protocol: Protocol
}

/**
 * A compose secret mounted as a file in the container, as the agent takes it: `target` absolute
 * (`/run/secrets/<name>` unless the compose file says otherwise), `mode` octal ("0444" by
 * default), and exactly one of `value` (from a file or variable, read when the action runs;
 * secrets-grade) and `from`.
 */
export type ServiceSecret = AgentSecret

export interface ServiceLogging {
  /** `awslogs`: the stack's CloudWatch log group, which the action names; `none`: no logs. */
  driver: 'awslogs' | 'none'
  /** The awslogs options the compose file sets (mode, max-buffer-size, ...); empty for `none`. */
  options: Record<string, string>
}

/**
 * Compose `healthcheck` for docker run: `{ disable: true }` for `disable: true` or test `NONE`; else
 * `test` as `["CMD", ...]` or `["CMD-SHELL", command]` (a string test is CMD-SHELL) and durations in
 * milliseconds, rounded up.
 */
export type ServiceHealthcheck = AgentHealthcheck

/** A named volume a service mounts (`db-data:/var/lib/mysql[:ro]`, or the long syntax's `type: volume`). */
export type ServiceVolume = AgentVolume

/** EBS volume types a compose volume may ask for. */
export type VolumeType = 'gp3' | 'gp2' | 'io1' | 'io2' | 'st1' | 'sc1'

/**
 * A top-level named volume that a service mounts: one EBS volume per replica slot of each service
 * that mounts it. From `driver_opts` (`size`, `type`, `iops`, `throughput`) or `x-hyperform` (same
 * keys, and `zone`), `x-hyperform` winning.
 */
export interface VolumeModel {
  name: string
  /** GiB (default DEFAULT_VOLUME_GIB). */
  sizeGiB: number
  /** Default gp3. */
  type: VolumeType
  iops?: number
  /** MiB/s, gp3 only. */
  throughput?: number
  /** `x-hyperform.zone`: the availability zone the volumes live in (default: the first zone of the stack's subnets). */
  zone?: string
  location: SourceLocation
}

export const DEFAULT_VOLUME_GIB = 10

/**
 * A file of the repository bound into the container read-only: a bind mount of a file
 * (`./config/nginx.conf:/etc/nginx/nginx.conf:ro`) or a compose config (`configs:`). Its bytes go
 * with the service's configuration.
 */
export interface ServiceFile {
  /** Absolute path in the container. */
  target: string
  /** Octal, e.g. "0444". */
  mode: string
  /** The file's bytes, gzip-compressed, base64 (as the agent takes them). */
  content: string
  /** What the plan may show: the repository path or `config <name>`. */
  source: string
  location: SourceLocation
}

/** A build secret: passed to `docker buildx build --secret`, never read by the action. */
export interface BuildSecret {
  /** The secret's id in the Dockerfile (`RUN --mount=type=secret,id=<id>`): its compose name, or the long syntax's target. */
  id: string
  /** The top-level secret's `environment` variable. */
  env?: string
  /** The top-level secret's `file`, as an absolute path. */
  file?: string
}

/**
 * Compose `build` (short form: the context), as `docker buildx build` takes it. Paths are absolute
 * and inside the repository (the workspace).
 */
export interface ServiceBuild {
  context: string
  /** Absolute path of the Dockerfile (default `<context>/Dockerfile`); absent with `dockerfileInline`. */
  dockerfile?: string
  dockerfileInline?: string
  /** Build arguments (`args`, list or map); a variable without a value takes the step's environment, as compose does. */
  args: Record<string, string>
  target?: string
  labels: Record<string, string>
  /** As given (`linux/amd64`, `linux/arm64`); empty: the instance type's platform. */
  platforms: string[]
  secrets: BuildSecret[]
  /** `ssh: default` (or `[default]`): the runner's SSH agent. */
  ssh: boolean
  noCache: boolean
  pull: boolean
  location: SourceLocation
}

export interface ServiceModel {
  /** The compose service name: a DNS label. */
  name: string
  image: string
  /** Exec form; a string command is split shell-style without running a shell. */
  command?: string[]
  entrypoint?: string[]
  /** env_file entries first, then `environment` on top; keys sorted. Values are secrets-grade: never print them. */
  environment: Record<string, string>
  /** Variables whose value is an SSM parameter or Secrets Manager secret, resolved on the instance; keys sorted. */
  environmentFrom: Record<string, Reference>
  secrets: ServiceSecret[]
  /** docker --restart: `no`, `always` (default), `on-failure`, `on-failure:N`, `unless-stopped`. */
  restart: string
  /** docker --stop-signal, `SIGTERM` by default; a number stays a number. */
  stopSignal: string
  /** Whole seconds between the stop signal and SIGKILL (default 10). */
  stopGracePeriod: number
  logging: ServiceLogging
  /** Absent: the image's own HEALTHCHECK applies. */
  healthcheck?: ServiceHealthcheck
  /** `x-hyperform.aws-credentials`: the container may use the instance role's credentials (default false). */
  awsCredentials: boolean
  ports: PortMapping[]
  expose: ExposedPort[]
  /** Total instances (default 1). */
  replicas: number
  /** How many of them are spot (default 0, at most replicas). */
  preemptible: number
  /** Instance type from `deploy.size`, overriding the `instance-type` input. */
  size?: string
  /** `deploy.public`: open published ports to 0.0.0.0/0 instead of the VPC CIDR (to the load balancer with a domain). */
  public: boolean
  /** `x-hyperform.health-check.path` and `.codes`: the load balancer's check of a public service. */
  checkPath?: string
  checkCodes?: string
  /**
   * `build`: the action builds and pushes the image before it deploys. `image` is then the image
   * name compose gave beside it, or '' (the project's repository `<project>/<service>`).
   */
  build?: ServiceBuild
  /** Named volumes it mounts, sorted by name (absent: none). */
  volumes?: ServiceVolume[]
  /** Repository files and configs bound into the container, sorted by target (absent: none). */
  files?: ServiceFile[]
  /** Where the service is declared. */
  location: SourceLocation
}

export interface ComposeModel {
  /** The top-level `name:` if present. */
  name?: string
  /** Services sorted by name. */
  services: ServiceModel[]
  /** The files read, in merge order. */
  files: string[]
  /** The top-level volumes some service mounts, sorted by name (absent: none). */
  volumes?: VolumeModel[]
}

export type LoadResult =
  | { ok: true; model: ComposeModel; warnings: Diagnostic[] }
  | { ok: false; errors: Diagnostic[]; warnings: Diagnostic[] }

export function formatDiagnostic(d: Diagnostic): string {
  return `${d.file}:${d.line}:${d.column} ${d.path}: ${d.message}`
}
