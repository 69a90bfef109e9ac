/**
 * KMS keys as Parameter Store names them. The emulator has no KMS: SSM's own key (`alias/aws/ssm`)
 * needs no KMS permission from the caller, a customer key is named by its id or ARN and its use
 * is authorized as kms:Encrypt / kms:Decrypt on the key's ARN; any other alias is unknown.
 */

export const DEFAULT_SSM_KEY = 'alias/aws/ssm'

const KEY_ID = /^(mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/
const KEY_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/(mrk-[0-9a-f]{32}|[0-9a-f-]{36})$/

/** Whether SSM accepts the KeyId (the default key, a key id, a key ARN). */
export function isKnownKey(keyId: string): boolean {
  return keyId === DEFAULT_SSM_KEY || KEY_ID.test(keyId) || KEY_ARN.test(keyId)
}

/** The ARN a customer key is authorized on, or undefined for the service's own key (`alias/aws/<service>`). */
export function customerKeyArn(
  keyId: string | undefined,
  where: { partition: string; region: string; account: string }
): string | undefined {
  if (!keyId || keyId.startsWith('alias/aws/')) return undefined
  if (keyId.startsWith('arn:')) return keyId
  return `arn:${where.partition}:kms:${where.region}:${where.account}:key/${keyId}`
}
