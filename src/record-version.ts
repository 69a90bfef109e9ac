/**
 * The version record of a service record: a TXT record at the same name,
 * `"hyperform-version=<n>"`. Every write of the A record (DNS updater and the
 * action's heal) goes in one batch with a bump of it: DELETE of the exact TXT
 * read plus CREATE of n+1, or CREATE of 1 when there is none. Any write between
 * a writer's read and its batch changes the version, so the batch fails with
 * InvalidChangeBatch even when the A record was put back to the value read
 * (A-B-A). The TXT outlives an emptied A record: it is the name's history, and
 * goes only with the service (or the zone). Pure: no SDK, no I/O.
 */

export const VERSION_KEY = 'hyperform-version'

/** The TXT record set at a service record's name, as listed. */
export interface VersionRecord {
  name: string
  ttl: number
  values: readonly string[]
}

/** One Route 53 change of the version record, shaped as the SDK's `Change`. */
export interface VersionChange {
  Action: 'CREATE' | 'DELETE'
  ResourceRecordSet: { Name: string; Type: 'TXT'; TTL: number; ResourceRecords: { Value: string }[] }
}

/** The TXT value for version n (TXT values are quoted character strings). */
export function versionValue(n: number): string {
  return `"${VERSION_KEY}=${n}"`
}

/** The version the record holds, or undefined when none of its values is one. */
export function parseVersion(values: readonly string[]): number | undefined {
  for (const value of values) {
    const match = new RegExp(`^"?${VERSION_KEY}=(\\d+)"?$`).exec(value.trim())
    if (match?.[1] !== undefined) return Number(match[1])
  }
  return undefined
}

/** The version after `current`: 1 when there is none (or it holds no version). */
export function nextVersion(current: VersionRecord | undefined): number {
  return (current ? (parseVersion(current.values) ?? 0) : 0) + 1
}

/** The bump that goes in the same batch as every write of the A record named `name`. */
export function versionBump(name: string, current: VersionRecord | undefined, ttl: number): VersionChange[] {
  const create: VersionChange = {
    Action: 'CREATE',
    ResourceRecordSet: {
      Name: name,
      Type: 'TXT',
      TTL: ttl,
      ResourceRecords: [{ Value: versionValue(nextVersion(current)) }]
    }
  }
  if (!current) return [create]
  const remove: VersionChange = {
    Action: 'DELETE',
    ResourceRecordSet: {
      Name: current.name,
      Type: 'TXT',
      TTL: current.ttl,
      ResourceRecords: current.values.map((Value) => ({ Value }))
    }
  }
  return [remove, create]
}
