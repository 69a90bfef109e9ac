/**
 * The compose keys: one entry per path (`services.*.deploy.replicas`; `*` is
 * any service name), as compose-go keys its tables, holding everything the
 * stages know about the key: its support level, how its value is validated,
 * how it is normalised into the model, and how it merges across files. The
 * stages walk this table; docs/compose.md lists the same keys (a test checks).
 *
 * Support: `supported` keys are deployed. Of the others, an **error** when
 * ignoring the key would change what the container can do or see (storage,
 * files, devices, privileges, kernel limits, network namespace, identity, the
 * set of services); a **warning** when the key is orchestration or metadata
 * that the action replaces with its own behaviour (start order, names, labels,
 * resource limits on an instance the container has to itself).
 * `x-*` extension keys are ignored silently, as the specification says,
 * except the action's own `x-hyperform`, whose keys are in the table. Any
 * other key is an error: it is not a Compose key.
 */
import {
  checkBoolean,
  checkCheckCodes,
  checkCheckPath,
  checkCommand,
  checkEnvFiles,
  checkEnvironment,
  checkExpose,
  checkImage,
  checkMapping,
  checkName,
  checkPorts,
  checkPreemptible,
  checkReplicas,
  checkService,
  checkServices,
  checkSize,
  imageRequired
} from './checks.js'
import {
  buildOf,
  type BuildPath,
  checkBuild,
  checkBuildArgs,
  checkBuildContext,
  checkBuildLabels,
  checkBuildPlatforms,
  checkBuildSecrets,
  checkBuildSsh,
  checkBuildTarget,
  checkDockerfile,
  checkDockerfileInline
} from './build.js'
import {
  CONFIG_EXTERNAL,
  checkConfig,
  checkConfigContent,
  checkConfigEnvironment,
  checkConfigExternal,
  checkConfigFile,
  checkConfigs,
  checkServiceConfigs,
  serviceFilesOf
} from './configs.js'
import type { EnvFile } from './envfile.js'
import type { RepoFile } from './files.js'
import {
  checkHealthcheck,
  checkHealthDuration,
  checkHealthRetries,
  checkHealthTest,
  healthcheckOf
} from './healthcheck.js'
import type { Lookup } from './interpolate.js'
import type { ComposeModel, ServiceModel, SourceLocation } from './model.js'
import { environmentOf, execForm, exposeOf, portsOf, splitReferences } from './reads.js'
import {
  checkLogging,
  checkLoggingDriver,
  checkLoggingOptions,
  checkRestart,
  checkStopGracePeriod,
  checkStopSignal,
  DEFAULT_RESTART,
  DEFAULT_STOP_GRACE_SECONDS,
  DEFAULT_STOP_SIGNAL,
  durationSeconds,
  loggingOf,
  signalOf
} from './runtime.js'
import {
  checkExternal,
  checkSecret,
  checkSecretEnvironment,
  checkSecretFile,
  checkSecretFrom,
  checkSecrets,
  checkServiceSecrets,
  checkString,
  type SecretFile,
  serviceSecretsOf
} from './secrets.js'
import { type Diagnostics, entryOf, type MapNode, type Node } from './tree.js'
import { booleanOf, DEFAULT_REPLICAS, envValueOf, integerOf, stringOf } from './values.js'
import {
  checkPositive,
  checkServiceVolumes,
  checkVolume,
  checkVolumeDriver,
  checkVolumeExternal,
  checkVolumes,
  checkVolumeSize,
  checkVolumeType,
  checkZone,
  EXTERNAL,
  serviceVolumesOf,
  volumesOf
} from './volumes.js'

/** What validation and normalisation read besides the tree. */
export interface StageContext {
  /** Variables for `environment` entries without a value. */
  lookup: Lookup
  /** Env files by absolute path, read beforehand. */
  envFiles: ReadonlyMap<string, EnvFile>
  /** The directory `env_file` and secret `file` paths are relative to: the first compose file's. */
  baseDir: string
  /** Secret files by absolute path, read beforehand. */
  secretFiles: ReadonlyMap<string, SecretFile>
  /** Repository files of bind mounts and configs by absolute path, read beforehand. */
  repoFiles: ReadonlyMap<string, RepoFile>
  /** Build contexts, Dockerfiles and build secret files by absolute path, examined beforehand. */
  buildPaths: ReadonlyMap<string, BuildPath>
  /** The merged tree, for keys that refer to top-level declarations (a service's secrets). */
  root: MapNode
}

