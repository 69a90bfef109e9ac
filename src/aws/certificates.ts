/**
 * ACM certificates of the public endpoints, DNS-validated through the domain's public zone: found by
 * domain name and tags, requested idempotently, validated (their CNAMEs UPSERTed into the zone,
 * then the SDK's waiter), and deleted with their validation records. The project's `*.<domain>`
 * (resources/certificate.ts) and each stack's `*.<stack>.<domain>` (resources/stack-certificate.ts)
 * share all of it.
 */
import { createHash } from 'node:crypto'
import {
  DeleteCertificateCommand,
  DescribeCertificateCommand,
  ListTagsForCertificateCommand,
  paginateListCertificates,
  RequestCertificateCommand,
  waitUntilCertificateValidated,
  type CertificateDetail,
  type CertificateSummary,
  type KeyAlgorithm
} from '@aws-sdk/client-acm'
import {
  ChangeResourceRecordSetsCommand,
  ListHostedZonesByNameCommand,
  ListResourceRecordSetsCommand
} from '@aws-sdk/client-route-53'
import { TAGS } from '../names.js'
import type { CurrentCertificate, DesiredCertificate } from '../resources/certificate.js'
import { tagList, tagMap } from '../resources/kind.js'
import type { Engine } from './engine.js'
import { errorCode, errorMessage, wrap } from './errors.js'
import { readOptional, tolerate, type Aws } from './send.js'

/** ListCertificates lists RSA_2048 only unless asked: every key type, so none of ours is missed. */
const KEY_TYPES: KeyAlgorithm[] = [
  'RSA_1024',
  'RSA_2048',
  'RSA_3072',
  'RSA_4096',
  'EC_prime256v1',
  'EC_secp384r1',
  'EC_secp521r1'
]

/** Statuses that will never serve again: the certificate is requested anew. */
export const DEAD_STATUSES = new Set(['FAILED', 'EXPIRED', 'REVOKED', 'VALIDATION_TIMED_OUT', 'INACTIVE'])

/** A certificate expiring within this is requested anew (ACM renews its own; one that did not is stuck). */
export const RENEW_BEFORE_MS = 30 * 24 * 3600 * 1000

/** One validation CNAME, names without the trailing dot. */
export interface ValidationRecord {
  name: string
  value: string
}

export interface ReadCertificate extends CurrentCertificate {
  tags: Record<string, string>
  validation: ValidationRecord[]
}

const trimDot = (name: string): string => name.replace(/\.$/, '').toLowerCase()

/** Every certificate of the account and region (every key type and status), listed once per read. */
export function listCertificates(aws: Aws, once: <T>(key: string, read: () => Promise<T>) => Promise<T>) {
  return once('acm-certificates:list', async (): Promise<CertificateSummary[]> => {
    const out: CertificateSummary[] = []
    try {
      for await (const page of paginateListCertificates(
        { client: aws.through('acm') },
        { Includes: { keyTypes: KEY_TYPES } }
      ))
        out.push(...(page.CertificateSummaryList ?? []))
    } catch (err) {
      throw wrap('listing certificates', err)
    }
    return out
  })
}

function validationRecords(detail: CertificateDetail): ValidationRecord[] {
  const seen = new Map<string, ValidationRecord>()
  for (const option of detail.DomainValidationOptions ?? []) {
    const r = option.ResourceRecord
    if (r?.Name && r.Value) seen.set(trimDot(r.Name), { name: trimDot(r.Name), value: trimDot(r.Value) })
  }
  return [...seen.values()]
}

