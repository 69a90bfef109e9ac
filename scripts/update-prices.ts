/**
 * Rewrites src/price-table.ts from the AWS Price List Query API: for each region of the table (or
 * --regions a,b), the on-demand hour of each instance type it lists and of an Application Load
 * Balancer. Needs credentials allowed pricing:GetProducts; AWS_ENDPOINT_URL points it elsewhere.
 *
 *   npm run update-prices [-- --regions us-east-1,eu-west-1] [--out FILE]
 */
import { writeFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { createClients } from '../src/aws/clients.js'
import { readPrices } from '../src/aws/prices.js'
import { Aws } from '../src/aws/send.js'
import { INSTANCE_TYPES } from '../src/instance-types.js'
import { PRICE_TABLE, type RegionPrices } from '../src/price-table.js'

const HEADER = `/**
 * On-demand prices shipped with the action (USD per hour; Linux, shared tenancy), for when the AWS Price
 * List API cannot be read from the runner. \`npm run update-prices\` (scripts/update-prices.ts) rewrites it from
 * the Price List API (the first one was written from AWS's published list prices); \`asOf\` is the day it
 * was written: AWS may have changed a price since.
 */
export interface RegionPrices {
  instances: Record<string, number>
  /** An Application Load Balancer's hour (capacity units not included). */
  loadBalancer?: number
}
`

/**
 * The table as TypeScript source (Prettier's layout, so the format check passes). Regions with the same
 * prices (us-east-1, us-east-2 and us-west-2 usually) share one object, written once.
 */
export function tableSource(asOf: string, regions: Record<string, RegionPrices | undefined>): string {
  const groups = new Map<string, { prices: RegionPrices; names: string[] }>()
  for (const [name, prices] of Object.entries(regions)) {
    if (!prices) continue
    const key = JSON.stringify(prices)
    const group = groups.get(key) ?? { prices, names: [] }
    group.names.push(name)
    groups.set(key, group)
  }
  const constants = [...groups.values()].map(({ prices, names }, i) => {
    const loadBalancer = prices.loadBalancer !== undefined ? `,\n  loadBalancer: ${prices.loadBalancer}` : ''
    const instances = Object.entries(prices.instances)
      .map(([type, price]) => `    '${type}': ${price}`)
      .join(',\n')
    return {
      id: `PRICES_${i + 1}`,
      names,
      source: `/** ${names.join(', ')} */\nconst PRICES_${i + 1}: RegionPrices = {\n  instances: {\n${instances}\n  }${loadBalancer}\n}\n`
    }
  })
  const entries = constants.flatMap(({ id, names }) => names.map((name) => `    '${name}': ${id}`)).join(',\n')
  return `${HEADER}
${constants.map((c) => c.source).join('\n')}
export const PRICE_TABLE: { asOf: string; regions: Record<string, RegionPrices | undefined> } = {
  asOf: '${asOf}',
  regions: {
${entries}
  }
}
`
}

export async function updatePrices(regionNames: string[], types: string[]): Promise<Record<string, RegionPrices>> {
  const regions: Record<string, RegionPrices> = {}
  for (const name of regionNames) {
    const aws = new Aws(createClients({ region: name }))
    const book = await readPrices(aws, { region: name, onDemandTypes: types, spotTypes: [], loadBalancer: true })
    if (book.source !== 'price-list-api') throw new Error(`${name}: ${book.notes.join('; ')}`)
    for (const note of book.notes) console.error(`${name}: ${note}`)
    regions[name] = {
      instances: Object.fromEntries(
        types.flatMap((t) => (book.onDemand[t] === undefined ? [] : [[t, book.onDemand[t]]]))
      ),
      ...(book.loadBalancer !== undefined ? { loadBalancer: book.loadBalancer } : {})
    }
  }
  return regions
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { regions: { type: 'string' }, out: { type: 'string' } } })
  const known = Object.keys(PRICE_TABLE.regions)
  const regionNames = values.regions ? values.regions.split(',') : known
  // the types the action knows the size of (the spot groups' alternatives come from them)
  const types = [...INSTANCE_TYPES.keys()]
  const regions = await updatePrices(regionNames, types)
  const out = values.out ?? 'src/price-table.ts'
  writeFileSync(out, tableSource(new Date().toISOString().slice(0, 10), regions))
  console.log(`${out}: ${types.length} instance types in ${regionNames.join(', ')}`)
}
