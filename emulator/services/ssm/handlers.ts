/** SSM's operations, one row each: the public AMI parameters and the account's Parameter Store. */
import type {
  AddTagsToResourceRequest,
  DeleteParameterRequest,
  DeleteParametersRequest,
  DeleteParametersResult,
  DescribeParametersRequest,
  DescribeParametersResult,
  GetParameterRequest,
  GetParameterResult,
  GetParametersByPathRequest,
  GetParametersByPathResult,
  GetParametersRequest,
  GetParametersResult,
  ListTagsForResourceRequest,
  ListTagsForResourceResult,
  Parameter,
  ParameterStringFilter,
  PutParameterRequest,
  PutParameterResult,
  RemoveTagsFromResourceRequest
} from '@aws-sdk/client-ssm'
import type { JsonContext, JsonHandler } from '../../protocols/json-rpc.js'
import { ssmError } from './errors.js'
import { parseReference, type ParameterStore, type PublicParameters, type StoredParameter } from './model.js'

function required<T>(value: T | undefined, member: string): T {
  if (value === undefined || value === null || value === '')
    throw ssmError(
      'ValidationException',
      `1 validation error detected: Value null at '${member}' failed to satisfy constraint: Member must not be null`
    )
  return value
}

function maxResults(value: number | undefined, max: number): number {
  if (value === undefined) return max
  if (value < 1 || value > max)
    throw ssmError(
      'ValidationException',
      `1 validation error detected: Value '${value}' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to ${max}`
    )
  return value
}

/** Pages of a sorted list: the token is the offset, opaque to the caller. */
function page<T>(items: T[], size: number, token: string | undefined): { items: T[]; NextToken?: string } {
  let start = 0
  if (token) {
    const n = Number(
      Buffer.from(token, 'base64')
        .toString('utf8')
        .replace(/^offset:/, '')
    )
    if (!Number.isInteger(n) || n < 0 || n > items.length)
      throw ssmError('InvalidNextToken', 'The specified token is not valid.')
    start = n
  }
  const end = start + size
  return {
    items: items.slice(start, end),
    ...(end < items.length ? { NextToken: Buffer.from(`offset:${end}`).toString('base64') } : {})
  }
}

/** Whether `name` lies under `path` (directly, unless recursive). */
function under(name: string, path: string, recursive: boolean): boolean {
  const prefix = path.endsWith('/') ? path : `${path}/`
  if (!name.startsWith(prefix)) return false
  return recursive || !name.slice(prefix.length).includes('/')
}