/** A key and its value where validation meets it. */
export interface KeyAt {
  /** The key as written (a service name under `services.*`). */
  key: string
  keyLoc: SourceLocation
  node: Node
  /** `services.web.deploy.replicas` */
  path: string
  /** The mapping holding the key, and its path. */
  parent: MapNode
  parentPath: string
}

export interface Check {
  diags: Diagnostics
  ctx: StageContext
}

/** A key as normalisation reads it: absent keys too (`node` undefined), for their defaults. */
export interface ValueAt {
  key: string
  keyLoc: SourceLocation | undefined
  node: Node | undefined
  /** The mapping that holds (or would hold) the key; undefined when that mapping is absent. */
  parent: MapNode | undefined
}

/** Its part of the model: of the project (top-level keys) or of one service. */
export type Normalizer =
  | { into: 'project'; read: (at: ValueAt, ctx: StageContext) => Partial<ComposeModel> }
  | { into: 'service'; read: (at: ValueAt, ctx: StageContext) => Partial<ServiceModel> }

/**
 * How a value merges with the same key of an earlier file. Unset: mappings
 * merge key by key, lists are concatenated, and a later scalar wins.
 */
export type MergeRule =
  /** The later value as it is. */
  | 'replace'
  /** Lists concatenated without repeating identical items. */
  | 'unique'
  /** Merged by variable name, list and mapping forms alike. */
  | 'environment'
  /** A single value is a one-item list; lists concatenated. */
  | 'list'
  /** Lists concatenated; an item with the target of an earlier one replaces it there (service secrets, volumes, configs). */
  | 'target'
  /** Options merged when both files name the same driver (or one names none); else the later value. */
  | 'logging'
  /** A string is the short form of `{context: <string>}`; mappings merge key by key (two strings: the later). */
  | 'build'

export interface SupportedKey {
  level: 'supported'
  /** When set, the key is required (unless it returns undefined): the message, reported at the key of the mapping that lacks it. */
  required?: (parent: MapNode) => string | undefined
  validate?: (at: KeyAt, check: Check) => void
  normalize?: Normalizer
  merge?: MergeRule
}

export interface UnsupportedKey {
  level: 'error' | 'warning'
  reason: string
  /** Replaces the usual report ("not supported: <reason>" or "ignored: <reason>"). */
  report?: (at: KeyAt, check: Check) => void
}

export type KeyRule = SupportedKey | UnsupportedKey

function project(read: (at: ValueAt, ctx: StageContext) => Partial<ComposeModel>): Normalizer {
  return { into: 'project', read }
}

function service(read: (at: ValueAt, ctx: StageContext) => Partial<ServiceModel>): Normalizer {
  return { into: 'service', read }
}

const PULL_POLICY = 'the image is pulled when each instance starts'
const VOLUME_OPTION = 'each volume is an EBS volume; set size, type, iops and throughput in driver_opts or x-hyperform'
const WHOLE_INSTANCE = 'the container has the instance to itself; choose the instance type with deploy.size'
const ISOLATION = 'the container runs with Docker defaults; this security or isolation setting cannot be applied'

