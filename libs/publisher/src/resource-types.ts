/** A Gnocchi resource-type attribute, as `POST /v1/resource_type` takes it. */
export type AttributeSchema =
  | { type: 'string'; min_length: number; max_length: number; required: boolean }
  | { type: 'uuid' | 'datetime' | 'bool'; required: boolean };

/**
 * The resource types `ceilometer-upgrade` creates (master `gnocchi_client.py`): `resources_initial`
 * with every later update operation applied, which is what a Gnocchi upgraded by Ceilometer holds.
 * A `fill` option of an update only matters for existing resources, so it is not kept here.
 * libs/publisher/test checks this against Ceilometer's own data.
 */
export const CEILOMETER_RESOURCE_TYPES: Readonly<Record<string, Readonly<Record<string, AttributeSchema>>>> =
  {
    image: {
      name: { type: 'string', min_length: 0, max_length: 255, required: true },
      container_format: { type: 'string', min_length: 0, max_length: 255, required: false },
      disk_format: { type: 'string', min_length: 0, max_length: 255, required: false },
    },
    instance: {
      flavor_id: { type: 'string', min_length: 0, max_length: 255, required: true },
      image_ref: { type: 'string', min_length: 0, max_length: 255, required: false },
      host: { type: 'string', min_length: 0, max_length: 255, required: false },
      display_name: { type: 'string', min_length: 0, max_length: 255, required: true },
      server_group: { type: 'string', min_length: 0, max_length: 255, required: false },
      flavor_name: { type: 'string', min_length: 0, max_length: 255, required: true },
      launched_at: { type: 'datetime', required: false },
      created_at: { type: 'datetime', required: false },
      deleted_at: { type: 'datetime', required: false },
      availability_zone: { type: 'string', min_length: 0, max_length: 255, required: false },
    },
    instance_disk: {
      name: { type: 'string', min_length: 0, max_length: 255, required: true },
      instance_id: { type: 'uuid', required: true },
    },
    instance_network_interface: {
      name: { type: 'string', min_length: 0, max_length: 255, required: true },
      instance_id: { type: 'uuid', required: true },
    },
    volume: {
      display_name: { type: 'string', min_length: 0, max_length: 255, required: false },
      volume_type: { type: 'string', min_length: 0, max_length: 255, required: false },
      image_id: { type: 'uuid', required: false },
      instance_id: { type: 'uuid', required: false },
      volume_type_id: { type: 'string', min_length: 0, max_length: 255, required: false },
    },
    swift_account: {
      storage_policy: { type: 'string', min_length: 0, max_length: 255, required: false },
    },
    ceph_account: {},
    network: {},
    identity: {},
    ipmi: {},
    stack: {},
    host: {
      host_name: { type: 'string', min_length: 0, max_length: 255, required: true },
    },
    host_network_interface: {
      host_name: { type: 'string', min_length: 0, max_length: 255, required: true },
      device_name: { type: 'string', min_length: 0, max_length: 255, required: false },
    },
    host_disk: {
      host_name: { type: 'string', min_length: 0, max_length: 255, required: true },
      device_name: { type: 'string', min_length: 0, max_length: 255, required: false },
    },
    nova_compute: {
      host_name: { type: 'string', min_length: 0, max_length: 255, required: true },
    },
    manila_share: {
      name: { type: 'string', min_length: 0, max_length: 255, required: false },
      host: { type: 'string', min_length: 0, max_length: 255, required: true },
      protocol: { type: 'string', min_length: 0, max_length: 255, required: false },
      availability_zone: { type: 'string', min_length: 0, max_length: 255, required: false },
      status: { type: 'string', min_length: 0, max_length: 255, required: true },
    },
    volume_provider: {},
    volume_provider_pool: {
      provider: { type: 'string', min_length: 0, max_length: 255, required: true },
    },
    ipmi_sensor: {
      node: { type: 'string', min_length: 0, max_length: 255, required: true },
    },
    loadbalancer: {
      name: { type: 'string', min_length: 0, max_length: 255, required: false },
      availability_zone: { type: 'string', min_length: 0, max_length: 255, required: false },
      vip_address: { type: 'string', min_length: 0, max_length: 255, required: false },
      provider: { type: 'string', min_length: 0, max_length: 255, required: false },
    },
    dns_zone: {
      zone_name: { type: 'string', min_length: 0, max_length: 255, required: false },
      email: { type: 'string', min_length: 0, max_length: 255, required: false },
      zone_type: { type: 'string', min_length: 0, max_length: 255, required: false },
      pool_id: { type: 'string', min_length: 0, max_length: 255, required: false },
    },
    volume_service: {
      host: { type: 'string', min_length: 0, max_length: 255, required: false },
      binary: { type: 'string', min_length: 0, max_length: 255, required: false },
      zone: { type: 'string', min_length: 0, max_length: 255, required: false },
      status: { type: 'string', min_length: 0, max_length: 255, required: false },
    },
  };