/** DescribeCertificate as the kinds see it (undefined: gone). */
export async function describeCertificate(
  aws: Aws,
  arn: string,
  tags: Record<string, string> = {}
): Promise<ReadCertificate | undefined> {
  const detail = await readOptional(
    `reading certificate ${arn}`,
    ['ResourceNotFoundException'],
    async () => (await aws.send(new DescribeCertificateCommand({ CertificateArn: arn }))).Certificate
  )
  if (!detail) return undefined
  const domainName = (detail.DomainName ?? '').toLowerCase()
  return {
    arn,
    domainName,
    alternativeNames: (detail.SubjectAlternativeNames ?? [])
      .map((n) => n.toLowerCase())
      .filter((n) => n !== domainName)
      .sort(),
    status: detail.Status ?? 'UNKNOWN',
    ...(detail.NotAfter ? { notAfter: detail.NotAfter.getTime() } : {}),
    tags,
    validation: validationRecords(detail)
  }
}

/** Best first: issued, then pending, then the rest; newest first among equals. */
const RANK: Record<string, number> = { ISSUED: 0, PENDING_VALIDATION: 1 }

/**
 * The certificate of `owner` (its tags: project, and stack or none) among those `candidate` keeps
 * (by domain name), the best of them when a crash left several; undefined when there is none.
 */
export async function findCertificate(
  aws: Aws,
  summaries: CertificateSummary[],
  candidate: (summary: CertificateSummary) => boolean,
  owner: { project: string; stack?: string }
): Promise<ReadCertificate | undefined> {
  const listed = summaries.filter((s) => s.CertificateArn && candidate(s))
  const ours: Array<{ summary: CertificateSummary; tags: Record<string, string> }> = []
  await Promise.all(
    listed.map(async (summary) => {
      const arn = summary.CertificateArn as string
      const out = await readOptional(`reading the tags of certificate ${arn}`, ['ResourceNotFoundException'], () =>
        aws.send(new ListTagsForCertificateCommand({ CertificateArn: arn }))
      )
      const tags = tagMap(out?.Tags)
      if (tags[TAGS.project] === owner.project && tags[TAGS.stack] === owner.stack) ours.push({ summary, tags })
    })
  )
  ours.sort(
    (a, b) =>
      (RANK[a.summary.Status ?? ''] ?? 2) - (RANK[b.summary.Status ?? ''] ?? 2) ||
      (b.summary.CreatedAt?.getTime() ?? 0) - (a.summary.CreatedAt?.getTime() ?? 0)
  )
  const best = ours[0]
  if (!best) return undefined
  const read = await describeCertificate(aws, best.summary.CertificateArn as string, best.tags)
  const others = ours.slice(1).map((o) => o.summary.CertificateArn as string)
  return read && others.length > 0 ? { ...read, others } : read
}

/**
 * A deploy's change with the owner's further certificates (a killed replacement's) folded in: apply
 * deletes them once the kept one serves, so a noop becomes an update.
 */
export function withLeftOvers<C extends { action: string; reason: string; fields?: string[] }>(
  change: C,
  current: CurrentCertificate | undefined
): C {
  const others = current?.others ?? []
  if (others.length === 0) return change
  const reason = `${change.reason}; ${others.length} certificate(s) left over by an earlier run deleted`
  return (
    change.action === 'noop'
      ? { ...change, action: 'update', reason, fields: ['others'] }
      : { ...change, reason, fields: [...(change.fields ?? []), 'others'] }
  ) as C
}

/** Destroy: the removals of the further certificates of an owner (a killed replacement's): the kept one's records stay. */
export function leftOvers(
  current: CurrentCertificate | undefined,
  reason: string
): Array<{
  action: 'delete'
  name: string
  reason: string
  current: CurrentCertificate
  drift?: boolean
}> {
  return (current?.others ?? []).map((arn) => ({
    action: 'delete' as const,
    name: `${current?.domainName ?? ''} ${arn.split('/').pop() ?? arn}`,
    reason,
    current: {
      arn,
      domainName: current?.domainName ?? '',
      alternativeNames: current?.alternativeNames ?? [],
      status: 'UNKNOWN',
      leftOver: true
    }
  }))
}

/** Drops what the kinds' current state does not carry (tags, validation records). */
export function asCurrent(read: ReadCertificate | undefined): CurrentCertificate | undefined {
  if (!read) return undefined
  const { tags: _tags, validation: _validation, ...current } = read
  return current
}

