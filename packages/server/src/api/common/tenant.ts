import { LookoutError } from '../../errors.js';
import { DEFAULT_TENANT } from '../../model/index.js';

// The tenant id rules of Cortex/Mimir/Loki/Tempo (X-Scope-OrgID): safe characters, bounded length.
const TENANT_ID = /^[A-Za-z0-9!._*'()-]{1,150}$/;

/** The tenant named by an X-Scope-OrgID header value, or the default tenant when absent. */
export function tenantFromHeader(value: string | string[] | undefined): string {
  const header = Array.isArray(value) ? value[0] : value;
  if (header === undefined || header === '') return DEFAULT_TENANT;
  if (!TENANT_ID.test(header) || header === '.' || header === '..') {
    throw new LookoutError(
      'LOOKOUT_ERR_QUERY_BAD_PARAM',
      'invalid X-Scope-OrgID: use 1-150 characters from A-Z a-z 0-9 ! - _ . * \' ( ), not "." or ".."',
    );
  }
  return header;
}
