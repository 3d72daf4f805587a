import { partitionFor } from '@granary/kafka';
import { describe, expect, it } from 'vitest';
import { ResourceOwnership } from '../index.ts';

describe('ResourceOwnership', () => {
  it('owns exactly the resources whose murmur2 partition is assigned, and follows revocations', () => {
    const resources = Array.from({ length: 200 }, (_, i) => `snmp://10.0.${Math.floor(i / 250)}.${i % 250}`);
    const first = new ResourceOwnership(8);
    const second = new ResourceOwnership(8);
    first.assign([0, 1, 2, 3]);
    second.assign([4, 5, 6, 7]);
    for (const resource of resources) {
      expect(Number(first.owns(resource)) + Number(second.owns(resource))).toBe(1);
      expect(first.owns(resource)).toBe(partitionFor(resource, 8) < 4);
    }
    first.revoke([2, 3]);
    second.assign([2, 3]);
    expect(first.ownedPartitions()).toEqual([0, 1]);
    expect(second.ownedPartitions()).toEqual([2, 3, 4, 5, 6, 7]);
    for (const resource of resources)
      expect(Number(first.owns(resource)) + Number(second.owns(resource))).toBe(1);
  });
});
