import { describe, expect, test } from '@jest/globals'
import { spotTypes } from '../src/desired.js'
import { INSTANCE_TYPES, SPOT_TYPES_CAP, equivalentTypes } from '../src/instance-types.js'

describe('spot types derived from the service size', () => {
  test('a general purpose type gets the same size from newer generations first, itself first', () => {
    expect(equivalentTypes('m5.large')).toEqual([
      'm5.large',
      'm7a.large',
      'm7i.large',
      'm6a.large',
      'm6i.large',
      'm5a.large'
    ])
  })

  test('every derived type has the same vCPUs, memory and architecture as the primary', () => {
    for (const primary of ['c6i.xlarge', 'r7g.2xlarge', 't3.medium', 'm6g.medium']) {
      const want = INSTANCE_TYPES.get(primary)
      for (const t of equivalentTypes(primary)) {
        const got = INSTANCE_TYPES.get(t)
        expect({ t, vcpus: got?.vcpus, memory: got?.memoryGiB, arch: got?.architecture }).toEqual({
          t,
          vcpus: want?.vcpus,
          memory: want?.memoryGiB,
          arch: want?.architecture
        })
      }
    }
  })

  test('a Graviton type gets Graviton types only', () => {
    expect(equivalentTypes('c6g.large')).toEqual(['c6g.large', 'c7g.large'])
    expect(equivalentTypes('t4g.micro')).toEqual(['t4g.micro'])
  })

  test('a burstable type gets burstable types only, and a general purpose type no burstable one', () => {
    expect(equivalentTypes('t3.medium')).toEqual(['t3.medium', 't3a.medium', 't2.medium'])
    expect(equivalentTypes('t3.large').every((t) => t.startsWith('t'))).toBe(true)
    expect(equivalentTypes('m5.large').some((t) => t.startsWith('t'))).toBe(false)
  })

  test('t2 and t3 sizes of different vCPUs do not mix', () => {
    expect(equivalentTypes('t3.micro')).toEqual(['t3.micro', 't3a.micro'])
    expect(equivalentTypes('t2.micro')).toEqual(['t2.micro'])
  })

  test('an unknown type gives just itself', () => {
    expect(equivalentTypes('x2idn.16xlarge')).toEqual(['x2idn.16xlarge'])
  })

  test('the list is capped', () => {
    expect(equivalentTypes('m5.xlarge')).toHaveLength(SPOT_TYPES_CAP)
    expect(equivalentTypes('m5.xlarge', 2)).toEqual(['m5.xlarge', 'm7a.xlarge'])
  })

  test('the table has real figures for known types', () => {
    expect(INSTANCE_TYPES.get('t3.micro')).toMatchObject({ vcpus: 2, memoryGiB: 1, architecture: 'x86_64' })
    expect(INSTANCE_TYPES.get('c7g.4xlarge')).toMatchObject({ vcpus: 16, memoryGiB: 32, architecture: 'arm64' })
    expect(INSTANCE_TYPES.get('r6i.2xlarge')).toMatchObject({ vcpus: 8, memoryGiB: 64 })
    expect(INSTANCE_TYPES.get('m5.medium')).toBeUndefined()
  })

  test('the spot-instance-types input overrides the derivation, keeping the primary first and its architecture', () => {
    expect(spotTypes('m5.large', ['c5.large', 'm6g.large'])).toEqual(['m5.large', 'c5.large'])
    expect(spotTypes('m5.large', [])).toEqual(equivalentTypes('m5.large'))
  })
})