const sameNames = (a: readonly string[], b: readonly string[]): boolean =>
  [...a]
    .map((n) => n.toLowerCase())
    .sort()
    .join(',') ===
  [...b]
    .map((n) => n.toLowerCase())
    .sort()
    .join(',')

/** Why the certificate must be requested anew (undefined: it serves, or will once validated). */
export function replaceReason(
  current: CurrentCertificate,
  desired: DesiredCertificate,
  now = Date.now()
): string | undefined {
  if (
    current.domainName !== desired.domainName.toLowerCase() ||
    !sameNames(current.alternativeNames, desired.alternativeNames)
  )
    return `names ${[current.domainName, ...current.alternativeNames].join(', ')} -> ${[desired.domainName, ...desired.alternativeNames].join(', ')}`
  if (DEAD_STATUSES.has(current.status)) return `status ${current.status}`
  if (current.status === 'ISSUED' && current.notAfter !== undefined && current.notAfter - now < RENEW_BEFORE_MS)
    return `expires ${new Date(current.notAfter).toISOString().slice(0, 10)}`
  return undefined
}

/**
 * The idempotency token: the names (and the certificate it replaces), so a run killed after the
 * request gets the same certificate back instead of a second one (ACM keeps a token an hour).
 */
export function idempotencyToken(desired: DesiredCertificate, replaces?: string): string {
  const key = [desired.domainName, ...[...desired.alternativeNames].sort(), replaces ?? ''].join('|')
  return createHash('sha256').update(key).digest('hex').slice(0, 32)
}

function upsertCname(record: ValidationRecord) {
  return {
    Action: 'UPSERT' as const,
    ResourceRecordSet: {
      Name: record.name,
      Type: 'CNAME' as const,
      TTL: 300,
      ResourceRecords: [{ Value: record.value }]
    }
  }
}

/**
 * Requests the certificate (or gets back the one a killed run requested), UPSERTs its validation
 * CNAMEs into the zone and waits until it is issued. Returns its ARN.
 */
export async function requestAndValidate(e: Engine, desired: DesiredCertificate, replaces?: string): Promise<string> {
  const out = await e.send(
    new RequestCertificateCommand({
      DomainName: desired.domainName,
      ...(desired.alternativeNames.length > 0 ? { SubjectAlternativeNames: desired.alternativeNames } : {}),
      ValidationMethod: 'DNS',
      IdempotencyToken: idempotencyToken(desired, replaces),
      Tags: tagList(desired.tags)
    })
  )
  const arn = out.CertificateArn
  if (!arn) throw new Error(`ACM returned no ARN for ${desired.domainName}`)
  await validate(e, arn, desired)
  return arn
}

class NotYet extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'NotYet'
  }
}

/** Writes the validation records of a pending certificate (they appear a moment after the request) and waits for ISSUED. */
export async function validate(e: Engine, arn: string, desired: DesiredCertificate): Promise<void> {
  const names = [desired.domainName, ...desired.alternativeNames]
  const read = await e.retryOn(
    (err) => err instanceof NotYet,
    async () => {
      const cert = await describeCertificate(e, arn)
      if (!cert) throw new NotYet(`certificate ${arn} is not visible yet`)
      if (cert.status === 'ISSUED') return cert
      if (cert.status !== 'PENDING_VALIDATION') return cert
      if (cert.validation.length === 0) throw new NotYet(`certificate ${desired.domainName}: no validation record yet`)
      return cert
    }
  )
  if (read.status === 'ISSUED') return
  if (read.status !== 'PENDING_VALIDATION')
    throw new Error(`certificate ${names.join(', ')} is ${read.status}, not validating in zone ${desired.zoneId}`)
  await e.send(
    new ChangeResourceRecordSetsCommand({
      HostedZoneId: desired.zoneId,
      ChangeBatch: { Comment: `validation of ${desired.domainName}`, Changes: read.validation.map(upsertCname) }
    })
  )
  const poll = Math.max(e.timing.pollMs / 1000, 0.01)
  try {
    await waitUntilCertificateValidated(
      {
        client: e.through('acm'),
        minDelay: poll,
        maxDelay: Math.max(poll, Math.min(poll * 6, 60)),
        maxWaitTime: Math.max(e.timing.teardownMs / 1000, poll * 2)
      },
      { CertificateArn: arn }
    )
  } catch (err) {
    const status = (await describeCertificate(e, arn).catch(() => undefined))?.status
    const why = err instanceof Error && err.name === 'TimeoutError' ? 'timed out' : errorMessage(err)
    const cnames = read.validation.map((v) => v.name).join(', ')
    throw new Error(
      `certificate ${names.join(', ')} was not validated through zone ${desired.zoneId} (its CNAME ${cnames})` +
        `${status ? `: status ${status}` : ''}: ${why}`,
      { cause: err }
    )
  }
}

