/**
 * A service's configuration for the instance agent: one SSM SecureString per
 * service (agent/config.ts), encrypted with the account's default key unless
 * the kms-key-id input names one. Its description carries the hash of the
 * value, so a no-op run reads metadata only (DescribeParameters, 50 a page)
 * and never a value. Instances read it pinned to a version (`name:version` in
 * their user data), so a new value rolls the service through a new launch
 * template version and an instance never starts with a half-deployed one.
 */
import {
  DeleteParametersCommand,
  DescribeParametersCommand,
  PutParameterCommand,
  paginateDescribeParameters,
  type ParameterMetadata
} from '@aws-sdk/client-ssm'
import { errorCode, wrap } from '../aws/errors.js'
import type { Aws } from '../aws/send.js'
import { configParameterName, configPath } from '../names.js'
import { servicesLeaving, templateOf } from './launch-template.js'
import type { KindOps, Removal, Upsert } from './kind.js'

/** SSM's own key for SecureString parameters when none is given. */
export const DEFAULT_SSM_KEY = 'alias/aws/ssm'
/** Standard parameters hold 4 KB; advanced ones 8 KB (and cost money, so only when needed). */
export const STANDARD_LIMIT = 4096
export const ADVANCED_LIMIT = 8192
const DESCRIPTION_PREFIX = 'hyperform-action: the instance agent configuration, sha256 '

export type Tier = 'Standard' | 'Advanced'

/** What the plan shows of a configuration: its hash, never its value (the value stays in DesiredService). */
export interface DesiredConfig {
  name: string
  /** shortSha of the value. */
  hash: string
  /** undefined: the account's default key for SSM. */
  keyId?: string
  tier: Tier
  tags: Record<string, string>
}

export interface CurrentConfig {
  name: string
  service: string
  version: number
  hash?: string
  keyId?: string
  tier?: string
}

/** What the launch template needs: the version its instances read. */
export interface ConfigRef {
  name: string
  version: number
}

export type ConfigChange =
  Upsert<'service-config', DesiredConfig, CurrentConfig> | Removal<'service-config', CurrentConfig>

export function tierFor(bytes: number): Tier {
  return bytes > STANDARD_LIMIT ? 'Advanced' : 'Standard'
}

function toConfig(p: ParameterMetadata, prefix: string): CurrentConfig | undefined {
  const name = p.Name ?? ''
  const match = name.startsWith(prefix) ? /^([^/]+)\/config$/.exec(name.slice(prefix.length)) : null
  if (!match) return undefined
  const description = p.Description ?? ''
  return {
    name,
    service: match[1]!,
    version: p.Version ?? 1,
    hash: description.startsWith(DESCRIPTION_PREFIX) ? description.slice(DESCRIPTION_PREFIX.length) : undefined,
    keyId: p.KeyId,
    tier: p.Tier
  }
}

/** One configuration's metadata, by name (DescribeParameters: no value is read). */
async function existing(aws: Aws, name: string): Promise<CurrentConfig | undefined> {
  const out = await aws.send(
    new DescribeParametersCommand({ ParameterFilters: [{ Key: 'Name', Option: 'Equals', Values: [name] }] })
  )
  const found = (out.Parameters ?? []).find((p) => p.Name === name)
  return found ? toConfig(found, name.replace(/[^/]+\/config$/, '')) : undefined
}

