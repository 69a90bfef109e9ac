/** A stack's certificate `*.<stack>.<domain>` (a wildcard covers one label), added to the HTTPS listener. */
import type { CurrentCertificate, DesiredCertificate } from './certificate.js'
import type { KindOps, Removal, Upsert } from './kind.js'

export type StackCertificateChange =
  Upsert<'stack-certificate', DesiredCertificate, CurrentCertificate> | Removal<'stack-certificate', CurrentCertificate>

export const stackCertificate: KindOps<'stack-certificate'> = {
  kind: 'stack-certificate',
  noun: 'stack certificate',
  level: 'stack',
  dependsOn: ['listener'],
  removeAfter: ['listener-rule'],
  diff: () => [],
  removals: () => [],
  apply: () => Promise.reject(new Error('stack certificate: not built yet')),
  remove: () => Promise.reject(new Error('stack certificate: not built yet'))
}
