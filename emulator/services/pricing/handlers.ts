/** The Price List Query API's operations, one row each: GetProducts, DescribeServices, GetAttributeValues. */
import { createHash } from 'node:crypto'
import type {
  DescribeServicesRequest,
  DescribeServicesResponse,
  Filter,
  GetAttributeValuesRequest,
  GetAttributeValuesResponse,
  GetProductsRequest,
  GetProductsResponse
} from '@aws-sdk/client-pricing'
import type { JsonContext, JsonHandler } from '../../protocols/json-rpc.js'
import type { Cloud } from '../../types.js'
import { pricingError } from './errors.js'
import { fieldValue, productDocument, type PriceList, type Product } from './model.js'

/** The regions AWS serves the Price List Query API from (its endpoints api.pricing.<region>.amazonaws.com). */
export const PRICING_REGIONS = ['us-east-1', 'eu-central-1', 'ap-south-1'] as const

const FORMAT_VERSION = 'aws_v1'
/** The API reference: MaxResults 1..100 (the default page size too). */
const MAX_RESULTS = 100
const DEFAULT_TOKEN_TTL_MS = 3600_000

const FILTER_TYPES = ['TERM_MATCH', 'EQUALS', 'CONTAINS', 'ANY_OF', 'NONE_OF'] as const

/**
 * A request signed for a region without the API: AWS has no endpoint there (the SDK's default endpoint does not
 * resolve); a request that reaches an endpoint with another region's signature is refused as AWS refuses it.
 */
function requireRegion(ctx: JsonContext): void {
  if (!(PRICING_REGIONS as readonly string[]).includes(ctx.region))
    throw pricingError('InvalidSignatureException', 'Credential should be scoped to a valid region.')
}

function maxResults(value: number | undefined): number {
  if (value === undefined) return MAX_RESULTS
  if (!Number.isInteger(value) || value < 1 || value > MAX_RESULTS)
    throw pricingError('InvalidParameterException', `MaxResults must be between 1 and ${MAX_RESULTS}, got ${value}.`)
  return value
}

function formatVersion(value: string | undefined): string {
  if (value !== undefined && value !== FORMAT_VERSION)
    throw pricingError(
      'InvalidParameterException',
      `The FormatVersion ${value} is not supported. Use ${FORMAT_VERSION}.`
    )
  return FORMAT_VERSION
}

function serviceCode(value: string | undefined): string {
  if (!value) throw pricingError('InvalidParameterException', 'ServiceCode is required.')
  return value
}

function notFound(code: string): never {
  throw pricingError('NotFoundException', `The requested service code ${code} is not found.`)
}

/**
 * Pages: the token is opaque to the caller; it carries the offset, a digest of the request it continues (another
 * request's token is InvalidNextTokenException) and when it was issued (ExpiredNextTokenException after the TTL).
 */
class Pager {
  constructor(private readonly cloud: Cloud) {}

  page<T>(items: T[], size: number, request: unknown, token: string | undefined): { items: T[]; NextToken?: string } {
    const digest = createHash('sha256').update(JSON.stringify(request)).digest('hex').slice(0, 16)
    let start = 0
    if (token) {
      let parsed: { o?: unknown; q?: unknown; t?: unknown }
      try {
        parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as typeof parsed
      } catch {
        throw pricingError('InvalidNextTokenException', 'The pagination token is invalid.')
      }
      const { o, q, t } = parsed
      if (
        typeof o !== 'number' ||
        !Number.isInteger(o) ||
        o < 0 ||
        o > items.length ||
        q !== digest ||
        typeof t !== 'number'
      )
        throw pricingError('InvalidNextTokenException', 'The pagination token is invalid.')
      const ttl = this.cloud.simulation.priceListTokenTtlMs ?? DEFAULT_TOKEN_TTL_MS
      if (Date.now() - t >= ttl) throw pricingError('ExpiredNextTokenException', 'The pagination token expired.')
      start = o
    }
    const end = start + size
    const next =
      end < items.length
        ? Buffer.from(JSON.stringify({ o: end, q: digest, t: Date.now() })).toString('base64url')
        : undefined
    return { items: items.slice(start, end), ...(next ? { NextToken: next } : {}) }
  }
}

