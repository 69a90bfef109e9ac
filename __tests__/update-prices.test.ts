/**
 * `npm run update-prices` against the emulator's Price List API: the table it writes holds the API's
 * prices for each region asked, in the layout the format check accepts.
 */
import { readFileSync } from 'node:fs'
import { jest } from '@jest/globals'
import * as prettier from 'prettier'
import { startEmulator, type Emulator } from '../emulator/server.js'
import { albHourlyPrice, onDemandPrice } from '../emulator/services/ec2/instance-catalogue.js'
import { tableSource, updatePrices } from '../scripts/update-prices.js'
import { PRICE_TABLE } from '../src/price-table.js'

let emulator: Emulator
const saved = { ...process.env }

beforeAll(async () => {
  emulator = await startEmulator()
  Object.assign(process.env, {
    AWS_ENDPOINT_URL: emulator.endpoint,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test'
  })
})

afterAll(async () => {
  process.env = saved
  await emulator.stop()
})

test('the table written holds the Price List API prices of every type and the load balancer, per region asked', async () => {
  const types = ['t3.micro', 'm5.large', 'm7g.xlarge']
  const regions = await updatePrices(['us-east-1', 'eu-west-1'], types)
  for (const region of ['us-east-1', 'eu-west-1']) {
    for (const type of types)
      expect(regions[region]?.instances[type]).toBeCloseTo(onDemandPrice(type, region) ?? NaN, 8)
    expect(regions[region]?.loadBalancer).toBeCloseTo(albHourlyPrice(region), 8)
  }
  // prices differ between regions: each region was asked for its own
  expect(regions['eu-west-1']?.instances['m5.large']).not.toBe(regions['us-east-1']?.instances['m5.large'])
})

test('a type the API does not price is left out of the table rather than written as zero', async () => {
  const said = jest.spyOn(console, 'error').mockImplementation(() => undefined)
  const regions = await updatePrices(['us-east-1'], ['t3.micro', 'x9.imaginary'])
  expect(Object.keys(regions['us-east-1']?.instances ?? {})).toEqual(['t3.micro'])
  expect(said).toHaveBeenCalledWith('us-east-1: no on-demand price for x9.imaginary in us-east-1')
  said.mockRestore()
})

test('the written source is what Prettier would write, so the shipped table passes the format check', async () => {
  const options = { ...(await prettier.resolveConfig('src/price-table.ts')), parser: 'typescript' }
  const source = tableSource('2026-12-03', {
    'us-east-1': { instances: { 't3.micro': 0.0104, 'm5.large': 0.096 }, loadBalancer: 0.0225 }
  })
  expect(await prettier.format(source, options)).toBe(source)
  // and the shipped file is in the same layout
  const shipped = tableSource(PRICE_TABLE.asOf, PRICE_TABLE.regions as never)
  expect(shipped).toBe(readFileSync('src/price-table.ts', 'utf8'))
})
