/**
 * What the instance agent reads: one service's configuration, a JSON document
 * stored by the action as an SSM SecureString (`configParameterName`). The
 * user data names only the parameter and its version; every compose value
 * (image, command, environment, secrets) lives here. Three readers agree on
 * this shape: the real agent (agent/agent.sh), the emulator's agent stand-in,
 * and the action that writes it. Pure types and names.
 */

/**
 * Bumped when the shape changes incompatibly; the agent refuses other versions. Fields added
 * since (`lifecycle`, `agentLog`) do not bump it: an agent ships with the configuration it reads
 * (both are named by the same launch template version), and an agent reading a configuration
 * without them runs the container without the launch gate.
 */
export const AGENT_CONFIG_VERSION = 1

/** A value the agent resolves on the instance with the instance role. */
export type Reference =
  /** An SSM parameter, by name (`/path/to/name`); read with decryption. */
  | { ssm: string }
  /** A Secrets Manager secret, by ARN; its SecretString. */
  | { secret: string }

/** A compose secret, mounted read-only as a file in the container. */
export interface AgentSecret {
  /** The compose secret's name (a file name). */
  name: string
  /** Absolute path in the container (`/run/secrets/<name>` unless `target` says otherwise). */
  target: string
  /** Octal file mode, e.g. "0444" (compose's default). */
  mode: string
  uid?: string
  gid?: string
  /** Exactly one of `value` (given inline, kept in this SecureString) and `from`. */
  value?: string
  from?: Reference
}

export type AgentLogging =
  | {
      driver: 'awslogs'
      /** `/hyperform/<project>/<stack>` */
      group: string
      region: string
      /** The stream is `<streamPrefix>/<instance-id>`. */
      streamPrefix: string
      /** Extra awslogs options the compose file allows (mode, max-buffer-size, awslogs-multiline-pattern, ...). */
      options: Record<string, string>
    }
  | { driver: 'none' }

/**
 * Compose `healthcheck`, as docker run takes it. `test` is Docker's form: `["CMD", arg, ...]` (exec
 * form) or `["CMD-SHELL", command]`; without it the image's HEALTHCHECK command runs with the
 * settings given. Durations are whole milliseconds (Docker's precision); 0 is Docker's default.
 */
export type AgentHealthcheck =
  | { disable: true }
  | {
      test?: string[]
      intervalMs?: number
      timeoutMs?: number
      startPeriodMs?: number
      startIntervalMs?: number
      retries?: number
    }

/**
 * A compose named volume the container mounts: one EBS volume per replica slot, tagged with
 * TAGS.project/stack/service, TAGS.volume (`name`) and TAGS.slot. The agent claims a slot by
 * attaching the slot's volume of the first mount (AttachVolume is the lock: a volume in use is
 * refused), then attaches the same slot's volume of every other mount; it creates a file system
 * only on a blank volume, mounts it and binds it into the container.
 */
export interface AgentVolume {
  /** The compose volume's name (the top-level `volumes:` key). */
  name: string
  /** Absolute path in the container. */
  target: string
  readOnly: boolean
}

/** A repository file (a bind mount or a compose config) the agent writes read-only and binds into the container. */
export interface AgentFile {
  /** Absolute path in the container. */
  target: string
  /** Octal file mode, e.g. "0444". */
  mode: string
  /** The file's bytes, gzip-compressed, base64. */
  content: string
}

export interface AgentVolumes {
  /** The tag values the slot's volumes carry (TAGS.project, TAGS.stack, TAGS.service). */
  project: string
  stack: string
  /** The zone the volumes are in: the groups launch only there. */
  zone: string
  /** Sorted by name; the first one's attach claims the slot. */
  mounts: AgentVolume[]
}

export interface AgentConfig {
  version: typeof AGENT_CONFIG_VERSION
  service: string
  image: string
  /** The ECR registry to log in to before pulling (the image's host), when the image is in ECR. */
  registry?: { host: string; region: string }
  /** Exec form. */
  command?: string[]
  entrypoint?: string[]
  /** docker -p arguments. */
  ports: string[]
  /** The VPC resolver and the stack's search domains. */
  dns: string
  dnsSearch: string[]
  /** Values given inline (secrets-grade: the agent passes them to docker by name only, `-e KEY`). */
  environment: Record<string, string>
  /** Values the agent resolves on the instance. */
  environmentFrom: Record<string, Reference>
  secrets: AgentSecret[]
  /** docker --restart: `no`, `always`, `unless-stopped`, `on-failure[:N]`. */
  restart: string
  /** docker --stop-signal. */
  stopSignal: string
  /** Seconds docker waits after the stop signal before SIGKILL (compose stop_grace_period). */
  stopGracePeriod: number
  logging: AgentLogging
  /** Absent: the image's own HEALTHCHECK applies, as with a plain docker run. */
  healthcheck?: AgentHealthcheck
  /** The container may reach the instance role's credentials (metadata hop limit 2 instead of 1). */
  awsCredentials: boolean
  /**
   * The launch gate: the agent completes the Auto Scaling launch lifecycle hook `hook` of its
   * instance's group with CONTINUE once the container is healthy (without a health status: once it
   * has run `settleSeconds` without a restart), and with ABANDON when the image cannot be pulled,
   * the container keeps crashing or it stays unhealthy. Absent in configurations of earlier action
   * versions: no gate.
   */
  lifecycle?: AgentLifecycle
  /**
   * Where the agent writes its own lines (`hyperform-agent: healthy`, `hyperform-agent: abandon: <reason>`,
   * `hyperform-agent: unhealthy: <reason>`, and on EC2's spot signals `hyperform-agent: spot interruption:
   * stopping the container (reclaim at <time>)`, `hyperform-agent: stopped`, `hyperform-agent: rebalance
   * recommendation`): the stack's container log group, stream
   * `<streamPrefix>/<instance-id>` (the container's own stream), also when the container logs nowhere.
   */
  agentLog?: AgentLog
  /** The service's named volumes (absent: none). */
  volumes?: AgentVolumes
  /** Repository files bound into the container read-only (absent: none). */
  files?: AgentFile[]
}

export interface AgentLifecycle {
  /** The launch lifecycle hook's name (LAUNCH_HOOK). */
  hook: string
  /** Without a health status, the container is healthy once it has run this long without a restart. */
  settleSeconds: number
}

export interface AgentLog {
  /** `/hyperform/<project>/<stack>` */
  group: string
  region: string
  /** The stream is `<streamPrefix>/<instance-id>`. */
  streamPrefix: string
}