/** The public zone a certificate's validation records went into: the closest zone above its names. */
export async function zoneOf(aws: Aws, domainName: string): Promise<string | undefined> {
  const labels = domainName.replace(/^\*\./, '').split('.')
  for (let i = 0; i < labels.length - 1; i += 1) {
    const name = labels.slice(i).join('.')
    const zones = (await aws.send(new ListHostedZonesByNameCommand({ DNSName: name, MaxItems: 5 }))).HostedZones ?? []
    const zone = zones.find((z) => trimDot(z.Name ?? '') === name && !z.Config?.PrivateZone)
    if (zone?.Id) return zone.Id.replace(/^\/hostedzone\//, '')
  }
  return undefined
}

/** Deletes a validation CNAME with its exact current values (gone or changed: left alone). */
async function deleteCname(aws: Aws, zoneId: string, record: ValidationRecord): Promise<void> {
  const listed = await readOptional(`reading record ${record.name}`, ['NoSuchHostedZone'], () =>
    aws.send(
      new ListResourceRecordSetsCommand({
        HostedZoneId: zoneId,
        StartRecordName: record.name,
        StartRecordType: 'CNAME',
        MaxItems: 1
      })
    )
  )
  const set = listed?.ResourceRecordSets?.[0]
  if (!set || trimDot(set.Name ?? '') !== record.name || set.Type !== 'CNAME') return
  await tolerate(['InvalidChangeBatch', 'NoSuchHostedZone'], () =>
    aws.send(
      new ChangeResourceRecordSetsCommand({
        HostedZoneId: zoneId,
        ChangeBatch: { Changes: [{ Action: 'DELETE', ResourceRecordSet: set }] }
      })
    )
  )
}

/**
 * Deletes a certificate (retrying while a listener lets go of it) and then its validation records.
 * False when it was already gone.
 */
export async function deleteCertificate(
  e: Engine,
  arn: string,
  zoneId: string | undefined,
  options: { keepRecords?: boolean } = {}
): Promise<boolean> {
  const read = await describeCertificate(e, arn)
  if (!read) return false
  await e.retryOn(
    ['ResourceInUseException'],
    () => tolerate(['ResourceNotFoundException'], () => e.send(new DeleteCertificateCommand({ CertificateArn: arn }))),
    e.timing.teardownMs
  )
  if (options.keepRecords) return true
  const zone = zoneId ?? (read.validation.length > 0 ? await zoneOf(e, read.domainName) : undefined)
  if (zone) for (const record of read.validation) await deleteCname(e, zone, record)
  return true
}

/**
 * After a replacement is issued: the old certificate goes, unless a listener still serves it (kept,
 * said: the next run's read lists it among the owner's `others`, and deletes it then). True when deleted.
 */
export async function deleteReplaced(e: Engine, arn: string): Promise<boolean> {
  try {
    return await tolerate(['ResourceNotFoundException'], () =>
      e.send(new DeleteCertificateCommand({ CertificateArn: arn }))
    )
  } catch (err) {
    if (errorCode(err) !== 'ResourceInUseException') throw err
    e.log(`  certificate ${arn} is still in use; kept until a later run finds it free`)
    return false
  }
}
