/** The one client factory: region, retries and user agent on every client; the endpoint from the SDK's own config. */
import { createClients, DEFAULT_MAX_ATTEMPTS, destroyClients, USER_AGENT } from '../src/aws/clients.js'

describe('createClients', () => {
  test('every client gets the region, the attempts, standard retries and the action user agent', async () => {
    const clients = createClients({ region: 'eu-west-1' })
    for (const client of Object.values(clients)) {
      expect(await client.config.region()).toBe('eu-west-1')
      expect(await client.config.maxAttempts()).toBe(DEFAULT_MAX_ATTEMPTS)
      expect((await client.config.retryStrategy()).constructor.name).toBe('StandardRetryStrategy')
      expect(client.config.customUserAgent).toEqual([[USER_AGENT]])
    }
    expect(Object.keys(clients).sort()).toEqual([
      'acm',
      'autoScaling',
      'ec2',
      'elb',
      'events',
      'iam',
      'lambda',
      'logs',
      'route53',
      'sqs',
      'ssm',
      'sts'
    ])
    destroyClients(clients)
  })

  test('maxAttempts can be lowered, and the user agent names the action and its version', async () => {
    const clients = createClients({ region: 'us-east-1', maxAttempts: 2 })
    expect(await clients.lambda.config.maxAttempts()).toBe(2)
    expect(USER_AGENT).toMatch(/^hyperform-action\/\d+\.\d+\.\d+$/)
    destroyClients(clients)
  })
})