export const COMPOSE_KEYS: Readonly<Record<string, KeyRule>> = {
  // top level
  name: {
    level: 'supported',
    validate: checkName,
    normalize: project(({ node }) => {
      const name = stringOf(node)
      return name === undefined ? {} : { name }
    })
  },
  services: {
    level: 'supported',
    required: () => 'is required: a mapping of service names to services',
    validate: checkServices
  },
  version: { level: 'warning', reason: 'obsolete in the Compose Specification' },
  volumes: {
    level: 'supported',
    validate: checkVolumes,
    normalize: project(({ node }, ctx) => volumesOf(node, ctx))
  },
  'volumes.*': { level: 'supported', validate: checkVolume },
  'volumes.*.driver': { level: 'supported', validate: checkVolumeDriver },
  'volumes.*.driver_opts': { level: 'supported', validate: checkMapping },
  'volumes.*.driver_opts.size': { level: 'supported', validate: checkVolumeSize },
  'volumes.*.driver_opts.type': { level: 'supported', validate: checkVolumeType },
  'volumes.*.driver_opts.iops': { level: 'supported', validate: checkPositive },
  'volumes.*.driver_opts.throughput': { level: 'supported', validate: checkPositive },
  'volumes.*.driver_opts.o': { level: 'error', reason: VOLUME_OPTION },
  'volumes.*.driver_opts.device': { level: 'error', reason: VOLUME_OPTION },
  // The action's settings of a volume, over driver_opts; Compose replaces extension values whole when merging.
  'volumes.*.x-hyperform': { level: 'supported', validate: checkMapping, merge: 'replace' },
  'volumes.*.x-hyperform.size': { level: 'supported', validate: checkVolumeSize },
  'volumes.*.x-hyperform.type': { level: 'supported', validate: checkVolumeType },
  'volumes.*.x-hyperform.iops': { level: 'supported', validate: checkPositive },
  'volumes.*.x-hyperform.throughput': { level: 'supported', validate: checkPositive },
  'volumes.*.x-hyperform.zone': { level: 'supported', validate: checkZone },
  // `external: false` is the default and fine.
  'volumes.*.external': { level: 'error', reason: EXTERNAL, report: checkVolumeExternal },
  'volumes.*.name': { level: 'warning', reason: 'the action names the EBS volumes after the stack, service and slot' },
  'volumes.*.labels': { level: 'warning', reason: 'volume labels are not applied; the action tags the EBS volumes' },
  networks: {
    level: 'warning',
    reason: 'networks are not created: all services share the VPC and reach each other by service name'
  },
  secrets: { level: 'supported', validate: checkSecrets },
  'secrets.*': { level: 'supported', validate: checkSecret },
  'secrets.*.file': { level: 'supported', validate: checkSecretFile },
  'secrets.*.environment': { level: 'supported', validate: checkSecretEnvironment },
  'secrets.*.external': { level: 'supported', validate: checkExternal },
  'secrets.*.name': { level: 'supported', validate: checkString },
  // Compose replaces extension values whole when merging.
  'secrets.*.x-hyperform': { level: 'supported', validate: checkMapping, merge: 'replace' },
  'secrets.*.x-hyperform.from': {
    level: 'supported',
    required: () =>
      'is required: the SSM parameter ("ssm:/name") or Secrets Manager secret ARN to read on the instance',
    validate: checkSecretFrom
  },
  'secrets.*.labels': { level: 'warning', reason: 'secret labels are not applied' },
  'secrets.*.driver': {
    level: 'error',
    reason: 'secret drivers are not used; use file, environment or x-hyperform.from'
  },
  'secrets.*.driver_opts': {
    level: 'error',
    reason: 'secret drivers are not used; use file, environment or x-hyperform.from'
  },
  'secrets.*.template_driver': { level: 'error', reason: 'secret values are not templated; they are used as they are' },
  configs: { level: 'supported', validate: checkConfigs },
  'configs.*': { level: 'supported', validate: checkConfig },
  'configs.*.file': { level: 'supported', validate: checkConfigFile },
  'configs.*.content': { level: 'supported', validate: checkConfigContent },
  'configs.*.environment': { level: 'supported', validate: checkConfigEnvironment },
  'configs.*.external': { level: 'error', reason: CONFIG_EXTERNAL, report: checkConfigExternal },
  'configs.*.name': { level: 'warning', reason: "the file in the container is named by the service's target" },
  'configs.*.labels': { level: 'warning', reason: 'config labels are not applied' },
  'configs.*.template_driver': { level: 'error', reason: 'config values are not templated; they are used as they are' },
  include: { level: 'error', reason: 'not supported: list the files in the compose-file input instead' },
  models: { level: 'error', reason: 'AI models are not provided on EC2 instances' },
  // services
  'services.*': {
    level: 'supported',
    validate: checkService,
    normalize: service(({ key, keyLoc }) => (keyLoc ? { name: key, location: keyLoc } : {}))
  },
  'services.*.image': {
    level: 'supported',
    required: imageRequired,
    validate: checkImage,
    // '' with a build: the action names the image after the project's repository.
    normalize: service(({ node }) => ({ image: stringOf(node) ?? '' }))
  },
  'services.*.command': {
    level: 'supported',
    validate: checkCommand,
    normalize: service(({ node }) => {
      const command = execForm(node)
      return command ? { command } : {}
    }),
    merge: 'replace'
  },
  'services.*.entrypoint': {
    level: 'supported',
    validate: checkCommand,
    normalize: service(({ node }) => {
      const entrypoint = execForm(node)
      return entrypoint ? { entrypoint } : {}
    }),
    merge: 'replace'
  },
  'services.*.environment': {
    level: 'supported',
    validate: checkEnvironment,
    // env_file values first, environment on top: both are read here, then references set apart.
    normalize: service(({ parent }, ctx) => splitReferences(parent ? environmentOf(parent, ctx) : {})),
    merge: 'environment'
  },
  // Read into the environment by services.*.environment.
  'services.*.env_file': { level: 'supported', validate: checkEnvFiles, merge: 'list' },
  'services.*.ports': {
    level: 'supported',
    validate: checkPorts,
    normalize: service(({ node }) => ({ ports: portsOf(node) })),
    merge: 'unique'
  },
  'services.*.expose': {
    level: 'supported',
    validate: checkExpose,
    normalize: service(({ node }) => ({ expose: exposeOf(node) })),
    merge: 'unique'
  },
  'services.*.deploy': { level: 'supported', validate: checkMapping },
  // The image is built on the runner (docker buildx build --push) before the deploy.
  'services.*.build': {
    level: 'supported',
    validate: checkBuild,
    normalize: service(({ node, keyLoc }, ctx) => (node && keyLoc ? { build: buildOf(node, keyLoc, ctx) } : {})),
    merge: 'build'
  },
  'services.*.build.context': { level: 'supported', validate: checkBuildContext },
  'services.*.build.dockerfile': { level: 'supported', validate: checkDockerfile },
  'services.*.build.dockerfile_inline': { level: 'supported', validate: checkDockerfileInline },
  'services.*.build.args': { level: 'supported', validate: checkBuildArgs, merge: 'environment' },
  'services.*.build.target': { level: 'supported', validate: checkBuildTarget },
  'services.*.build.labels': { level: 'supported', validate: checkBuildLabels, merge: 'environment' },
  'services.*.build.platforms': { level: 'supported', validate: checkBuildPlatforms, merge: 'unique' },
  'services.*.build.secrets': { level: 'supported', validate: checkBuildSecrets, merge: 'target' },
  'services.*.build.ssh': { level: 'supported', validate: checkBuildSsh, merge: 'unique' },
  'services.*.build.no_cache': { level: 'supported', validate: checkBoolean },
  'services.*.build.pull': { level: 'supported', validate: checkBoolean },
  'services.*.build.cache_from': { level: 'warning', reason: 'the action sets the build cache' },
  'services.*.build.cache_to': { level: 'warning', reason: 'the action sets the build cache' },
  // With no network a RUN step that reaches out fails; with the default one it would pass and build something else.
  'services.*.build.network': {
    level: 'warning',
    reason: "the action sets the build's network: the runner's default",
    report: (at, check) => {
      if (stringOf(at.node) === 'none')
        check.diags.error(
          at.node.loc,
          at.path,
          'not supported: the build runs with the runner\'s network, so its RUN steps could reach what "none" keeps out'
        )
      else check.diags.warn(at.keyLoc, at.path, "ignored: the action sets the build's network: the runner's default")
    }
  },
  'services.*.build.shm_size': {
    level: 'warning',
    reason: "the action sets the build's /dev/shm size: Docker's default"
  },
  // A RUN step would resolve these names through DNS instead, and could fetch from another host.
  'services.*.build.extra_hosts': {
    level: 'error',
    reason: 'host entries are not added to the build; its RUN steps would resolve these names elsewhere'
  },
  'services.*.build.isolation': {
    level: 'warning',
    reason: "the action sets the isolation: Docker's default on Linux"
  },
  'services.*.build.privileged': {
    level: 'warning',
    reason: 'the action sets the privileges: builds are not privileged (RUN --security=insecure fails)'
  },
  'services.*.build.tags': { level: 'warning', reason: 'the action sets the tags: the image is tagged by its content' },
  'services.*.build.ulimits': { level: 'warning', reason: "the action sets the build's limits: Docker's defaults" },
  // A Dockerfile that names another context (COPY --from=<name>) would build something else, or nothing.
  'services.*.build.additional_contexts': {
    level: 'error',
    reason: 'only the build context is sent to the builder; build from one directory of the repository'
  },
  'services.*.build.entitlements': {
    level: 'warning',
    reason: 'the action sets the entitlements: none are granted to the build'
  },
  'services.*.volumes': {
    level: 'supported',
    validate: checkServiceVolumes,
    normalize: service(({ parent }) => serviceVolumesOf(parent)),
    merge: 'target'
  },
  'services.*.volumes_from': {
    level: 'error',
    reason: 'each instance runs one container, so there is none to take volumes from; mount the named volumes instead'
  },
  'services.*.tmpfs': { level: 'error', reason: 'tmpfs mounts are not created' },
  'services.*.secrets': {
    level: 'supported',
    validate: checkServiceSecrets,
    normalize: service(({ node }, ctx) => ({ secrets: serviceSecretsOf(node, ctx) })),
    merge: 'target'
  },
  'services.*.restart': {
    level: 'supported',
    validate: checkRestart,
    normalize: service(({ node }) => ({ restart: stringOf(node) ?? DEFAULT_RESTART }))
  },
  'services.*.stop_signal': {
    level: 'supported',
    validate: checkStopSignal,
    normalize: service(({ node }) => ({ stopSignal: signalOf(node) ?? DEFAULT_STOP_SIGNAL }))
  },
  'services.*.stop_grace_period': {
    level: 'supported',
    validate: checkStopGracePeriod,
    normalize: service(({ node }) => {
      const text = stringOf(node)
      return { stopGracePeriod: text === undefined ? DEFAULT_STOP_GRACE_SECONDS : durationSeconds(text)! }
    })
  },
  'services.*.logging': {
    level: 'supported',
    validate: checkLogging,
    normalize: service(({ node }) => ({ logging: loggingOf(node) })),
    merge: 'logging'
  },
  'services.*.logging.driver': { level: 'supported', validate: checkLoggingDriver },
  'services.*.logging.options': { level: 'supported', validate: checkLoggingOptions },
  // Passed to docker run; deploys do not wait on it yet.
  'services.*.healthcheck': {
    level: 'supported',
    validate: checkHealthcheck,
    normalize: service(({ node }) => {
      const healthcheck = healthcheckOf(node)
      return healthcheck ? { healthcheck } : {}
    })
  },
  // A later file's test replaces the earlier one whole, as compose-go merges it.
  'services.*.healthcheck.test': { level: 'supported', validate: checkHealthTest, merge: 'replace' },
  'services.*.healthcheck.interval': { level: 'supported', validate: checkHealthDuration },
  'services.*.healthcheck.timeout': { level: 'supported', validate: checkHealthDuration },
  'services.*.healthcheck.start_period': { level: 'supported', validate: checkHealthDuration },
  'services.*.healthcheck.start_interval': { level: 'supported', validate: checkHealthDuration },
  'services.*.healthcheck.retries': { level: 'supported', validate: checkHealthRetries },
  'services.*.healthcheck.disable': { level: 'supported', validate: checkBoolean },
  // The action's own settings of a service; Compose replaces extension values whole when merging.
  'services.*.x-hyperform': { level: 'supported', validate: checkMapping, merge: 'replace' },
  'services.*.x-hyperform.aws-credentials': {
    level: 'supported',
    validate: checkBoolean,
    normalize: service(({ node }) => ({ awsCredentials: booleanOf(node) ?? false }))
  },
  // The load balancer's check of a public service (with the domain input): what counts as healthy.
  'services.*.x-hyperform.health-check': { level: 'supported', validate: checkMapping },
  'services.*.x-hyperform.health-check.path': {
    level: 'supported',
    validate: checkCheckPath,
    normalize: service(({ node }) => ({ checkPath: stringOf(node) }))
  },
  'services.*.x-hyperform.health-check.codes': {
    level: 'supported',
    validate: checkCheckCodes,
    normalize: service(({ node }) => ({ checkCodes: node ? envValueOf(node) : undefined }))
  },
  // The service's files: its bind mounts of repository files (from services.*.volumes) and its configs.
  'services.*.configs': {
    level: 'supported',
    validate: checkServiceConfigs,
    normalize: service(({ parent }, ctx) => serviceFilesOf(parent, ctx)),
    merge: 'target'
  },
  'services.*.devices': { level: 'error', reason: 'host devices are not mapped into the container' },
  'services.*.device_cgroup_rules': { level: 'error', reason: 'host devices are not mapped into the container' },
  'services.*.gpus': { level: 'error', reason: 'GPUs are not attached to the container' },
  'services.*.privileged': { level: 'error', reason: ISOLATION },
  'services.*.cap_add': { level: 'error', reason: ISOLATION },
  'services.*.cap_drop': { level: 'error', reason: ISOLATION },
  'services.*.security_opt': { level: 'error', reason: ISOLATION },
  'services.*.read_only': { level: 'error', reason: ISOLATION },
  'services.*.user': { level: 'error', reason: "the container runs as the image's user; set USER in the image" },
  'services.*.group_add': { level: 'error', reason: "the container runs as the image's user; set groups in the image" },
  'services.*.userns_mode': { level: 'error', reason: ISOLATION },
  'services.*.working_dir': {
    level: 'error',
    reason: "the container starts in the image's WORKDIR; set it in the image"
  },
  'services.*.ulimits': { level: 'error', reason: "the container gets Docker's default limits on the instance" },
  'services.*.sysctls': { level: 'error', reason: 'kernel parameters are not set for the container' },
  'services.*.shm_size': { level: 'error', reason: "the container gets Docker's default /dev/shm size" },
  'services.*.network_mode': {
    level: 'error',
    reason: "the container runs on Docker's bridge network with published ports"
  },
  'services.*.ipc': { level: 'error', reason: ISOLATION },
  'services.*.pid': { level: 'error', reason: ISOLATION },
  'services.*.uts': { level: 'error', reason: ISOLATION },
  'services.*.cgroup': { level: 'error', reason: ISOLATION },
  'services.*.cgroup_parent': { level: 'error', reason: ISOLATION },
  'services.*.isolation': { level: 'error', reason: ISOLATION },
  'services.*.dns': {
    level: 'error',
    reason: "the action sets the container's DNS to the VPC resolver for service discovery"
  },
  'services.*.dns_search': {
    level: 'error',
    reason: 'the action sets the DNS search list to the stack and project domains'
  },
  'services.*.dns_opt': { level: 'error', reason: "the action sets the container's DNS for service discovery" },
  'services.*.extra_hosts': { level: 'error', reason: 'host entries are not added to the container' },
  'services.*.external_links': {
    level: 'error',
    reason: 'containers outside the stack are not reachable by these names'
  },
  'services.*.mac_address': { level: 'error', reason: 'the container gets the address Docker assigns on the instance' },
  'services.*.extends': {
    level: 'error',
    reason: 'not supported: merge files with several compose-file entries instead'
  },
  'services.*.profiles': {
    level: 'error',
    reason: 'profiles are not supported: every service in the file is deployed; remove the service or the key'
  },
  'services.*.scale': { level: 'error', reason: 'use deploy.replicas (and deploy.preemptible for spot instances)' },
  'services.*.credential_spec': { level: 'error', reason: 'Windows credential specs are not supported' },
  'services.*.storage_opt': { level: 'error', reason: 'storage driver options are not set' },
  'services.*.use_api_socket': { level: 'error', reason: 'the Docker API socket is not mounted into the container' },
  'services.*.provider': { level: 'error', reason: 'provider services are not supported' },
  'services.*.models': { level: 'error', reason: 'AI models are not provided on EC2 instances' },
  'services.*.depends_on': {
    level: 'warning',
    reason: 'all services start together; make clients retry until their dependencies answer'
  },
  'services.*.links': {
    level: 'warning',
    reason: 'services reach each other by service name through DNS; link aliases are not created'
  },
  'services.*.networks': {
    level: 'warning',
    reason: 'all services share the VPC and reach each other by service name; networks and aliases are not applied'
  },
  'services.*.labels': { level: 'warning', reason: 'container labels are not applied' },
  'services.*.annotations': { level: 'warning', reason: 'container annotations are not applied' },
  'services.*.container_name': {
    level: 'warning',
    reason: 'containers are named by the action; other services use the service name'
  },
  'services.*.hostname': {
    level: 'warning',
    reason: "the container uses the instance's host name; other services use the service name"
  },
  'services.*.domainname': { level: 'warning', reason: "the DNS domain is the stack's private zone" },
  'services.*.pull_policy': {
    level: 'warning',
    reason: PULL_POLICY,
    // `build` next to a build says what compose would do anyway; the action decides when that is.
    report: (at, check) => {
      const message =
        stringOf(at.node) === 'build' && entryOf(at.parent, 'build')
          ? 'ignored: the action decides when to build the image'
          : `ignored: ${PULL_POLICY}`
      check.diags.warn(at.keyLoc, at.path, message)
    }
  },
  'services.*.platform': {
    level: 'warning',
    reason: "the platform is the instance's; pick an image that matches the architecture of deploy.size"
  },
  'services.*.init': { level: 'warning', reason: "no init process is added; the image's entrypoint is PID 1" },
  'services.*.stdin_open': { level: 'warning', reason: 'no terminal or standard input is attached on an instance' },
  'services.*.tty': { level: 'warning', reason: 'no terminal or standard input is attached on an instance' },
  'services.*.attach': { level: 'warning', reason: 'logs go to CloudWatch Logs as "logging" says' },
  'services.*.develop': { level: 'warning', reason: 'development (watch) settings do not apply to a deployment' },
  'services.*.post_start': { level: 'warning', reason: 'lifecycle hooks are not run' },
  'services.*.pre_stop': { level: 'warning', reason: 'lifecycle hooks are not run' },
  'services.*.oom_kill_disable': { level: 'warning', reason: WHOLE_INSTANCE },
  'services.*.oom_score_adj': { level: 'warning', reason: WHOLE_INSTANCE },
  'services.*.mem_limit': { level: 'warning', reason: WHOLE_INSTANCE },
  'services.*.mem_reservation': { level: 'warning', reason: WHOLE_INSTANCE },
  'services.*.memswap_limit': { level: 'warning', reason: WHOLE_INSTANCE },
  'services.*.mem_swappiness': { level: 'warning', reason: WHOLE_INSTANCE },
  'services.*.cpus': { level: 'warning', reason: WHOLE_INSTANCE },
  'services.*.cpu_count': { level: 'warning', reason: WHOLE_INSTANCE },
  'services.*.cpu_percent': { level: 'warning', reason: WHOLE_INSTANCE },
  'services.*.cpu_shares': { level: 'warning', reason: WHOLE_INSTANCE },
  'services.*.cpu_period': { level: 'warning', reason: WHOLE_INSTANCE },
  'services.*.cpu_quota': { level: 'warning', reason: WHOLE_INSTANCE },
  'services.*.cpu_rt_runtime': { level: 'warning', reason: WHOLE_INSTANCE },
  'services.*.cpu_rt_period': { level: 'warning', reason: WHOLE_INSTANCE },
  'services.*.cpuset': { level: 'warning', reason: WHOLE_INSTANCE },
  'services.*.blkio_config': { level: 'warning', reason: WHOLE_INSTANCE },
  'services.*.pids_limit': { level: 'warning', reason: WHOLE_INSTANCE },
  // services.*.deploy
  'services.*.deploy.replicas': {
    level: 'supported',
    validate: checkReplicas,
    normalize: service(({ node }) => ({ replicas: integerOf(node) ?? DEFAULT_REPLICAS }))
  },
  'services.*.deploy.preemptible': {
    level: 'supported',
    validate: checkPreemptible,
    normalize: service(({ node }) => ({ preemptible: integerOf(node) ?? 0 }))
  },
  'services.*.deploy.size': {
    level: 'supported',
    validate: checkSize,
    normalize: service(({ node }) => {
      const size = stringOf(node)
      return size ? { size } : {}
    })
  },
  'services.*.deploy.public': {
    level: 'supported',
    validate: checkBoolean,
    normalize: service(({ node }) => ({ public: booleanOf(node) ?? false }))
  },
  'services.*.deploy.mode': { level: 'warning', reason: 'each replica is one EC2 instance; the mode is ignored' },
  'services.*.deploy.endpoint_mode': {
    level: 'warning',
    reason: 'services are found through DNS records with one address per instance'
  },
  'services.*.deploy.labels': { level: 'warning', reason: 'service labels are not applied' },
  'services.*.deploy.resources': { level: 'warning', reason: WHOLE_INSTANCE },
  'services.*.deploy.restart_policy': {
    level: 'warning',
    reason: 'use the service\'s "restart" key; the Auto Scaling Group replaces failed instances'
  },
  'services.*.deploy.placement': {
    level: 'warning',
    reason: 'the Auto Scaling Groups place instances across the subnets'
  },
  'services.*.deploy.update_config': { level: 'warning', reason: 'instances are replaced by the Auto Scaling Groups' },
  'services.*.deploy.rollback_config': { level: 'warning', reason: 'instances are replaced by the Auto Scaling Groups' }
}

