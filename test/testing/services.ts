/**
 * Real services that only some tests need, each started on demand by test/infra (reused when one
 * answers already): MinIO, Keystone, a TLS S3Proxy, snmpd, a libvirt test hypervisor, Chromium.
 */
export { ensureChromium } from '../infra/chromium.ts';
export { KEYSTONE_ADMIN, type Keystone, startKeystone } from '../infra/keystone.ts';
export { type TestHypervisor, type TestInstance, startTestHypervisor } from '../infra/libvirt.ts';
export { MINIO_CREDENTIALS, type Minio, startMinio } from '../infra/services/minio.ts';
export { type Snmpd, type SnmpV3User, startSnmpd } from '../infra/snmpd.ts';
export { type TlsS3Proxy, VIRTUAL_HOST, startTlsS3Proxy } from '../infra/tls-s3proxy.ts';
