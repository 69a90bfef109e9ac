/** The project's certificate `*.<domain>` and `<domain>`: the HTTPS listener's default, DNS-validated through the public zone. */
import type { KindOps, Removal, Upsert } from './kind.js'

export interface DesiredCertificate {
  /** `*.<domain>` for the project's, `*.<stack>.<domain>` for a stack's. */
  domainName: string
  /** Its other names: `<domain>` for the project's; none for a stack's. */
  alternativeNames: string[]
  /** The public hosted zone its validation records go into. */
  zoneId: string
  tags: Record<string, string>
}

export interface CurrentCertificate {
  arn: string
  domainName: string
  alternativeNames: string[]
  /** ACM's status: PENDING_VALIDATION, ISSUED, FAILED, EXPIRED, REVOKED, INACTIVE, VALIDATION_TIMED_OUT. */
  status: string
  /** Expiry, ms since the epoch. */
  notAfter?: number
  /** Stack certificates: whether the HTTPS listener serves it (its listener certificates list it). */
  attached?: boolean
}

export type CertificateChange =
  Upsert<'certificate', DesiredCertificate, CurrentCertificate> | Removal<'certificate', CurrentCertificate>

export const certificate: KindOps<'certificate'> = {
  kind: 'certificate',
  noun: 'certificate',
  level: 'project',
  dependsOn: [],
  removeAfter: ['listener'],
  diff: () => [],
  removals: () => [],
  apply: () => Promise.reject(new Error('certificate: not built yet')),
  remove: () => Promise.reject(new Error('certificate: not built yet'))
}
