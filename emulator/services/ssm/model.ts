/**
 * SSM's state: AWS's public Amazon Linux 2023 AMI parameters (fixed), and each region's Parameter
 * Store of the account: parameters with their versions (at most 100; the 101st put drops the
 * oldest, as AWS does for unlabelled versions), tier, KMS key and tags.
 */
import { createHash, randomBytes } from 'node:crypto'
import type {
  Parameter,
  ParameterMetadata,
  ParameterTier,
  ParameterType,
  PutParameterRequest,
  PutParameterResult,
  Tag
} from '@aws-sdk/client-ssm'
import { al2023ParameterAmi } from '../../types.js'
import { ssmError } from './errors.js'
import { DEFAULT_SSM_KEY, isKnownKey } from './keys.js'

export class PublicParameters {
  /** Public parameters do not change while the emulator runs. */
  private readonly modified = new Date()

  find(name: string, region: string): Parameter | undefined {
    const value = al2023ParameterAmi(name)
    if (!value) return undefined
    return {
      Name: name,
      Type: 'String',
      Value: value,
      Version: 1,
      LastModifiedDate: this.modified,
      ARN: `arn:aws:ssm:${region}::parameter${name}`,
      DataType: 'aws:ec2:image'
    }
  }
}

export interface ParameterVersion {
  version: number
  value: string
  /** What GetParameter answers for a SecureString without decryption: opaque, never the plaintext. */
  ciphertext: string
  type: ParameterType
  keyId?: string
  description?: string
  tier: ParameterTier
  allowedPattern?: string
  dataType: string
  modifiedAt: number
}

export interface StoredParameter {
  name: string
  region: string
  versions: ParameterVersion[]
  tags: Map<string, string>
}

/** SSM's quotas (Systems Manager endpoints and quotas). */
export const LIMITS = {
  standardValueBytes: 4096,
  advancedValueBytes: 8192,
  versions: 100,
  hierarchyLevels: 15,
  nameLength: 2048,
  tags: 50
}

const NAME = /^[a-zA-Z0-9_.\-/]+$/

function validation(message: string): Error {
  return ssmError('ValidationException', message)
}

