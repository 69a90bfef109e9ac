/**
 * Secrets Manager's state, per region: secrets named by name, with an ARN whose last six
 * characters are random (`secret:<name>-AbCdEf`), versions labelled with staging labels
 * (AWSCURRENT, AWSPREVIOUS), and a scheduled deletion that makes the secret unusable until it is
 * restored or the recovery window ends.
 */
import { randomBytes, randomUUID } from 'node:crypto'

export interface SecretVersion {
  versionId: string
  string?: string
  binary?: Uint8Array
  stages: string[]
  createdAt: number
}

export interface Secret {
  name: string
  arn: string
  region: string
  description?: string
  kmsKeyId?: string
  tags: { Key: string; Value: string }[]
  versions: SecretVersion[]
  createdAt: number
  changedAt: number
  accessedAt?: number
  /** When a scheduled deletion takes effect. */
  deletionDate?: number
}

const SUFFIX_CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'

function suffix(): string {
  return [...randomBytes(6)].map((b) => SUFFIX_CHARS[b % SUFFIX_CHARS.length]).join('')
}

export class SecretStore {
  private readonly secrets = new Map<string, Secret>()

  constructor(private readonly account: string) {}

  /** A secret by name, full ARN, or partial ARN (the ARN without its random suffix); removed ones after their window are gone. */
  find(region: string, id: string): Secret | undefined {
    this.expire()
    for (const s of this.secrets.values()) {
      if (s.region !== region) continue
      if (s.name === id || s.arn === id || (id.startsWith('arn:') && s.arn.slice(0, -7) === id)) return s
    }
    return undefined
  }

  create(region: string, name: string, fields: Partial<Secret>): Secret {
    const now = Date.now()
    const secret: Secret = {
      name,
      arn: `arn:aws:secretsmanager:${region}:${this.account}:secret:${name}-${suffix()}`,
      region,
      tags: [],
      versions: [],
      createdAt: now,
      changedAt: now,
      ...fields
    }
    this.secrets.set(secret.arn, secret)
    return secret
  }

  /** A new version labelled `stages` (AWSCURRENT moves, the old current becomes AWSPREVIOUS). */
  addVersion(
    secret: Secret,
    value: { string?: string; binary?: Uint8Array },
    versionId: string = randomUUID(),
    stages = ['AWSCURRENT']
  ): SecretVersion {
    const movesCurrent = stages.includes('AWSCURRENT')
    for (const v of secret.versions) {
      const wasCurrent = v.stages.includes('AWSCURRENT')
      v.stages = v.stages.filter((s) => !stages.includes(s) && !(movesCurrent && s === 'AWSPREVIOUS'))
      if (movesCurrent && wasCurrent) v.stages.push('AWSPREVIOUS')
    }
    const version: SecretVersion = { versionId, ...value, stages: [...stages], createdAt: Date.now() }
    secret.versions.push(version)
    // versions without a label are deprecated and dropped (AWS keeps about 100; the emulator keeps only labelled ones)
    secret.versions = secret.versions.filter((v) => v.stages.length > 0)
    secret.changedAt = Date.now()
    return version
  }

  remove(secret: Secret): void {
    this.secrets.delete(secret.arn)
  }

  list(region: string): Secret[] {
    this.expire()
    return [...this.secrets.values()].filter((s) => s.region === region).sort((a, b) => a.createdAt - b.createdAt)
  }

  private expire(): void {
    const now = Date.now()
    for (const [arn, s] of this.secrets)
      if (s.deletionDate !== undefined && s.deletionDate <= now) this.secrets.delete(arn)
  }

  /** What the authorizer reads: names and ARNs, never values. */
  state(): unknown {
    return [...this.secrets.values()].map((s) => ({
      region: s.region,
      name: s.name,
      arn: s.arn,
      tags: Object.fromEntries(s.tags.map((t) => [t.Key, t.Value])),
      ...(s.kmsKeyId ? { kmsKeyId: s.kmsKeyId } : {}),
      ...(s.deletionDate ? { deletionDate: new Date(s.deletionDate).toISOString() } : {})
    }))
  }
}
