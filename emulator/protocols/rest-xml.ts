/** The REST-XML protocol (Route 53): responses and errors as the AWS SDK's restXml deserializer reads them. */
import { randomUUID } from 'node:crypto'
import type { AwsError, EmulatorResponse } from '../types.js'
import { el, leaf, list, xmlDocument } from './xml-lite.js'

export function xmlResponse(body: string, status = 200, headers: Record<string, string> = {}): EmulatorResponse {
  return {
    status,
    headers: { 'content-type': 'text/xml', 'x-amzn-requestid': randomUUID(), ...headers },
    body
  }
}

/** <ErrorResponse><Error><Type/><Code/><Message/>[<Messages>]</Error><RequestId/></ErrorResponse> */
export function xmlError(err: AwsError, namespace: string, messages?: string[]): EmulatorResponse {
  const requestId = randomUUID()
  const error = el(
    'Error',
    leaf('Type', err.status >= 500 ? 'Receiver' : 'Sender'),
    leaf('Code', err.code),
    leaf('Message', err.message),
    // AWS names the element Messages; the SDK model reads the member as `messages`
    messages ? list('Messages', messages, (m) => leaf('Message', m)) : undefined,
    messages ? list('messages', messages, (m) => leaf('Message', m)) : undefined
  )
  return {
    status: err.status,
    headers: { 'content-type': 'text/xml', 'x-amzn-requestid': requestId },
    body: xmlDocument('ErrorResponse', namespace, error, leaf('RequestId', requestId))
  }
}
