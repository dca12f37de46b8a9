import assert from 'node:assert/strict';
import { test } from 'node:test';
import { lokiStreamLabels } from './loki-labels.js';

const attr = (key: string, value: string) => ({ key, value: { stringValue: value } });

test('Loki 3 default resource attributes become labels, the rest stays metadata', () => {
  assert.deepEqual(
    lokiStreamLabels([attr('service.name', 'api'), attr('k8s.namespace.name', 'prod'), attr('host.name', 'h1'), attr('deployment.environment.name', 'dev')]),
    { service_name: 'api', k8s_namespace_name: 'prod', deployment_environment_name: 'dev' },
  );
});

test('service_name is discovered from the index labels, else unknown_service', () => {
  assert.deepEqual(lokiStreamLabels([attr('k8s.container.name', 'worker'), attr('k8s.job.name', 'nightly')]), {
    k8s_container_name: 'worker',
    k8s_job_name: 'nightly',
    service_name: 'worker',
  });
  assert.deepEqual(lokiStreamLabels([attr('host.name', 'h1')]), { service_name: 'unknown_service' });
  assert.deepEqual(lokiStreamLabels([attr('service.name', ''), attr('container.name', 'c1')]), { container_name: 'c1', service_name: 'c1' });
});