function checkPath(path: string): string {
  if (!path.startsWith('/') || /\/\//.test(path))
    throw ssmError(
      'ValidationException',
      `The parameter path ${path} is not valid: it must begin with a forward slash (/).`
    )
  return path
}

const FILTER_KEYS = ['Name', 'Path', 'Type', 'KeyId', 'Tier', 'DataType', 'Label']

function filterMatches(p: StoredParameter, f: ParameterStringFilter): boolean {
  const v = p.versions.at(-1)
  const values = f.Values ?? []
  const key = f.Key ?? ''
  if (key.startsWith('tag:')) {
    const tag = p.tags.get(key.slice(4))
    return tag !== undefined && (values.length === 0 || values.includes(tag))
  }
  switch (key) {
    case 'Path':
      return values.some(
        (path) => under(p.name, path, f.Option === 'Recursive') || (path === '/' && f.Option === 'Recursive')
      )
    case 'Name': {
      const option = f.Option ?? 'Equals'
      // names are matched with and without the leading slash, as AWS does
      const names = [p.name, p.name.replace(/^\//, '')]
      return values.some((x) =>
        option === 'BeginsWith'
          ? names.some((n) => n.startsWith(x.replace(/^\//, '')) || n.startsWith(x))
          : option === 'Contains'
            ? names.some((n) => n.includes(x))
            : names.includes(x)
      )
    }
    case 'Type':
      return values.includes(v?.type ?? '')
    case 'KeyId':
      return values.includes(v?.keyId ?? '')
    case 'Tier':
      return values.includes(v?.tier ?? '')
    case 'DataType':
      return values.includes(v?.dataType ?? '')
    default:
      return false
  }
}

function checkFilter(f: ParameterStringFilter): void {
  const key = f.Key ?? ''
  if (!FILTER_KEYS.includes(key) && !/^tag:.+/.test(key))
    throw ssmError(
      'InvalidFilterKey',
      `The following filter key is not valid: ${key}. Valid filter keys include: [Path, Name, Type, KeyId, Tier, DataType, tag:<key>].`
    )
  const options: Record<string, string[]> = {
    Path: ['Recursive', 'OneLevel'],
    Name: ['Equals', 'BeginsWith', 'Contains'],
    Type: ['Equals'],
    KeyId: ['Equals'],
    Tier: ['Equals'],
    DataType: ['Equals']
  }
  const allowed = options[key] ?? ['Equals']
  if (f.Option !== undefined && !allowed.includes(f.Option))
    throw ssmError(
      'InvalidFilterOption',
      `The following filter option is not valid: ${f.Option}. Valid options include: [${allowed.join(', ')}].`
    )
  if (key === 'Path')
    for (const path of f.Values ?? [])
      if (!path.startsWith('/')) throw ssmError('InvalidFilterValue', `The parameter path ${path} is not valid.`)
  if (key !== 'Name' && !key.startsWith('tag:') && (f.Values ?? []).length === 0)
    throw ssmError('InvalidFilterValue', `The following filter values are missing : null for filter key ${key}.`)
}

function taggedParameter(
  store: ParameterStore,
  region: string,
  input: { ResourceType?: string; ResourceId?: string }
): StoredParameter {
  if (input.ResourceType !== 'Parameter')
    throw ssmError(
      'InvalidResourceType',
      `The resource type ${String(input.ResourceType)} is not valid for the emulator (only Parameter).`
    )
  const p = store.find(region, parseReference(input.ResourceId ?? '').name)
  if (!p)
    throw ssmError(
      'InvalidResourceId',
      'The resource ID is not valid. Verify that you entered the correct ID and try again.'
    )
  return p
}

export function handlers(publicParameters: PublicParameters, store: ParameterStore): Record<string, JsonHandler> {
  /** One parameter by reference (name, name:version, ARN), or undefined when it or the version does not exist. */
  const lookup = (region: string, ref: string, decrypt: boolean): Parameter | 'no-version' | undefined => {
    const { name, version, selector } = parseReference(ref)
    const pub = publicParameters.find(name, region)
    if (pub) return pub
    const p = store.find(region, name)
    if (!p) return undefined
    // labels are not emulated: a selector that is not a version finds nothing
    if (selector && version === undefined) return 'no-version'
    const v = version === undefined ? p.versions.at(-1) : p.versions.find((x) => x.version === version)
    if (!v) return 'no-version'
    return store.view(p, v, decrypt, selector)
  }
  return {
    GetParameter: (input: GetParameterRequest, ctx: JsonContext): GetParameterResult => {
      const name = required(input.Name, 'name')
      const found = lookup(ctx.region, name, input.WithDecryption === true)
      if (found === 'no-version') {
        const { name: bare, selector } = parseReference(name)
        throw ssmError(
          'ParameterVersionNotFound',
          `Systems Manager could not find version ${(selector ?? '').slice(1)} of ${bare}. Verify the version and try again.`
        )
      }
      if (!found) throw ssmError('ParameterNotFound', `Parameter ${name} not found.`)
      return { Parameter: found }
    },
    GetParameters: (input: GetParametersRequest, ctx: JsonContext): GetParametersResult => {
      const names = required(input.Names, 'names')
      if (names.length === 0 || names.length > 10)
        throw ssmError(
          'ValidationException',
          `1 validation error detected: Value '[${names.join(', ')}]' at 'names' failed to satisfy constraint: Member must have length less than or equal to 10`
        )
      const parameters: Parameter[] = []
      const invalid: string[] = []
      for (const name of [...new Set(names)]) {
        const found = lookup(ctx.region, name, input.WithDecryption === true)
        if (found && found !== 'no-version') parameters.push(found)
        else invalid.push(name)
      }
      return { Parameters: parameters, InvalidParameters: invalid }
    },
    GetParametersByPath: (input: GetParametersByPathRequest, ctx: JsonContext): GetParametersByPathResult => {
      const path = checkPath(required(input.Path, 'path'))
      const size = maxResults(input.MaxResults, 10)
      for (const f of input.ParameterFilters ?? []) checkFilter(f)
      const matching = store
        .all(ctx.region)
        .filter((p) =>
          path === '/'
            ? input.Recursive === true || !p.name.slice(1).includes('/')
            : under(p.name, path, input.Recursive === true)
        )
        .filter((p) => (input.ParameterFilters ?? []).every((f) => filterMatches(p, f)))
      const { items, NextToken } = page(matching, size, input.NextToken)
      return {
        Parameters: items.map((p) => store.view(p, p.versions.at(-1) as never, input.WithDecryption === true)),
        ...(NextToken ? { NextToken } : {})
      }
    },
    PutParameter: (input: PutParameterRequest, ctx: JsonContext): PutParameterResult => store.put(ctx.region, input),
    DescribeParameters: (input: DescribeParametersRequest, ctx: JsonContext): DescribeParametersResult => {
      const size = maxResults(input.MaxResults, 50)
      // the older Filters (Name, Type, KeyId) are ParameterFilters with Equals (Name: BeginsWith, as AWS documents)
      const legacy = (input.Filters ?? []).map((f): ParameterStringFilter => ({
        Key: f.Key,
        Option: f.Key === 'Name' ? 'BeginsWith' : 'Equals',
        Values: f.Values
      }))
      const filters = [...(input.ParameterFilters ?? []), ...legacy]
      for (const f of filters) checkFilter(f)
      const matching = store.all(ctx.region).filter((p) => filters.every((f) => filterMatches(p, f)))
      const { items, NextToken } = page(matching, size, input.NextToken)
      return { Parameters: items.map((p) => store.metadata(p)), ...(NextToken ? { NextToken } : {}) }
    },
    DeleteParameter: (input: DeleteParameterRequest, ctx: JsonContext) => {
      const name = required(input.Name, 'name')
      if (!store.delete(ctx.region, parseReference(name).name))
        throw ssmError('ParameterNotFound', `Parameter ${name} not found.`)
      return {}
    },
    DeleteParameters: (input: DeleteParametersRequest, ctx: JsonContext): DeleteParametersResult => {
      const names = required(input.Names, 'names')
      if (names.length === 0 || names.length > 10)
        throw ssmError(
          'ValidationException',
          `1 validation error detected: Value '[${names.join(', ')}]' at 'names' failed to satisfy constraint: Member must have length less than or equal to 10`
        )
      const deleted: string[] = []
      const invalid: string[] = []
      for (const name of names) (store.delete(ctx.region, parseReference(name).name) ? deleted : invalid).push(name)
      return { DeletedParameters: deleted, InvalidParameters: invalid }
    },
    AddTagsToResource: (input: AddTagsToResourceRequest, ctx: JsonContext) => {
      const p = taggedParameter(store, ctx.region, input)
      const tags = required(input.Tags, 'tags')
      const keys = new Set([...p.tags.keys(), ...tags.map((t) => t.Key ?? '')])
      if (keys.size > 50) throw ssmError('TooManyTagsError', 'The Tags parameter has more than 50 tags.')
      for (const t of tags) p.tags.set(t.Key ?? '', t.Value ?? '')
      return {}
    },
    RemoveTagsFromResource: (input: RemoveTagsFromResourceRequest, ctx: JsonContext) => {
      const p = taggedParameter(store, ctx.region, input)
      for (const key of input.TagKeys ?? []) p.tags.delete(key)
      return {}
    },
    ListTagsForResource: (input: ListTagsForResourceRequest, ctx: JsonContext): ListTagsForResourceResult => {
      const p = taggedParameter(store, ctx.region, input)
      return { TagList: [...p.tags].map(([Key, Value]) => ({ Key, Value })) }
    }
  }
}
