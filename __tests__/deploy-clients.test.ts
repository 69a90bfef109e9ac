/** The one client factory: region, retries and user agent on every client; the endpoint from the SDK's own config. */
import { createClients, DEFAULT_MAX_ATTEMPTS, destroyClients, priceListRegion, USER_AGENT } from '../src/aws/clients.js'

describe('createClients', () => {
  test('every client gets the region, the attempts, standard retries and the action user agent; the Price List its nearest region', async () => {
    const clients = createClients({ region: 'eu-west-1' })
    for (const [name, client] of Object.entries(clients)) {
      const pricing = name === 'pricing'
      expect(await client.config.region()).toBe(pricing ? 'eu-central-1' : 'eu-west-1')
      expect(await client.config.maxAttempts()).toBe(pricing ? 3 : DEFAULT_MAX_ATTEMPTS)
      expect((await client.config.retryStrategy()).constructor.name).toBe('StandardRetryStrategy')
      expect(client.config.customUserAgent).toEqual([[USER_AGENT]])
    }
    expect(Object.keys(clients).sort()).toEqual([
      'acm',
      'autoScaling',
      'ec2',
      'ecr',
      'elb',
      'events',
      'iam',
      'lambda',
      'logs',
      'pricing',
      'route53',
      'sqs',
      'ssm',
      'sts'
    ])
    destroyClients(clients)
  })

  test('the Price List API is asked in the one of its regions nearest the stack', () => {
    expect(
      ['us-west-2', 'ca-central-1', 'eu-west-3', 'me-south-1', 'ap-northeast-1', 'cn-north-1'].map(priceListRegion)
    ).toEqual(['us-east-1', 'us-east-1', 'eu-central-1', 'eu-central-1', 'ap-south-1', 'cn-northwest-1'])
  })

  test('maxAttempts can be lowered, and the user agent names the action and its version', async () => {
    const clients = createClients({ region: 'us-east-1', maxAttempts: 2 })
    expect(await clients.lambda.config.maxAttempts()).toBe(2)
    expect(USER_AGENT).toMatch(/^hyperform-action\/\d+\.\d+\.\d+$/)
    destroyClients(clients)
  })
})
