/** One scrape request: Accept negotiation, auth, TLS, gzip, timeout and body size limit like Prometheus. */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { createGunzip } from 'node:zlib';
import type { ScrapeConfig } from '../model/index.js';

const PROTOCOL_HEADERS: Record<string, string> = {
  PrometheusProto: 'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited',
  'PrometheusText0.0.4': 'text/plain;version=0.0.4',
  'PrometheusText1.0.0': 'text/plain;version=1.0.0',
  'OpenMetricsText0.0.1': 'application/openmetrics-text;version=0.0.1',
  'OpenMetricsText1.0.0': 'application/openmetrics-text;version=1.0.0',
};

/**
 * Prometheus's acceptHeader: descending q weights in the configured order, then `*\/*`. The
 * 1.0.0 formats ask for `escaping=underscores`, what Prometheus sends with legacy name
 * validation: Lookout takes classic metric names only, so UTF-8 names arrive escaped.
 */
export function acceptHeader(protocols: readonly string[]): string {
  let weight = Object.keys(PROTOCOL_HEADERS).length + 1;
  const values: string[] = [];
  for (const protocol of protocols) {
    const escaping = protocol === 'PrometheusText1.0.0' || protocol === 'OpenMetricsText1.0.0' ? ';escaping=underscores' : '';
    values.push(`${PROTOCOL_HEADERS[protocol] ?? protocol}${escaping};q=0.${weight}`);
    weight--;
  }
  values.push(`*/*;q=0.${weight}`);
  return values.join(',');
}

export interface ScrapeResponse {
  body: Buffer;
  contentType: string | undefined;
}

export class ScrapeHttpError extends Error {}

function readSecret(value: string | undefined, file: string | undefined): string {
  if (file !== undefined) return readFileSync(file, 'utf8').trim();
  return value ?? '';
}

export interface ScrapeClient {
  fetch(url: string, signal: AbortSignal): Promise<ScrapeResponse>;
  close(): void;
}

export function createScrapeClient(config: ScrapeConfig, userAgent: string): ScrapeClient {
  const tls = config.tls;
  const httpsAgent = new https.Agent({
    keepAlive: true,
    maxSockets: 4,
    rejectUnauthorized: !tls.insecureSkipVerify,
    ...(tls.ca !== undefined ? { ca: tls.ca } : tls.caFile !== undefined ? { ca: readFileSync(tls.caFile) } : {}),
    ...(tls.cert !== undefined ? { cert: tls.cert } : tls.certFile !== undefined ? { cert: readFileSync(tls.certFile) } : {}),
    ...(tls.key !== undefined ? { key: tls.key } : tls.keyFile !== undefined ? { key: readFileSync(tls.keyFile) } : {}),
    ...(tls.serverName !== undefined ? { servername: tls.serverName } : {}),
    ...(tls.minVersion !== undefined ? { minVersion: `TLSv${tls.minVersion.slice(3, 4)}.${tls.minVersion.slice(4)}` as 'TLSv1.2' } : {}),
  });
  const httpAgent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  const accept = acceptHeader(config.scrapeProtocols);

  function headers(): http.OutgoingHttpHeaders {
    const out: http.OutgoingHttpHeaders = {
      Accept: accept,
      'User-Agent': userAgent,
      'X-Prometheus-Scrape-Timeout-Seconds': String(config.scrapeTimeoutMs / 1000),
    };
    if (config.enableCompression) out['Accept-Encoding'] = 'gzip';
    else out['Accept-Encoding'] = 'identity';
    // Secrets are read on every scrape so rotated files are picked up, as Prometheus does.
    if (config.basicAuth) {
      const user = config.basicAuth.usernameFile !== undefined ? readSecret(undefined, config.basicAuth.usernameFile) : config.basicAuth.username;
      const password = readSecret(config.basicAuth.password, config.basicAuth.passwordFile);
      out.Authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    } else if (config.authorization) {
      out.Authorization = `${config.authorization.type} ${readSecret(config.authorization.credentials, config.authorization.credentialsFile)}`;
    }
    return out;
  }

  function request(url: string, signal: AbortSignal, redirects: number): Promise<ScrapeResponse> {
    return new Promise((resolveResponse, reject) => {
      const parsed = new URL(url);
      const isHttps = parsed.protocol === 'https:';
      const req = (isHttps ? https : http).request(parsed, { method: 'GET', headers: headers(), agent: isHttps ? httpsAgent : httpAgent, signal }, (res) => {
        const status = res.statusCode ?? 0;
        if (status >= 300 && status < 400 && res.headers.location && config.followRedirects && redirects < 10) {
          res.resume();
          resolveResponse(request(new URL(res.headers.location, url).toString(), signal, redirects + 1));
          return;
        }
        if (status !== 200) {
          res.resume();
          reject(new ScrapeHttpError(`server returned HTTP status ${status} ${res.statusMessage ?? ''}`.trim()));
          return;
        }
        const gzip = (res.headers['content-encoding'] ?? '').toLowerCase() === 'gzip';
        const stream = gzip ? res.pipe(createGunzip()) : res;
        const chunks: Buffer[] = [];
        let size = 0;
        stream.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (config.bodySizeLimitBytes > 0 && size > config.bodySizeLimitBytes) {
            req.destroy();
            reject(new ScrapeHttpError(`body size limit exceeded (${config.bodySizeLimitBytes} bytes)`));
            return;
          }
          chunks.push(chunk);
        });
        stream.on('error', (error: Error) => reject(new ScrapeHttpError(gzip ? `gzip: ${error.message}` : error.message)));
        stream.on('end', () => resolveResponse({ body: Buffer.concat(chunks), contentType: res.headers['content-type'] }));
      });
      req.on('error', (error) => reject(error));
      req.end();
    });
  }

  return {
    fetch: (url, signal) => request(url, signal, 0),
    close() {
      httpAgent.destroy();
      httpsAgent.destroy();
    },
  };
}
