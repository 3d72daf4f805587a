import { describe, expect, it } from 'vitest';
import { endpointDiscovery, parseSnmpUrl, pollingErrors, urlDiscovery } from '../index.ts';

describe("Ceilometer's snmp:// resource URLs", () => {
  it('read host and port, and keep credentials out of the public URL', () => {
    expect(parseSnmpUrl('snmp://10.0.0.5')).toMatchObject({
      host: '10.0.0.5',
      port: 161,
      publicUrl: 'snmp://10.0.0.5',
    });
    expect(parseSnmpUrl('snmp://private@10.0.0.5:1161')).toMatchObject({
      port: 1161,
      publicUrl: 'snmp://10.0.0.5:1161',
    });
    const v3 = parseSnmpUrl(
      'snmp://admin:s3cret@[::1]:1161?auth_proto=sha&priv_proto=aes128&priv_password=p4ss',
    );
    expect(v3).toMatchObject({ host: '::1', port: 1161, publicUrl: 'snmp://[::1]:1161' });
    expect(v3.publicUrl).not.toMatch(/admin|s3cret|p4ss/);
  });

  it('refuse, permanently for that resource, what can never work', () => {
    for (const url of [
      'http://10.0.0.5',
      'snmp://',
      'snmp://u:k@h?auth_proto=sha384',
      'snmp://u:k@h?priv_proto=3des&priv_password=x',
      'snmp://u:k@h?priv_proto=aes128',
    ]) {
      expect(() => parseSnmpUrl(url), url).toThrow(
        expect.objectContaining({ code: 'POLLING_PERMANENT_FAILURE', details: { resources: [url] } }),
      );
    }
    expect(pollingErrors.codes).toContain('POLLING_PERMANENT_FAILURE');
  });
});

describe('endpoint and url discoveries', () => {
  it('list the configured endpoints of a service type, and the URL itself', async () => {
    const endpoints = endpointDiscovery({ compute: ['http://nova:8774'], network: ['http://a', 'http://b'] });
    expect(await endpoints.discover('network')).toEqual(['http://a', 'http://b']);
    expect(await endpoints.discover('unknown')).toEqual([]);
    expect(endpoints.shared).toBe(true);
    expect(await urlDiscovery.discover('http://x/y?z=1')).toEqual(['http://x/y?z=1']);
  });
});
