"""A Python process exposing metrics with the official prometheus_client (Debian
python3-prometheus-client): counter, gauge, histogram and summary, updated every 100 ms.
It answers OpenMetrics when the scraper asks for it, text format 0.0.4 otherwise."""
import random
import sys
import time

from prometheus_client import Counter, Gauge, Histogram, Summary, start_http_server

port = int(sys.argv[1])
requests = Counter('demo_requests', 'Requests handled.', ['method'])
in_flight = Gauge('demo_in_flight', 'Requests in flight.')
latency = Histogram('demo_latency_seconds', 'Request latency.', unit='seconds', buckets=(0.1, 0.5, 1.0))
size = Summary('demo_size_bytes', 'Response sizes.')

start_http_server(port, addr='127.0.0.1')
print('ready', flush=True)
while True:
    requests.labels(method='get').inc(exemplar={'trace_id': 'abc123'})
    in_flight.set(random.randint(0, 5))
    latency.observe(random.random())
    size.observe(random.randint(100, 1000))
    time.sleep(0.1)