function matches(product: Product, filter: Filter): boolean {
  const actual = fieldValue(product, filter.Field ?? '')
  if (actual === undefined) return false
  const value = filter.Value ?? ''
  const list = (): string[] => value.split(',').map((v) => v.trim())
  switch (filter.Type) {
    case 'TERM_MATCH':
      return actual.toLowerCase() === value.toLowerCase()
    case 'EQUALS':
      return actual === value
    case 'CONTAINS':
      return actual.toLowerCase().includes(value.toLowerCase())
    case 'ANY_OF':
      return list().includes(actual)
    case 'NONE_OF':
      return !list().includes(actual)
    default:
      return false
  }
}

function validFilters(filters: Filter[] | undefined): Filter[] {
  for (const f of filters ?? []) {
    if (!(FILTER_TYPES as readonly string[]).includes(f.Type ?? ''))
      throw pricingError(
        'InvalidParameterException',
        `Filter type ${String(f.Type)} is not valid. Valid types: ${FILTER_TYPES.join(', ')}.`
      )
    if (!f.Field) throw pricingError('InvalidParameterException', 'Filter Field is required.')
    if (f.Value === undefined) throw pricingError('InvalidParameterException', 'Filter Value is required.')
  }
  return filters ?? []
}

export function handlers(priceList: PriceList, cloud: Cloud): Record<string, JsonHandler> {
  const pager = new Pager(cloud)
  return {
    GetProducts: (input: GetProductsRequest, ctx: JsonContext): GetProductsResponse => {
      requireRegion(ctx)
      const code = serviceCode(input.ServiceCode)
      const version = formatVersion(input.FormatVersion)
      const size = maxResults(input.MaxResults)
      const filters = validFilters(input.Filters)
      const products = priceList.productsOf(code) ?? notFound(code)
      const matching = products.filter((p) => filters.every((f) => matches(p, f)))
      const page = pager.page(matching, size, { op: 'GetProducts', code, filters }, input.NextToken)
      return {
        FormatVersion: version,
        PriceList: page.items.map((p) => JSON.stringify(productDocument(p))),
        ...(page.NextToken ? { NextToken: page.NextToken } : {})
      }
    },
    DescribeServices: (input: DescribeServicesRequest, ctx: JsonContext): DescribeServicesResponse => {
      requireRegion(ctx)
      const version = formatVersion(input.FormatVersion)
      const size = maxResults(input.MaxResults)
      const codes = input.ServiceCode ? [input.ServiceCode] : priceList.serviceCodes()
      const services = codes.map((code) => ({
        ServiceCode: code,
        AttributeNames: priceList.attributeNames(code) ?? notFound(code)
      }))
      const page = pager.page(services, size, { op: 'DescribeServices', codes }, input.NextToken)
      return { Services: page.items, FormatVersion: version, ...(page.NextToken ? { NextToken: page.NextToken } : {}) }
    },
    GetAttributeValues: (input: GetAttributeValuesRequest, ctx: JsonContext): GetAttributeValuesResponse => {
      requireRegion(ctx)
      const code = serviceCode(input.ServiceCode)
      if (!input.AttributeName) throw pricingError('InvalidParameterException', 'AttributeName is required.')
      const size = maxResults(input.MaxResults)
      const products = priceList.productsOf(code) ?? notFound(code)
      const name = input.AttributeName
      if (!(priceList.attributeNames(code) ?? []).some((n) => n.toLowerCase() === name.toLowerCase()))
        throw pricingError('NotFoundException', `The requested attribute ${name} is not found for ${code}.`)
      const values = [...new Set(products.map((p) => fieldValue(p, name)).filter((v) => v !== undefined))].sort()
      const page = pager.page(values, size, { op: 'GetAttributeValues', code, name }, input.NextToken)
      return {
        AttributeValues: page.items.map((Value) => ({ Value })),
        ...(page.NextToken ? { NextToken: page.NextToken } : {})
      }
    }
  }
}
