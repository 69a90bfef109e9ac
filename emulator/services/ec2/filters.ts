/** EC2 describe filters: `Name` + `Values` with * and ? wildcards, `tag:Key`, `tag-key`. */
import type { Filter, Tag } from '@aws-sdk/client-ec2'
import { ec2Error } from './errors.js'

export type Tags = Record<string, string>

/** Returns the values a resource has for a filter name, or undefined if the filter is not supported. */
export type FilterValues = (name: string) => string[] | undefined

function wildcard(pattern: string): RegExp {
  const escaped = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.')
  return new RegExp(`^${escaped}$`)
}

export function tagFilterValues(tags: Tags, name: string): string[] | undefined {
  if (name.startsWith('tag:')) {
    const value = tags[name.slice(4)]
    return value === undefined ? [] : [value]
  }
  if (name === 'tag-key') return Object.keys(tags)
  if (name === 'tag-value') return Object.values(tags)
  return undefined
}

/** True when the resource matches every filter (values within one filter are ORed). */
export function matchesFilters(filters: Filter[] | undefined, values: FilterValues): boolean {
  for (const filter of filters ?? []) {
    const name = filter.Name ?? ''
    const actual = values(name)
    if (actual === undefined) throw ec2Error('InvalidParameterValue', `The filter '${name}' is invalid`)
    const patterns = (filter.Values ?? []).map(wildcard)
    if (!actual.some((v) => patterns.some((p) => p.test(v)))) return false
  }
  return true
}

export function toTagList(tags: Tags): Tag[] | undefined {
  const list = Object.entries(tags).map(([Key, Value]) => ({ Key, Value }))
  return list.length > 0 ? list : undefined
}

export function fromTagList(tags: Tag[] | undefined): Tags {
  const out: Tags = {}
  for (const t of tags ?? []) if (t.Key !== undefined) out[t.Key] = t.Value ?? ''
  return out
}

/** Tags from TagSpecifications for one resource type. */
export function tagsFor(specs: { ResourceType?: string; Tags?: Tag[] }[] | undefined, resourceType: string): Tags {
  const out: Tags = {}
  for (const spec of specs ?? []) {
    if (spec.ResourceType === resourceType) Object.assign(out, fromTagList(spec.Tags))
  }
  return out
}

/** Offset-based NextToken pagination. */
export function paginate<T>(
  items: T[],
  maxResults: number | undefined,
  nextToken: string | undefined
): { page: T[]; nextToken?: string } {
  const start = nextToken ? Number(Buffer.from(nextToken, 'base64').toString('utf8')) : 0
  if (!Number.isInteger(start) || start < 0) throw ec2Error('InvalidParameterValue', 'Invalid value for NextToken')
  if (!maxResults) return { page: items.slice(start) }
  const end = start + maxResults
  const page = items.slice(start, end)
  return end < items.length ? { page, nextToken: Buffer.from(String(end)).toString('base64') } : { page }
}