/** A name as PutParameter accepts it: AWS's character set, no reserved prefix, at most 15 levels. */
export function checkName(name: string | undefined): string {
  if (!name)
    throw validation(
      "1 validation error detected: Value null at 'name' failed to satisfy constraint: Member must not be null"
    )
  if (name.length > LIMITS.nameLength)
    throw validation(
      `1 validation error detected: Value '${name}' at 'name' failed to satisfy constraint: Member must have length less than or equal to ${LIMITS.nameLength}`
    )
  const bare = name.replace(/^\//, '')
  if (
    !NAME.test(name) ||
    /^(aws|ssm)/i.test(bare) ||
    (name.includes('/') && !name.startsWith('/')) ||
    name.includes('//')
  )
    throw validation(
      'Parameter name: can\'t be prefixed with "aws" or "ssm" (case-insensitive). If formed as a path, it can consist of sub-paths divided by slash symbol; each sub-path can be formed as a mix of letters, numbers and the following 3 symbols .-_'
    )
  if (name.split('/').filter(Boolean).length > LIMITS.hierarchyLevels)
    throw ssmError(
      'HierarchyLevelLimitExceededException',
      `A hierarchy can have a maximum of ${LIMITS.hierarchyLevels} levels. For more information, see https://docs.aws.amazon.com/systems-manager/latest/userguide/sysman-paramstore-su-create.html`
    )
  return name
}

/** A parameter's ARN: the name without its leading slash after `parameter/`. */
export function parameterArn(region: string, account: string, name: string): string {
  return `arn:aws:ssm:${region}:${account}:parameter/${name.replace(/^\//, '')}`
}

/** `name`, `name:<version>` or a parameter ARN (optionally with `:<version>`): the name and the version asked for. */
export function parseReference(ref: string): { name: string; version?: number; selector?: string } {
  let text = ref
  if (text.startsWith('arn:')) {
    const rest = /:parameter(\/.*)$/.exec(text)?.[1] ?? text
    // the ARN drops a path's leading slash; a plain name has no slash after it
    text = rest.slice(1).includes('/') ? rest : rest.slice(1)
  }
  const m = /^(.*):([^/:]+)$/.exec(text)
  if (!m) return { name: text }
  const selector = m[2] ?? ''
  return /^\d+$/.test(selector)
    ? { name: m[1] ?? '', version: Number(selector), selector: `:${selector}` }
    : { name: m[1] ?? '', selector: `:${selector}` }
}

function ciphertextOf(value: string): string {
  // the shape of a KMS envelope (AQICAH...), long as the value, derived from nothing readable
  const body = Buffer.concat([
    randomBytes(32),
    createHash('sha256').update(randomBytes(16)).digest(),
    randomBytes(value.length)
  ])
  return `AQICAH${body.toString('base64')}`
}

function tierFor(input: PutParameterRequest, value: string, current?: ParameterTier): ParameterTier {
  const bytes = Buffer.byteLength(value)
  const asked = input.Tier
  if (bytes > LIMITS.advancedValueBytes)
    throw validation(
      `1 validation error detected: Value at 'value' failed to satisfy constraint: Member must have length less than or equal to ${LIMITS.advancedValueBytes}`
    )
  if (asked === 'Intelligent-Tiering')
    return bytes > LIMITS.standardValueBytes || current === 'Advanced' ? 'Advanced' : 'Standard'
  const tier = asked ?? (current === 'Advanced' ? 'Advanced' : 'Standard')
  if (tier === 'Standard' && current === 'Advanced')
    throw validation(
      "This parameter uses the advanced-parameter tier. You can't downgrade a parameter from the advanced-parameter tier to the standard-parameter tier. If necessary, you can delete the advanced parameter and recreate it as a standard parameter."
    )
  if (tier === 'Standard' && bytes > LIMITS.standardValueBytes)
    throw validation(
      `Standard tier parameters support a maximum parameter value of ${LIMITS.standardValueBytes} characters. To create a larger parameter value, upgrade the parameter to use the advanced-parameter tier. For more information, see https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-advanced-parameters.html`
    )
  if (tier !== 'Standard' && tier !== 'Advanced') throw validation(`Invalid tier: ${String(tier)}`)
  return tier
}

const TYPES: ParameterType[] = ['String', 'StringList', 'SecureString']

export class ParameterStore {
  /** By region, then name. */
  private readonly regions = new Map<string, Map<string, StoredParameter>>()

  constructor(private readonly account: string) {}

  private region(region: string): Map<string, StoredParameter> {
    let r = this.regions.get(region)
    if (!r) {
      r = new Map()
      this.regions.set(region, r)
    }
    return r
  }

  find(region: string, name: string): StoredParameter | undefined {
    return this.region(region).get(name)
  }

  all(region: string): StoredParameter[] {
    return [...this.region(region).values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  }

  put(region: string, input: PutParameterRequest): PutParameterResult {
    const name = checkName(input.Name)
    const value = input.Value
    if (value === undefined || value === null)
      throw validation(
        "1 validation error detected: Value null at 'value' failed to satisfy constraint: Member must not be null"
      )
    if (value.length === 0)
      throw validation(
        "1 validation error detected: Value '' at 'value' failed to satisfy constraint: Member must have length greater than or equal to 1"
      )
    const existing = this.find(region, name)
    const latest = existing?.versions.at(-1)
    if (existing && !input.Overwrite)
      throw ssmError(
        'ParameterAlreadyExists',
        'The parameter already exists. To overwrite this request, set the overwrite option in the request to true.'
      )
    if (existing && input.Tags?.length)
      throw validation(
        "Invalid request: tags and overwrite can't be used together. To create a parameter with tags, please remove overwrite flag. To update tags for an existing parameter, please use AddTagsToResource or RemoveTagsFromResource."
      )
    const type = input.Type ?? latest?.type
    if (!type) throw validation('A parameter type is required when you create a parameter.')
    if (!TYPES.includes(type))
      throw ssmError('UnsupportedParameterType', `Parameter type ${String(type)} is not supported.`)
    if (latest && type !== latest.type)
      throw ssmError(
        'HierarchyTypeMismatchException',
        'Parameter Store does not support changing a parameter type in a hierarchy. For example, you can not change a parameter from a String type to a SecureString type. You must create a new, unique parameter.'
      )
    if (input.KeyId && type !== 'SecureString')
      throw validation('KeyId is required for SecureString type parameter only.')
    const keyId = type === 'SecureString' ? (input.KeyId ?? latest?.keyId ?? DEFAULT_SSM_KEY) : undefined
    if (keyId && !isKnownKey(keyId)) throw ssmError('InvalidKeyId', `Invalid keyId ${keyId}`)
    const allowedPattern = input.AllowedPattern ?? latest?.allowedPattern
    if (allowedPattern !== undefined) {
      let re: RegExp
      try {
        re = new RegExp(`^(?:${allowedPattern})$`)
      } catch {
        throw ssmError(
          'InvalidAllowedPatternException',
          `The allowed pattern ${allowedPattern} is not a valid regular expression.`
        )
      }
      if (!re.test(value))
        throw ssmError(
          'ParameterPatternMismatchException',
          `Parameter value, cannot be validated against allowedPattern: ${allowedPattern}`
        )
    }
    const tier = tierFor(input, value, latest?.tier)
    const tags = input.Tags ?? []
    if (tags.length > LIMITS.tags)
      throw ssmError('TooManyTagsError', `The Tags parameter has more than ${LIMITS.tags} tags.`)
    const version: ParameterVersion = {
      version: (latest?.version ?? 0) + 1,
      value,
      ciphertext: type === 'SecureString' ? ciphertextOf(value) : value,
      type,
      ...(keyId ? { keyId } : {}),
      ...((input.Description ?? latest?.description) !== undefined
        ? { description: input.Description ?? latest?.description }
        : {}),
      tier,
      ...(allowedPattern !== undefined ? { allowedPattern } : {}),
      dataType: input.DataType ?? latest?.dataType ?? 'text',
      modifiedAt: Date.now()
    }
    const parameter = existing ?? {
      name,
      region,
      versions: [],
      tags: new Map(tags.map((t: Tag) => [t.Key ?? '', t.Value ?? '']))
    }
    parameter.versions.push(version)
    // AWS drops the oldest version on the 101st put (ParameterMaxVersionLimitExceeded only when it is labelled; labels are not emulated)
    if (parameter.versions.length > LIMITS.versions) parameter.versions.shift()
    this.region(region).set(name, parameter)
    return { Version: version.version, Tier: tier }
  }

  delete(region: string, name: string): boolean {
    return this.region(region).delete(name)
  }

  /** The parameter as GetParameter(s) answers: a SecureString's value only with decryption. */
  view(p: StoredParameter, v: ParameterVersion, decrypt: boolean, selector?: string): Parameter {
    return {
      Name: p.name,
      Type: v.type,
      Value: v.type === 'SecureString' && !decrypt ? v.ciphertext : v.value,
      Version: v.version,
      ...(selector ? { Selector: selector } : {}),
      LastModifiedDate: new Date(v.modifiedAt),
      ARN: parameterArn(p.region, this.account, p.name),
      DataType: v.dataType
    }
  }

  metadata(p: StoredParameter): ParameterMetadata {
    const v = p.versions.at(-1) as ParameterVersion
    return {
      Name: p.name,
      ARN: parameterArn(p.region, this.account, p.name),
      Type: v.type,
      ...(v.keyId ? { KeyId: v.keyId } : {}),
      LastModifiedDate: new Date(v.modifiedAt),
      LastModifiedUser: `arn:aws:iam::${this.account}:user/emulator`,
      ...(v.description !== undefined ? { Description: v.description } : {}),
      ...(v.allowedPattern !== undefined ? { AllowedPattern: v.allowedPattern } : {}),
      Version: v.version,
      Tier: v.tier,
      Policies: [],
      DataType: v.dataType
    }
  }

  /** What the authorizer reads: names and keys, never values. */
  state(): unknown {
    return [...this.regions.entries()].flatMap(([region, params]) =>
      [...params.values()].map((p) => {
        const v = p.versions.at(-1)
        return {
          region,
          name: p.name,
          type: v?.type,
          keyId: v?.keyId,
          version: v?.version,
          tier: v?.tier,
          tags: Object.fromEntries(p.tags)
        }
      })
    )
  }
}
