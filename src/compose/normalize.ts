/**
 * Stage 5: the validated tree as the typed ComposeModel. Only called when
 * validation found no errors, so each key's reader (keys.ts) reads its value
 * without re-checking it; absent keys are read too, for their defaults.
 */
import { childrenOf, ruleOf, type StageContext, type ValueAt } from './keys.js'
import type { ComposeModel, ServiceModel } from './model.js'
import { compare } from './reads.js'
import { type Entry, isMap, type MapNode, valueOf } from './tree.js'

export interface NormalizeContext extends StageContext {
  files: string[]
}

export function normalize(root: MapNode, ctx: NormalizeContext): ComposeModel {
  const project = readLevel(root, '', ctx).project
  const services = valueOf(root, 'services') as MapNode
  const model: ComposeModel = {
    services: services.entries
      .map((entry) => readService(entry, services, ctx))
      .sort((a, b) => compare(a.name, b.name)),
    files: [...ctx.files]
  }
  return {
    ...(project.name === undefined ? {} : { name: project.name }),
    ...model,
    ...(project.volumes === undefined ? {} : { volumes: project.volumes })
  }
}

/** The `services.*` entry itself (name, location), then the keys under it. */
function readService(entry: Entry, services: MapNode, ctx: StageContext): ServiceModel {
  const rule = ruleOf('services.*')
  const own =
    rule?.level === 'supported' && rule.normalize?.into === 'service'
      ? rule.normalize.read({ key: entry.key, keyLoc: entry.keyLoc, node: entry.value, parent: services }, ctx)
      : {}
  return complete({ ...own, ...readLevel(entry.value as MapNode, 'services.*', ctx).service })
}

interface Parts {
  project: Partial<ComposeModel>
  service: Partial<ServiceModel>
}

/**
 * The model parts of the supported keys under `pattern`, present or not (for
 * their defaults), in table order, and of the mappings below them that the
 * table describes. A wildcard level (`services.*`) is the stage's to walk.
 */
function readLevel(map: MapNode | undefined, pattern: string, ctx: StageContext): Parts {
  const parts: Parts = { project: {}, service: {} }
  for (const child of childrenOf(pattern)) {
    if (child.rule.level !== 'supported' || child.key === '*') continue
    const at = valueAt(map, child.key)
    const normalize = child.rule.normalize
    if (normalize?.into === 'project') Object.assign(parts.project, normalize.read(at, ctx))
    if (normalize?.into === 'service') Object.assign(parts.service, normalize.read(at, ctx))
    if (!childrenOf(child.pattern).some((c) => c.key !== '*')) continue
    const below = readLevel(isMap(at.node) ? at.node : undefined, child.pattern, ctx)
    Object.assign(parts.project, below.project)
    Object.assign(parts.service, below.service)
  }
  return parts
}

function valueAt(map: MapNode | undefined, key: string): ValueAt {
  const entry = map?.entries.find((e) => e.key === key)
  return { key, keyLoc: entry?.keyLoc, node: entry?.value, parent: map }
}

/** Every field a service must have: the type makes a new field of the model a compile error here until listed. */
const REQUIRED: { [K in keyof ServiceModel as undefined extends ServiceModel[K] ? never : K]-?: true } = {
  name: true,
  image: true,
  environment: true,
  environmentFrom: true,
  secrets: true,
  restart: true,
  stopSignal: true,
  stopGracePeriod: true,
  logging: true,
  awsCredentials: true,
  ports: true,
  expose: true,
  replicas: true,
  preemptible: true,
  public: true,
  location: true
}

/** The service as the rest of the action sees it; a field left unset is a gap in the key table. */
function complete(part: Partial<ServiceModel>): ServiceModel {
  const missing = (Object.keys(REQUIRED) as Array<keyof ServiceModel>).filter((key) => part[key] === undefined)
  if (missing.length > 0) {
    throw new Error(
      `compose key table: service ${JSON.stringify(part.name)} is missing ${missing.join(', ')} of the model`
    )
  }
  const { command, entrypoint, size } = part
  const model = { ...part } as ServiceModel
  delete model.command
  delete model.entrypoint
  delete model.size
  return {
    ...model,
    ...(command ? { command } : {}),
    ...(entrypoint ? { entrypoint } : {}),
    ...(size ? { size } : {})
  }
}