export const serviceConfig: KindOps<'service-config'> = {
  kind: 'service-config',
  noun: 'configuration',
  level: 'service',
  dependsOn: [],
  // Instances read it until they are gone.
  removeAfter: ['auto-scaling-group'],
  removeTogether: true,
  async read({ aws, scope, verify }) {
    if (!verify) return {}
    const path = configPath(scope)
    const configs: CurrentConfig[] = []
    try {
      for await (const page of paginateDescribeParameters(
        { client: aws.through('ssm'), pageSize: 50 },
        { ParameterFilters: [{ Key: 'Path', Option: 'Recursive', Values: [path] }] }
      )) {
        for (const p of page.Parameters ?? []) {
          const config = toConfig(p, `${path}/`)
          if (config) configs.push(config)
        }
      }
    } catch (err) {
      throw wrap(`listing the configurations of stack ${scope.stack}`, err)
    }
    return { configs }
  },
  diff({ current }, service) {
    const want = service.config
    if (!current.configs) {
      // Not verified: the template says which configuration its instances read.
      const told = templateOf(current, service)?.configuration
      const base = { kind: 'service-config' as const, name: want.name, service: service.name, desired: want }
      if (!told) return [{ ...base, action: 'create', reason: 'not found' }]
      if (told.hash === want.hash)
        return [
          {
            ...base,
            action: 'noop',
            reason: `up to date (version ${told.version})`,
            current: { name: want.name, service: service.name, version: told.version, hash: told.hash }
          }
        ]
      // The template's tag shows the parameter exists: overwrite it, no probe first.
      const seen = { name: want.name, service: service.name, version: told.version, hash: told.hash }
      return [{ ...base, action: 'update', reason: 'configuration changed', fields: ['value'], current: seen }]
    }
    const have = current.configs.find((c) => c.name === want.name)
    const base = {
      kind: 'service-config' as const,
      name: want.name,
      service: service.name,
      desired: want,
      current: have
    }
    if (!have)
      return [{ ...base, action: 'create', reason: 'not found', drift: templateOf(current, service) !== undefined }]
    const reasons: string[] = []
    const fields: string[] = []
    // Versions are immutable: the one the template pins (tag) is what instances read, whatever a newer
    // version holds (one a failed rollout wrote, before it rolled back to this one).
    const told = templateOf(current, service)?.configuration
    const pinned = told !== undefined && told.hash === want.hash && told.version <= have.version
    if (pinned) Object.assign(base, { current: { ...have, hash: told.hash, version: told.version } })
    else if (have.hash !== want.hash) {
      reasons.push(have.hash ? 'configuration changed' : 'configuration of unknown content (no hash)')
      fields.push('value')
    }
    if ((have.keyId ?? DEFAULT_SSM_KEY) !== (want.keyId ?? DEFAULT_SSM_KEY)) {
      reasons.push(`key ${have.keyId ?? DEFAULT_SSM_KEY} -> ${want.keyId ?? DEFAULT_SSM_KEY}`)
      fields.push('keyId')
    }
    if (have.tier !== undefined && have.tier !== want.tier && want.tier === 'Advanced') {
      reasons.push(`tier ${have.tier} -> ${want.tier}`)
      fields.push('tier')
    }
    if (reasons.length === 0)
      return [{ ...base, action: 'noop', reason: `up to date (version ${base.current?.version ?? have.version})` }]
    return [{ ...base, action: 'update', reason: reasons.join(', '), fields, drift: !have.hash }]
  },
  removals({ current, keep, reason }) {
    const configs =
      current.configs ??
      servicesLeaving(current, keep).map((service) => ({
        name: configParameterName(current.scope, service),
        service,
        version: 0
      }))
    return configs
      .filter((c) => !keep.names.has(c.name))
      .map((c) => ({
        kind: 'service-config' as const,
        action: 'delete' as const,
        name: c.name,
        service: c.service,
        reason,
        current: c
      }))
  },
  async apply(change, { e, service }) {
    const have = change.current
    if (change.action === 'noop' && have) return { name: have.name, version: have.version }
    if (!service) throw new Error(`configuration ${change.name} has no service`)
    const want = change.desired
    const put = (overwrite: boolean): PutParameterCommand =>
      new PutParameterCommand({
        Name: want.name,
        Type: 'SecureString',
        Value: service.configValue,
        Description: `${DESCRIPTION_PREFIX}${want.hash}`,
        Tier: want.tier,
        Overwrite: overwrite,
        ...(want.keyId ? { KeyId: want.keyId } : {}),
        // SSM takes tags on creation only (and refuses them with Overwrite).
        ...(overwrite ? {} : { Tags: Object.entries(want.tags).map(([Key, Value]) => ({ Key, Value })) })
      })
    let version: number
    try {
      version = (await e.send(put(have !== undefined))).Version ?? 1
    } catch (err) {
      if (errorCode(err) !== 'ParameterAlreadyExists') throw err
      // Written by a run cut short (or read from the template's tags only): the same value is kept, not versioned again.
      const found = await existing(e, want.name)
      version =
        found?.hash === want.hash && (found.keyId ?? DEFAULT_SSM_KEY) === (want.keyId ?? DEFAULT_SSM_KEY)
          ? found.version
          : ((await e.send(put(true))).Version ?? 1)
    }
    e.done({
      kind: 'service-config',
      action: change.action,
      name: change.name,
      service: change.service,
      id: `version ${version}`
    })
    return { name: want.name, version }
  },
  async remove(changes, { e }) {
    for (let i = 0; i < changes.length; i += 10) {
      const batch = changes.slice(i, i + 10)
      await e.send(new DeleteParametersCommand({ Names: batch.map((c) => c.name) }))
      for (const c of batch) e.done({ kind: 'service-config', action: 'delete', name: c.name, service: c.service })
    }
  }
}