/** Extension keys (`x-*`) are for the user's anchors and tools; ignored silently. */
export function isExtension(key: string): boolean {
  return key.startsWith('x-')
}

export interface ChildKey {
  /** The key, or `*` for any. */
  key: string
  pattern: string
  rule: KeyRule
}

function parentOf(pattern: string): string {
  const dot = pattern.lastIndexOf('.')
  return dot < 0 ? '' : pattern.slice(0, dot)
}

/** Lookups go through a Map: a key such as `constructor` must not find Object's prototype. */
const RULES = new Map(Object.entries(COMPOSE_KEYS))
const CHILDREN = new Map<string, ChildKey[]>()
for (const [pattern, rule] of RULES) {
  const parent = parentOf(pattern)
  const list = CHILDREN.get(parent) ?? []
  list.push({ key: pattern.slice(parent === '' ? 0 : parent.length + 1), pattern, rule })
  CHILDREN.set(parent, list)
}

/** The keys the table has directly under `pattern`, in table order. */
export function childrenOf(pattern: string): readonly ChildKey[] {
  return CHILDREN.get(pattern) ?? []
}

/** The rule of a path pattern such as `services.*.ports`. */
export function ruleOf(pattern: string): KeyRule | undefined {
  return RULES.get(pattern)
}

/** The pattern `key` matches under `pattern`: the key itself if the table has it, else `*`. */
export function patternOf(pattern: string, key: string): string | undefined {
  const join = (k: string): string => (pattern === '' ? k : `${pattern}.${k}`)
  if (RULES.has(join(key))) return join(key)
  return RULES.has(join('*')) ? join('*') : undefined
}

/** The rule for a key path such as `['services', 'web', 'ports']`, if the table has one. */
export function ruleAt(path: readonly string[]): KeyRule | undefined {
  let pattern: string | undefined = ''
  for (const key of path) {
    pattern = patternOf(pattern, key)
    if (pattern === undefined) return undefined
  }
  return RULES.get(pattern)
}
